"""modules/aws.py stays the thin module constructs import: what it lets constructs use at
run time is exactly what mypy and editors see."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from modules import aws

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
        aws.s3_bucket  # noqa: B018 - the attribute access is the test
