"""The apply job's smoke step, run as the workflow runs it, against the local deployment: its
``run:`` line and ``env:`` are read from .github/workflows/environment.yml, so a change to the
step changes what is tested. What the workflow's environment provides is replaced by the local
equivalent: the environment name (``ENVIRONMENT``) is ``local``; a Terraform Cloud token is
empty (the local environment keeps its state in a file); the deployment file `make deploy`
wrote stands for the applied stack's outputs (``BACKEND_DEPLOYMENT_FILE``). The step provides
no SMOKE_TOKEN, so the authenticated local environment gets the read-only checks. Nothing in
the deployment is changed: the negative case reads a copy of the deployment file."""

from __future__ import annotations

import json
import os
import re
import subprocess
from typing import TYPE_CHECKING

import pytest
import yaml

from ops.pipeline import DEPLOYMENT_FILE_VARIABLE, PROJECT_DIR

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = [pytest.mark.e2e, pytest.mark.terraform, pytest.mark.timeout(900)]
WORKFLOW = PROJECT_DIR / ".github" / "workflows" / "environment.yml"
STEP = "Smoke-check every region"


def smoke_step() -> tuple[str, dict[str, str]]:
    """The step's ``run:`` and its ``env:`` (job and workflow env included, step last)."""
    workflow = yaml.safe_load(WORKFLOW.read_text())
    for job in workflow["jobs"].values():
        for step in job.get("steps", []):
            if step.get("name") == STEP:
                return step["run"], {**workflow.get("env", {}), **job.get("env", {}), **step.get("env", {})}
    raise AssertionError(f"{WORKFLOW}: no step named {STEP!r}")


def local_equivalent(name: str, value: str) -> str:
    """A value the workflow takes from GitHub (``${{ ... }}``), as the local deployment has it."""
    if not isinstance(value, str) or "${{" not in value:
        return str(value)
    if name == "ENVIRONMENT":
        return "local"
    if name.startswith("TF_TOKEN_"):
        return ""  # Terraform Cloud: the local environment's state is a file
    if name == "STACK":
        return "backend-local"
    raise AssertionError(f"the smoke step reads {name}={value}: give it a local equivalent here")


def run_step(deployment_file: Path) -> subprocess.CompletedProcess:
    run, env = smoke_step()
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SMOKE_", "TF_TOKEN_"))}
    environ |= {name: local_equivalent(name, value) for name, value in env.items()}
    environ[DEPLOYMENT_FILE_VARIABLE] = str(deployment_file)
    return subprocess.run(
        ["bash", "-eo", "pipefail", "-c", run],  # GitHub's default shell for run: steps
        cwd=PROJECT_DIR,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_step_reads_what_it_is_tested_with():
    run, env = smoke_step()
    assert run.strip() == '.venv/bin/python -m ops.pipeline smoke --env "$ENVIRONMENT"'
    assert {name for name, value in env.items() if "${{" in str(value)} <= {
        "ENVIRONMENT",
        "STACK",
        "TF_TOKEN_app_terraform_io",
    }, "a new variable from GitHub needs its local equivalent in local_equivalent()"


def test_the_smoke_step_passes_against_the_local_deployment(local):
    result = run_step(local.state_dir / "deployment.json")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    for region in local.config.regions:
        assert re.search(rf"^\s+ok\s+{region}\s+health\s", result.stdout, re.M), result.stdout
        assert re.search(rf"^\s+ok\s+{region}\s+item read without a token is refused", result.stdout, re.M)
    assert len(lines) == 2 * len(local.config.regions) and not any("FAIL" in line for line in lines)


def test_a_region_that_does_not_answer_fails_the_step_naming_it(local, tmp_path):
    deployment = json.loads((local.state_dir / "deployment.json").read_text())
    down, up = local.config.regions[0], local.config.regions[1]
    deployment["regions"][down]["api_url"] = f"http://127.0.0.1:{closed_port()}/v1"
    copy = tmp_path / "deployment.json"
    copy.write_text(json.dumps(deployment))
    result = run_step(copy)
    assert result.returncode == 1, result.stdout + result.stderr
    assert re.search(rf"^\s+FAIL\s+{down}\s+health\s.*no answer", result.stdout, re.M), result.stdout
    assert re.search(rf"^\s+ok\s+{up}\s+health\s", result.stdout, re.M), result.stdout
    assert "Traceback" not in result.stderr


def test_without_a_deployment_the_step_says_what_is_missing(tmp_path):
    result = run_step(tmp_path / "absent.json")
    assert result.returncode == 1
    assert "cannot read the deployment file" in result.stderr and "make deploy" in result.stderr
    assert "Traceback" not in result.stderr


def closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
