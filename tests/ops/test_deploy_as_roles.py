"""Terraform as the pipeline's roles (ops/pipeline_roles.py): the token file, the roles from
the bootstrap's output, and a refused call named in deploy's failure line. The flow itself
runs against the emulator in tests/e2e/test_pipeline_roles.py."""

from __future__ import annotations

import stat
from pathlib import Path

from local import issuer
from ops import deploy, pipeline_roles

# What Terraform printed when the emulator refused the plan role's first call (a real run).
REFUSED = """Error: listing Route 53 Hosted Zone (DP5A0GDFSFDSWVZH9AU6GB) tags: operation error Route 53:
ListTagsForResource, https response error StatusCode: 403, RequestID: 9bAt, api error AccessDenied: User:
arn:aws:sts::123456789012:assumed-role/plan-items-local/plan is not authorized to perform:
route53:ListTagsForResource on resource: arn:aws:route53:::hostedzone/DP5A0GDFSFDSWVZH9AU6GB because no
identity-based policy allows the route53:ListTagsForResource action

  with data.aws_route53_zone.zone,
"""
OUTPUTS = {
    "roles": {
        "local": {
            "deploy_role_arn": "arn:aws:iam::123456789012:role/delivery/deploy-items-local",
            "plan_role_arn": "arn:aws:iam::123456789012:role/delivery/plan-items-local",
        }
    }
}


def test_the_failure_line_names_the_role_the_action_and_the_resource(tmp_path):
    line = deploy.terraform_failure("plan", tmp_path / "plan.log", REFUSED).splitlines()[0]
    assert line.startswith(
        "terraform plan failed: AccessDenied: plan-items-local may not route53:ListTagsForResource on "
        "arn:aws:route53:::hostedzone/DP5A0GDFSFDSWVZH9AU6GB (log: "
    )


def test_other_failures_name_no_refusal(tmp_path):
    line = deploy.terraform_failure("apply", tmp_path / "a.log", "Error: creating table: ValidationException").split(
        "\n"
    )[0]
    assert line == f"terraform apply failed (log: {tmp_path / 'a.log'}):"


def test_each_role_is_assumed_from_its_github_environment():
    roles = pipeline_roles.roles(OUTPUTS, "local")
    assert (roles["plan"].name, roles["plan"].github_environment) == ("plan-items-local", "local-plan")
    assert (roles["deploy"].name, roles["deploy"].github_environment) == ("deploy-items-local", "local")


def test_a_role_run_gets_a_private_token_of_the_repository_and_no_keys(tmp_path: Path):
    issuer.create_keys(tmp_path / "keys")
    role = pipeline_roles.roles(OUTPUTS, "local")["deploy"]
    env = pipeline_roles.role_env(role, tmp_path / "keys", "org/repo", tmp_path / "tokens", "http://127.0.0.1:9")
    token_file = Path(env["AWS_WEB_IDENTITY_TOKEN_FILE"])
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    import jwt

    claims = jwt.decode(token_file.read_text(), options={"verify_signature": False})
    assert claims["sub"] == "repo:org/repo:environment:local" and claims["iss"] == issuer.GITHUB_ISSUER
    assert env["AWS_ROLE_ARN"] == role.arn and env["AWS_ROLE_SESSION_NAME"] == "deploy"
    assert env["AWS_ENDPOINT_URL_STS"] == env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:9"
    assert "AWS_ACCESS_KEY_ID" not in env


def test_make_deploy_runs_as_the_roles_unless_asked_for_the_root_keys():
    assert deploy.parse_arguments([]).as_roles is True
    assert deploy.parse_arguments(["--as-root"]).as_roles is False
