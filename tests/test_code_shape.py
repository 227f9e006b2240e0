"""Limits that keep the code changeable in one place (issue 13); ruff's C90 and PLR0915 keep
functions short. Here: short constructors that delegate to named builders, region scopes made once."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parent.parent
MAX_CONSTRUCTOR_LINES = 40


def _functions(path: Path) -> list[tuple[str, int]]:
    """(qualified name, lines from ``def`` to the last line) of every function in ``path``."""
    found = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found.append((f"{prefix}{child.name}", child.end_lineno - child.lineno + 1))
                visit(child, f"{prefix}{child.name}.")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")

    visit(ast.parse(path.read_text(encoding="utf-8")), "")
    return found


def test_no_module_run_with_python_m_edits_sys_path():
    """Modules run with ``python -m`` get the project on sys.path from the interpreter;
    lambda_runtime.py runs as a file on purpose and sets Lambda's path itself."""
    tools = [path for folder in ("local", "ops", "scan") for path in (PROJECT_DIR / folder).glob("*.py")]
    offenders = [path.name for path in tools if path.name != "lambda_runtime.py" and "sys.path" in path.read_text()]
    assert offenders == []


@pytest.mark.parametrize(
    "path, constructor",
    [("modules/stack.py", "BackendStack.__init__"), ("modules/constructs/regional_api.py", "RegionalApi.__init__")],
)
def test_constructors_delegate_to_builders(path: str, constructor: str):
    lines = dict(_functions(PROJECT_DIR / path))[constructor]
    assert lines <= MAX_CONSTRUCTOR_LINES, f"{constructor} is {lines} lines: move the work into named builders"


def test_modules_make_scopes_once_instead_of_looking_them_up():
    """A construct keeps the scopes it makes (e.g. ``BackendStack.region_scopes``); finding
    one again by id hides where it comes from and fails only at synth time."""
    lookups = [
        f"{path.relative_to(PROJECT_DIR)}:{number}"
        for path in (PROJECT_DIR / "modules").rglob("*.py")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "find_child(" in line
    ]
    assert lookups == []
