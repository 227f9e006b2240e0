"""The Lambda zip: only our code, deterministic bytes, and the entry points Terraform names
importable from the zip itself."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from modules.package import build_functions_zip
from modules.routes import ROUTES

FUNCTIONS = Path(__file__).resolve().parent.parent / "functions"


def test_zip_holds_only_our_python_sources(tmp_path):
    build_functions_zip(FUNCTIONS, tmp_path / "f.zip")
    names = zipfile.ZipFile(tmp_path / "f.zip").namelist()
    assert names == sorted(names)
    assert all(n.startswith("functions/") and n.endswith(".py") for n in names)
    assert "functions/__init__.py" in names and "functions/items.py" in names and "functions/health.py" in names
    assert not [n for n in names if "__pycache__" in n or "/tests/" in n]


def test_zip_is_deterministic(tmp_path):
    first = build_functions_zip(FUNCTIONS, tmp_path / "a.zip")
    second = build_functions_zip(FUNCTIONS, tmp_path / "b.zip")
    assert first == second
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()


def test_every_route_handler_imports_from_the_zip_alone(tmp_path):
    zip_path = tmp_path / "f.zip"
    build_functions_zip(FUNCTIONS, zip_path)
    handlers = [r.handler for r in ROUTES]
    code = (
        "import importlib, sys\n"
        f"sys.path[:0] = [{str(zip_path)!r}]\n"
        f"for dotted in {handlers!r}:\n"
        "    module, _, name = dotted.rpartition('.')\n"
        "    m = importlib.import_module(module)\n"
        f"    assert m.__file__.startswith({str(zip_path)!r}), m.__file__\n"
        "    assert callable(getattr(m, name)), dotted\n"
        "print('ok')\n"
    )
    # -I: isolated, so the project directory is not on sys.path and only the zip can serve.
    result = subprocess.run(
        [sys.executable, "-I", "-c", code], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
