"""The lint and type gates: `make lint`, the pre-commit hooks and CI run the same commands,
with the configuration checked into pyproject.toml."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

PROJECT_DIR = Path(__file__).resolve().parents[2]


def makefile_lint_commands() -> list[str]:
    text = (PROJECT_DIR / "Makefile").read_text(encoding="utf-8")
    recipe = re.search(r"^lint:.*\n((?:\t.*\n)+)", text, re.MULTILINE)
    assert recipe, "the Makefile has no lint target"
    return [line.strip().replace("$(VENV)", ".venv") for line in recipe.group(1).splitlines()]


def test_make_lint_runs_ruff_check_ruff_format_mypy_and_the_import_contracts():
    assert makefile_lint_commands() == [
        ".venv/bin/ruff check .",
        ".venv/bin/ruff format --check .",
        ".venv/bin/mypy",
        ".venv/bin/lint-imports",
    ]


def test_the_pre_commit_hooks_are_the_make_lint_commands():
    config = yaml.safe_load((PROJECT_DIR / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    hooks = [hook for repo in config["repos"] for hook in repo["hooks"]]
    assert [hook["entry"] for hook in hooks] == makefile_lint_commands()
    # Whole-project runs: mypy needs every module to check the imports between them.
    assert all(hook["pass_filenames"] is False and hook["language"] == "system" for hook in hooks)


def test_ci_runs_the_gates_before_the_tests():
    steps = [
        line
        for line in (PROJECT_DIR / ".ci" / "run").read_text(encoding="utf-8").splitlines()
        if line.startswith("make ")
    ]
    assert steps.index("make lint") < steps.index("make test")


def test_the_configuration_is_in_pyproject():
    config = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text(encoding="utf-8"))["tool"]
    assert "RUF100" in config["ruff"]["lint"]["select"], "a noqa that suppresses nothing must fail"
    assert config["mypy"]["check_untyped_defs"] and config["mypy"]["warn_unused_ignores"]
    typed = next(o for o in config["mypy"]["overrides"] if o.get("disallow_untyped_defs"))
    assert {"functions.*", "authorizer.*", "modules.*"} <= set(typed["module"])


def test_the_gate_tools_are_pinned_in_requirements():
    pins = dict(
        line.split("==")
        for line in (PROJECT_DIR / "requirements.txt").read_text(encoding="utf-8").splitlines()
        if "==" in line and not line.startswith("#")
    )
    assert {"ruff", "mypy", "import-linter"} <= set(pins)


def test_the_import_contracts_name_the_boundaries():
    """local/ reads only what was deployed; modules/ never needs the operator commands."""
    contracts = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    forbidden = {
        c["source_modules"][0]: set(c["forbidden_modules"]) for c in contracts["contracts"] if c["type"] == "forbidden"
    }
    assert {"modules", "ops"} <= forbidden["local"] and "ops" in forbidden["modules"]
    assert {c["type"] for c in contracts["contracts"]} >= {"private_modules", "acyclic_siblings"}
