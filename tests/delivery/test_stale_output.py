"""A run that synthesizes nothing leaves no stack configuration behind for the CLI to use."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from modules.outdir import discard_stale_output

PROJECT_DIR = Path(__file__).resolve().parents[2]


def previous_synth(outdir: Path) -> None:
    for stack in ("backend-dev", "backend-prod"):
        (outdir / "stacks" / stack / ".terraform").mkdir(parents=True)
        (outdir / "stacks" / stack / "cdk.tf.json").write_text("{}")
        (outdir / "stacks" / stack / ".terraform.lock.hcl").write_text("# lock\n")
    (outdir / "manifest.json").write_text("{}")


def test_discard_removes_configuration_and_manifest_only(tmp_path):
    previous_synth(tmp_path)
    assert discard_stale_output(tmp_path) == ["backend-dev", "backend-prod"]
    assert not list(tmp_path.glob("stacks/*/cdk.tf.json")) and not (tmp_path / "manifest.json").exists()
    assert (tmp_path / "stacks" / "backend-dev" / ".terraform.lock.hcl").exists()


def test_discard_creates_nothing(tmp_path):
    assert discard_stale_output(tmp_path / "absent") == []
    assert not (tmp_path / "absent").exists()


def test_a_bad_environment_file_removes_the_previous_synth(tmp_path):
    envs = tmp_path / "environments"
    envs.mkdir()
    (envs / "dev.toml").write_text('project = "items"\nregions = ["eu-west-1"]\n')
    outdir = tmp_path / "out"
    previous_synth(outdir)
    env = {**os.environ, "BACKEND_ENVIRONMENTS_DIR": str(envs), "CDKTF_OUTDIR": str(outdir)}
    result = subprocess.run(
        [sys.executable, str(PROJECT_DIR / "main.py")], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert (
        f"nothing was synthesized; removed the previous synth of backend-dev, backend-prod from {outdir}"
        in result.stderr
    )
    assert not list(outdir.glob("stacks/*/cdk.tf.json"))
