"""`BACKEND_ENVIRONMENTS=... make synth` lists the stacks it synthesized, not every folder
an earlier synth left in cdktf.out/stacks/."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.e2e.test_cdktf_cli import fresh_copy

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def test_make_synth_lists_only_the_environments_asked_for(tmp_path):
    repo = fresh_copy(tmp_path)
    (repo / "cdktf.out" / "stacks" / "backend-dev").mkdir(parents=True)  # left by an earlier synth
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "BACKEND_ENVIRONMENTS": "local"}
    result = subprocess.run(["make", "-s", "synth"], cwd=repo, env=env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.splitlines()[-1] == "backend-local"
    assert "backend-dev" not in result.stdout
