"""`make deploy ENV=dev` without AWS credentials: the failure names the step that failed
(planning), a log that exists, and Terraform's cause. Real Terraform; nothing can reach
AWS (no credentials, no instance metadata, every HTTP(S) request sent to a dead port)."""

from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING

import pytest

from modules.config.loader import load_environments
from ops import deploy
from tests.ops.test_quota_deploy import lambda_clients

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = [pytest.mark.terraform, pytest.mark.slow, pytest.mark.timeout(600)]


@pytest.fixture
def no_aws(monkeypatch, tmp_path):
    empty = tmp_path / "empty"
    empty.write_text("")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "")
    for name in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "NO_PROXY",
        "no_proxy",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:1")


def _failure(config, tmp_path) -> tuple[str, str, Path]:
    log_dir = tmp_path / "logs"
    # The quota check comes first and needs credentials too: it is given enough quota here.
    ample, _ = lambda_clients(dict.fromkeys(config.regions, (1000, 1000)))
    with pytest.raises(deploy.DeployError) as raised:
        deploy.deploy_real(
            config, tmp_path / "cdktf.out", log_dir, auto_approve=False, out=io.StringIO(), lambda_client_for=ample
        )
    header, _, cause = str(raised.value).partition("\n")
    return header, cause, log_dir


def test_init_of_an_s3_backend_without_credentials_names_init_its_log_and_the_cause(no_aws, tmp_path, terraform_bin):
    """dev keeps its state in S3, so init is the first step that needs credentials."""
    config = deploy.load_config("dev")
    assert config.state.backend == "s3"
    header, cause, log_dir = _failure(config, tmp_path)
    assert header == f"terraform init failed (log: {log_dir / 'terraform-init.log'}):"
    assert (log_dir / "terraform-init.log").exists()
    assert cause.lstrip("│ ").startswith("Error:") and "credential" in cause.lower(), cause
    assert not (log_dir / "terraform-plan.log").exists()


def test_a_plan_without_credentials_names_the_step_its_log_and_the_cause(no_aws, tmp_path, terraform_bin, monkeypatch):
    """With local state, init needs no credentials and planning is the step that fails."""
    environments = tmp_path / "environments"
    environments.mkdir()
    dev = (deploy.PROJECT_DIR / "environments" / "dev.toml").read_text()
    local_state = re.sub(
        r"(?ms)^\[state\].*?(?=^\[|\Z)", '[state]\nbackend = "local"\npath = "state/no-aws.tfstate"\n\n', dev
    )
    (environments / "dev.toml").write_text(local_state)
    monkeypatch.setenv("BACKEND_ENVIRONMENTS_DIR", str(environments))
    (config,) = load_environments(environments, ["dev"])
    assert config.state.backend == "local"
    header, cause, log_dir = _failure(config, tmp_path)
    assert header == f"terraform plan failed (log: {log_dir / 'terraform-plan.log'}):"
    assert (log_dir / "terraform-plan.log").exists()
    assert cause.lstrip("│ ").startswith("Error:") and "credential" in cause.lower(), cause
    assert not (log_dir / "terraform-apply.log").exists()


def test_failure_text_keeps_terraforms_error_blocks():
    output = 'Planning...\n\n│ Error: No valid credential sources found\n│ \n│   with provider["x"],\n'
    text = deploy.terraform_failure("plan", deploy.Path("/l/plan.log"), output)
    assert text.splitlines()[0] == "terraform plan failed (log: /l/plan.log):"
    assert text.splitlines()[1] == "│ Error: No valid credential sources found"
    assert "Planning" not in text
    assert deploy.terraform_failure("apply", deploy.Path("l"), "").endswith("(terraform printed nothing)")


def test_a_real_environment_without_credentials_points_back_to_local(no_aws, tmp_path, capsys):
    assert deploy.main(["--env", "dev", "--root", str(tmp_path)]) == 1
    error = capsys.readouterr().err
    assert "no AWS credentials found: backend-dev deploys to your AWS account" in error
    assert "`make deploy` (ENV=local)" in error
    assert not (tmp_path / "cdktf.out").exists(), "synth ran before the credentials were checked"
