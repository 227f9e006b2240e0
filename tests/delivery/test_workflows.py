"""The GitHub workflows: actionlint passes, every action is pinned by commit, the deploy
order and its credentials are what the README says."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import IN_CI

PROJECT_DIR = Path(__file__).resolve().parents[2]
GITHUB = PROJECT_DIR / ".github"
WORKFLOWS = sorted((GITHUB / "workflows").glob("*.yml"))
ACTION_FILES = WORKFLOWS + sorted((GITHUB / "actions").glob("*/action.yml"))
USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(\S+)(.*)$", re.MULTILINE)
PINNED = re.compile(r"^[\w.-]+/[\w.-]+@[0-9a-f]{40}$")
VERSION_COMMENT = re.compile(r"^\s*#\s*v\d+\.\d+\.\d+\s*$")


@pytest.fixture(scope="module")
def actionlint() -> str:
    found = shutil.which("actionlint", path=str(Path(sys.executable).parent)) or shutil.which("actionlint")
    if found is None:
        message = "actionlint not found: `make setup` installs it (requirements.txt)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return found


def run_actionlint(binary: str, cwd: Path) -> subprocess.CompletedProcess:
    # shellcheck/pyflakes integrations are off so the result does not depend on what else
    # the machine has installed.
    return subprocess.run(
        [binary, "-no-color", "-oneline", "-shellcheck=", "-pyflakes="],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_actionlint_passes_on_every_workflow(actionlint):
    assert len(WORKFLOWS) >= 3
    result = run_actionlint(actionlint, PROJECT_DIR)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_catches_a_broken_workflow(actionlint, tmp_path):
    """The check can fail: a job that needs a job that does not exist."""
    shutil.copytree(GITHUB, tmp_path / ".github")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)  # actionlint looks for the repository root
    path = tmp_path / ".github" / "workflows" / "deploy.yml"
    path.write_text(path.read_text().replace("needs: dev", "needs: devv"))
    result = run_actionlint(actionlint, tmp_path)
    assert result.returncode != 0 and "devv" in result.stdout


def uses_lines() -> list[tuple[Path, str, str]]:
    return [(p, m.group(1), m.group(2)) for p in ACTION_FILES for m in USES.finditer(p.read_text())]


def test_every_action_is_pinned_by_commit_with_its_version():
    remote = [(p.name, ref, comment) for p, ref, comment in uses_lines() if not ref.startswith("./")]
    assert remote
    for name, ref, comment in remote:
        assert PINNED.match(ref), f"{name}: {ref} is not pinned by a full commit SHA"
        assert VERSION_COMMENT.match(comment), f"{name}: {ref} has no '# vX.Y.Z' comment"
    by_action: dict[str, set[str]] = {}
    for _, ref, comment in remote:
        by_action.setdefault(ref.split("@")[0], set()).add(ref.split("@")[1] + comment)
    assert all(len(v) == 1 for v in by_action.values()), f"one action pinned at different commits: {by_action}"


def load(name: str) -> dict:
    return yaml.safe_load((GITHUB / "workflows" / name).read_text())


def test_deploy_runs_dev_then_staging_then_prod():
    jobs = load("deploy.yml")["jobs"]
    assert list(jobs) == ["dev", "staging", "prod"]
    assert "needs" not in jobs["dev"] and jobs["staging"]["needs"] == "dev" and jobs["prod"]["needs"] == "staging"
    assert all(j["with"]["environment"] == name for name, j in jobs.items())
    on = load("deploy.yml")[True]  # YAML 1.1 reads the key `on` as true
    assert on == {"push": {"branches": ["main"]}}


def test_each_environment_assumes_its_role_through_oidc_in_a_github_environment():
    jobs = load("environment.yml")["jobs"]
    assert jobs["plan"]["environment"] == "${{ inputs.environment }}-plan"
    assert jobs["apply"]["environment"] == "${{ inputs.environment }}"
    for job in jobs.values():
        assert job["permissions"] == {"contents": "read", "id-token": "write"}
        aws_steps = [s for s in job["steps"] if s.get("uses", "").startswith("aws-actions/configure-aws-credentials@")]
        assert len(aws_steps) == 1 and aws_steps[0]["with"]["role-to-assume"] == "${{ vars.AWS_ROLE_ARN }}"
    text = "".join(p.read_text() for p in ACTION_FILES)
    assert "aws-access-key-id" not in text and "AWS_SECRET_ACCESS_KEY" not in text


def test_apply_applies_the_artifact_of_the_plan_job():
    jobs = load("environment.yml")["jobs"]
    upload = next(s for s in jobs["plan"]["steps"] if s.get("uses", "").startswith("actions/upload-artifact@"))
    download = next(s for s in jobs["apply"]["steps"] if s.get("uses", "").startswith("actions/download-artifact@"))
    assert upload["with"]["name"] == download["with"]["name"]
    runs = [s.get("run", "") for s in jobs["apply"]["steps"]]
    assert any("ops.pipeline apply" in r for r in runs) and not any("main.py" in r for r in runs)


def test_pull_request_plans_the_changed_environments():
    jobs = load("pull-request.yml")["jobs"]
    runs = [s.get("run") for s in jobs["checks"]["steps"]]
    assert runs.index("make lint") < runs.index("make scan") < runs.index("make test")  # as .ci/run
    assert jobs["plan"]["strategy"]["matrix"] == "${{ fromJSON(needs.changes.outputs.matrix) }}"
    assert jobs["plan"]["environment"] == "${{ matrix.environment }}-plan"
    local = [s.get("run") for s in jobs["local"]["steps"]]
    assert "make deploy" in local and "make down" in local


def test_apply_job_and_its_session_last_as_long_as_the_deploy_role_allows():
    """Adding a region copies the table (hours for a large one): the apply job's timeout and
    its credentials last the deploy role's maximum session."""
    from modules.bootstrap.stack import SESSION_SECONDS

    workflow = yaml.safe_load((GITHUB / "workflows" / "environment.yml").read_text())
    apply = workflow["jobs"]["apply"]
    (credentials,) = [s for s in apply["steps"] if "configure-aws-credentials" in s.get("uses", "")]
    assert credentials["with"]["role-duration-seconds"] == SESSION_SECONDS["deploy"] == 4 * 3600
    assert apply["timeout-minutes"] * 60 == SESSION_SECONDS["deploy"]


def _token_secrets(job: dict) -> set[str]:
    return set(re.findall(r"secrets\.(TF_\w+)", yaml.safe_dump(job)))


def test_terraform_cloud_write_token_only_in_the_reviewed_environment():
    """A plan-only token in <env>-plan; the token that may apply only in the GitHub
    environment with required reviewers; neither passed from the repository's secrets."""
    jobs = {}
    for path in WORKFLOWS:
        workflow = yaml.safe_load(path.read_text())
        jobs.update({f"{path.stem}.{name}": job for name, job in workflow["jobs"].items()})
        assert "TF_API_TOKEN" not in path.read_text(), path.name
    tokens = {name: _token_secrets(job) for name, job in jobs.items() if _token_secrets(job)}
    assert tokens == {
        "environment.plan": {"TF_PLAN_TOKEN"},
        "environment.apply": {"TF_APPLY_TOKEN"},
        "pull-request.plan": {"TF_PLAN_TOKEN"},
    }
    assert jobs["environment.apply"]["environment"] == "${{ inputs.environment }}"
    for name in ("environment.plan", "pull-request.plan"):
        assert str(jobs[name]["environment"]).endswith("-plan"), name
    for name, job in jobs.items():
        assert "secrets" not in job, f"{name} passes secrets to a reusable workflow"
