"""modules/provider/aws.py stays the thin module constructs import: what it lets constructs use at
run time is exactly what mypy and editors see."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from modules.provider import aws

AWS_PY = Path(aws.__file__)


def _type_checking_imports() -> list[str]:
    tree = ast.parse(AWS_PY.read_text(encoding="utf-8"))
    block = next(
        node for node in tree.body if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING"
    )
    return [alias.name for node in block.body if isinstance(node, ast.ImportFrom) for alias in node.names]


def test_submodules_are_exactly_the_type_checking_imports():
    assert sorted(_type_checking_imports()) == sorted(aws.SUBMODULES)
    assert len(set(aws.SUBMODULES)) == len(aws.SUBMODULES)


def test_thin_module_stays_thin():
    assert len(AWS_PY.read_text(encoding="utf-8").splitlines()) <= 60


def test_a_submodule_outside_the_list_is_refused():
    with pytest.raises(AttributeError, match="add it to SUBMODULES"):
        aws.sqs_queue  # noqa: B018 - the attribute access is the test


def _type_checking_import_nodes(path: Path) -> list[ast.ImportFrom]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node
        for block in tree.body
        if isinstance(block, ast.If) and getattr(block.test, "id", None) == "TYPE_CHECKING"
        for node in block.body
        if isinstance(node, ast.ImportFrom)
    ]


PROJECT_DIR = AWS_PY.parents[2]
TYPED_SOURCES = sorted(
    path
    for path in [*PROJECT_DIR.glob("modules/**/*.py"), PROJECT_DIR / "main.py"]
    if _type_checking_import_nodes(path)
)


@pytest.mark.parametrize("path", TYPED_SOURCES, ids=lambda path: str(path.relative_to(PROJECT_DIR)))
def test_type_checking_imports_name_real_classes(path: Path):
    """Nothing runs these imports but mypy and editors; a typo would go unnoticed."""
    import importlib

    missing = [
        f"{node.module}.{alias.name}"
        for node in _type_checking_import_nodes(path)
        for alias in node.names
        if not hasattr(importlib.import_module(node.module), alias.name)
    ]
    assert missing == []


def test_nothing_in_modules_is_annotated_object():
    """Props and attributes name the provider classes (``provider: AwsProvider``), so mypy
    and editors can follow a construct's wiring."""
    untyped = [
        f"{path.name}:{node.lineno}"
        for path in PROJECT_DIR.glob("modules/**/*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.AnnAssign) and re.search(r"\bobject\b", ast.unparse(node.annotation))
    ]
    assert untyped == []
