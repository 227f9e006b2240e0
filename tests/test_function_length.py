"""No function in local/, ops/ or scan/ is longer than 60 lines (issue 13): a long function there has
always been several steps that deserve names."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[1]
TOOLS = sorted(path for folder in ("local", "ops", "scan") for path in (PROJECT_DIR / folder).glob("*.py"))
LIMIT = 60


def long_functions(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return [
        f"{path.name}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno + 1 > LIMIT
    ]


@pytest.mark.parametrize("path", TOOLS, ids=lambda path: path.name)
def test_no_function_in_tools_is_longer_than_60_lines(path):
    assert long_functions(path) == []


def test_no_module_run_with_python_m_edits_sys_path():
    """Modules run with ``python -m`` get the project on sys.path from the interpreter;
    lambda_runtime.py runs as a file on purpose and sets Lambda's path itself."""
    offenders = [path.name for path in TOOLS if path.name != "lambda_runtime.py" and "sys.path" in path.read_text()]
    assert offenders == []
