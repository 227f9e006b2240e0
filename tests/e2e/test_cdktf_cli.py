"""The README's cdktf CLI route for `local`, run as the README writes it, in a fresh copy of
the repository from a fresh shell: `eval "$(make -s emulator)"`, then `npx cdktf diff`,
`deploy` and `destroy backend-local` (with --auto-approve: no one answers the prompt here),
then `make down`. Every request that is not for loopback goes to a dead proxy (a machine that
reaches only the provider mirror): the first diff must not need the registry, since synth
writes the stack's lock file from the mirror and cdktf then skips `terraform providers lock`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from ops import terraform as tf
from tests.ops.test_interrupt import mentioning

pytestmark = [pytest.mark.e2e, pytest.mark.terraform, pytest.mark.timeout(1500)]

PROJECT_DIR = Path(__file__).resolve().parents[2]
DEAD_PROXY = "http://127.0.0.1:1"
OLD = 946684800  # 2000-01-01: the copy's dependency files must not look newer than the shared install


def readme_route() -> str:
    """The manual's shell block that starts with `make -s emulator` (docs/cdktf.md)."""
    blocks = re.findall(r"```sh\n(.*?)```", (PROJECT_DIR / "docs" / "cdktf.md").read_text(), re.S)
    (block,) = [block for block in blocks if block.startswith('eval "$(make -s emulator)"')]
    return block


def fresh_copy(root: Path) -> Path:
    """The repository's files (tracked and new, not ignored) with the shared installs linked."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=PROJECT_DIR, capture_output=True, check=True
    ).stdout
    repo = root / "repo"
    for name in filter(None, listed.decode().split("\0")):
        source = PROJECT_DIR / name
        if source.is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, repo / name)
    (PROJECT_DIR / "build" / "jsii").mkdir(parents=True, exist_ok=True)
    # build/jsii holds the binding's lazy assembly copy, derived from the shared .venv: linked,
    # the copy's first synth does not build it again (~2 s).
    for shared in (".venv", "node_modules", "build/wheels", "build/jsii"):
        (repo / shared).parent.mkdir(parents=True, exist_ok=True)
        (repo / shared).symlink_to((PROJECT_DIR / shared).resolve())
    for name in ("requirements.txt", "constraints.txt", "package.json", "package-lock.json"):
        os.utime(repo / name, (OLD, OLD))
    os.utime(repo / "authorizer" / "requirements.txt", (OLD, OLD))
    return repo


TOOK = 'echo "--- took $(( ($(date +%s%N) - started) / 1000000 )) ms"'


def script(block: str) -> str:
    """The block, each command announced and timed, deploy and destroy without their prompt."""
    lines = ["set -euo pipefail"]
    for command in filter(None, (line.strip() for line in block.splitlines())):
        if command.startswith(("npx cdktf deploy", "npx cdktf destroy")):
            command += " --auto-approve"
        lines += [f"echo '=== {command}'", "started=$(date +%s%N)", command, TOOK]
    return "\n".join(lines) + "\n"


def test_the_readme_route_diffs_deploys_and_destroys(tmp_path, terraform_bin):
    repo = fresh_copy(tmp_path)
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path / "home"),
        "CI": "true",
        "HTTPS_PROXY": DEAD_PROXY,
        "HTTP_PROXY": DEAD_PROXY,
        "NO_PROXY": "127.0.0.1,localhost",
        "https_proxy": DEAD_PROXY,
        "http_proxy": DEAD_PROXY,
        "no_proxy": "127.0.0.1,localhost",
        # The machine's jsii package cache, not one in the fresh HOME: else the first synth
        # extracts the binding's ~400 MB assembly again on every run.
        "JSII_RUNTIME_PACKAGE_CACHE_ROOT": os.environ.get("JSII_RUNTIME_PACKAGE_CACHE_ROOT")
        or str(Path.home() / ".cache" / "aws" / "jsii" / "package-cache"),
    }
    if tf.find_provider_mirror() is None:
        for name in ("HTTPS_PROXY", "https_proxy"):
            env.pop(name)  # no mirror: the registry is the only source
    try:
        result = subprocess.run(
            ["bash", "-c", script(readme_route())],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=1400,
            stdin=subprocess.DEVNULL,
        )
    finally:
        subprocess.run(["make", "-s", "down"], cwd=repo, env=env, capture_output=True, timeout=60)
    output = result.stdout + result.stderr
    print("\n".join(re.findall(r"^(?:===|---) .*", result.stdout, re.M)))  # each step's time, with -s
    assert result.returncode == 0, output[-6000:]
    # make emulator's exports name the environment, so no CLI call synthesized the others.
    assert sorted(p.name for p in (repo / "cdktf.out" / "stacks").iterdir()) == ["backend-local"]
    steps = dict(re.findall(r"^=== (npx cdktf \w+) .*?\n(.*?)(?=^=== |\Z)", result.stdout, re.S | re.M))
    assert "Plan:" in steps["npx cdktf diff"] and "to add" in steps["npx cdktf diff"], output[-3000:]
    assert "registry.terraform.io" not in output.replace("registry.terraform.io/hashicorp/aws", "")
    added = re.search(r"Apply complete! Resources: (\d+) added", steps["npx cdktf deploy"])
    assert added and int(added.group(1)) > 100, output[-3000:]
    destroyed = re.search(r"Destroy complete! Resources: (\d+) destroyed", steps["npx cdktf destroy"])
    assert destroyed and int(destroyed.group(1)) == int(added.group(1)), output[-3000:]
    assert "stopped: local issuer (pid" in steps.get("make down", result.stdout), result.stdout[-2000:]
    assert not mentioning(repo), "a process of the route still runs"
