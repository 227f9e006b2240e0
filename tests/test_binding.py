"""The binding versions declared in modules/provider/binding.py are the ones installed from
requirements.txt (and the cdktf CLI in package.json)."""

from __future__ import annotations

import json
import re
from importlib import metadata
from pathlib import Path

from modules.provider import binding

PROJECT_DIR = Path(__file__).resolve().parent.parent


def _requirement_pins() -> dict[str, str]:
    pins = {}
    for line in (PROJECT_DIR / "requirements.txt").read_text(encoding="utf-8").splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)(?:\[[^]]*\])?==([^\s#]+)", line)
        if match:
            pins[match[1].lower()] = match[2]
    return pins


def test_requirements_pin_the_declared_versions():
    pins = _requirement_pins()
    assert pins[binding.DISTRIBUTION] == binding.VERSION
    assert pins["cdktf"] == binding.CDKTF_VERSION


def test_cdktf_cli_matches_the_library():
    package = json.loads((PROJECT_DIR / "package.json").read_text(encoding="utf-8"))
    assert package["devDependencies"]["cdktf-cli"] == binding.CDKTF_VERSION


def test_installed_distributions_are_the_declared_ones():
    assert metadata.version(binding.DISTRIBUTION) == binding.VERSION
    assert metadata.version("cdktf") == binding.CDKTF_VERSION
