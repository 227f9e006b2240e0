"""Every command the README shows runs as written from a fresh shell in the repository root,
without an activated virtualenv: its shell blocks, the Commands table and every inline
`python -m` are checked against the Makefile's targets, the tools in .venv/bin, and the
modules they name (which must exist and accept the flags shown, as their --help says)."""

from __future__ import annotations

import functools
import importlib.util
import re
import shlex
import subprocess
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[1]
README = (PROJECT_DIR / "README.md").read_text()
# The manual too: every page of docs/ shows commands a user copies.
DOCUMENTS = README + "".join(page.read_text() for page in sorted((PROJECT_DIR / "docs").glob("*.md")))
PYTHON = ".venv/bin/python"
# Not the project's: their own documentation says what they accept.
OTHER_TOOLS = {"npx", "terraform", "curl", "eval", "export", "git", "jq", "echo", "sleep"}


def shell_block_commands() -> list[str]:
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", DOCUMENTS, re.S):
        for line in block.splitlines():
            command = re.sub(r"\s+#\s.*$", "", line).strip()
            if command:
                commands.append(command)
    return commands


def table_commands() -> list[str]:
    section = README.split("## Commands", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    spans = [span for row in rows for span in re.findall(r"`([^`]+)`", row.split(" | ")[0])]
    return [span for span in spans if not span.startswith(("-", "["))]  # a continuation, not a command


def inline_python_commands() -> list[str]:
    return [span for span in re.findall(r"`([^`\n]+)`", DOCUMENTS) if re.search(r"\bpython3? -m ", span)]


def simple_commands(command: str) -> list[list[str]]:
    """``A && B`` -> [A, B], each without leading VAR=value, `time`, and optional brackets."""
    command = command.replace("\\|", "|").replace("[", "").replace("]", "")
    inner = re.findall(r"\$\(([^()]*)\)", command)  # $(make -s token): checked as commands too
    command = re.sub(r"\$\([^()]*\)", "VALUE", command)
    if inner:
        return [words for nested in inner for words in simple_commands(nested)] + simple_commands(command)
    parts, installed = [], set()
    for part in re.split(r"&&|;", command):
        words = shlex.split(part.replace("<", "").replace(">", ""), posix=True)
        while words and (re.match(r"^[A-Z_]+=", words[0]) or words[0] == "time"):
            words.pop(0)
        if words[:2] == [".venv/bin/pip", "install"]:
            installed |= {f".venv/bin/{name}" for name in words[2:]}  # the line installs it first
            words = ["pip"]
        if words and words[0] not in installed:
            parts.append(words)
    return parts


def makefile_targets() -> set[str]:
    text = (PROJECT_DIR / "Makefile").read_text()
    return set(re.findall(r"^([a-z][a-z-]*):", text, re.M))


@functools.cache
def module_help(module: str, sub: str | None) -> str:
    args = [str(PROJECT_DIR / PYTHON), "-m", module, *([sub] if sub else []), "--help"]
    result = subprocess.run(args, cwd=PROJECT_DIR, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"{' '.join(args[1:])} fails: {result.stderr[-1500:]}"
    return result.stdout


def check(words: list[str]) -> str | None:
    """What is wrong with one simple command, or None."""
    program = words[0]
    if program in {"python", "python3"}:
        return f"`{program}` needs an activated virtualenv: write `{PYTHON}`"
    if program == "make":
        targets = [word for word in words[1:] if not word.startswith("-") and "=" not in word]
        missing = [target for target in targets if target not in makefile_targets()]
        return f"no Makefile target {missing}" if missing else None
    if program == PYTHON and words[1:2] == ["-m"]:
        return check_module(words[2], words[3:])
    if program.startswith(".venv/bin/"):
        return None if (PROJECT_DIR / program).exists() else f"{program} is not installed by make setup"
    if program == "pip":
        return None
    return None if program in OTHER_TOOLS else f"unknown program {program!r}"


def check_module(module: str, args: list[str]) -> str | None:
    if importlib.util.find_spec(module) is None:
        return f"no module {module}"
    if module == "pytest":
        missing = [arg for arg in args if arg.startswith("tests/") and not (PROJECT_DIR / arg).exists()]
        return f"no test file {missing}" if missing else None
    sub = args[0] if args and not args[0].startswith("-") and "|" not in args[0] else None
    text = module_help(module, sub)
    for alternative in args[0].split("|") if args and "|" in args[0] else []:
        if alternative != "..." and alternative not in text:
            return f"{module} has no subcommand {alternative!r}"
    unknown = [arg.split("=")[0] for arg in args if arg.startswith("--") and arg.split("=")[0] not in text]
    return f"{module} does not accept {unknown}" if unknown else None


COMMANDS = sorted(set(shell_block_commands() + table_commands() + inline_python_commands()))


def test_the_readme_shows_commands():
    assert len(COMMANDS) > 30
    assert "make deploy" in COMMANDS and 'eval "$(make -s emulator)"' in COMMANDS


@pytest.mark.parametrize("command", COMMANDS)
def test_command_runs_as_written(command):
    problems = [problem for words in simple_commands(command) if (problem := check(words))]
    assert not problems, f"{command}: {problems}"
