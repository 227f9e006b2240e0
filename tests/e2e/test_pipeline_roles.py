"""`make deploy` (local), the shared e2e deployment: Terraform runs as the pipeline's roles
on the emulator that enforces IAM. The bootstrap stack is applied with the root keys, the plan role plans
backend-local (refresh included), the deploy role applies that plan, plans again (empty) and
destroys the stack; each role assumed with AssumeRoleWithWebIdentity and a GitHub-shaped token
from the local issuer, and tokens of another repository, environment or a pull request refused."""

from __future__ import annotations

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from local import issuer
from modules.bootstrap.delivery import load_delivery
from ops import deploy, iam_report
from ops import terraform as tf
from tests.local.iam.never_used import NEVER_USED, unlisted_and_stale

pytestmark = [pytest.mark.e2e, pytest.mark.terraform, pytest.mark.timeout(1200)]

REPOSITORY = load_delivery(deploy.PROJECT_DIR / "delivery.toml").github_repository


@pytest.fixture(scope="module")
def local(local):
    """The shared deployment (tests/e2e/conftest.py), applied as the roles; this module's
    destroy runs after every other shared test (tests/conftest.py's ordering)."""
    return local.deployment, local.state, local.state_dir, local.printed


@pytest.fixture(scope="module", autouse=True)
def grants(local) -> list[iam_report.RoleGrants]:
    """Every role's policies as deployed, read before the destroy test removes the stack's roles."""
    _, state, _, _ = local
    return iam_report.emulator_grants(state.emulator_url)


def test_terraform_ran_as_the_roles_and_the_stack_answers(local):
    deployment, _, _, printed = local
    assert "bootstrap: the pipeline's roles in the emulator" in printed
    assert "apply as the pipeline's roles (the plan role plans, the deploy role applies)" in printed
    assert {kind: role.name for kind, role in deployment.roles.items()} == {
        "plan": "plan-items-local",
        "deploy": "deploy-items-local",
    }
    assert deployment.checks and all(check.ok for check in deployment.checks), deployment.checks


def assume(state, role_arn: str, token: str) -> dict:
    sts = boto3.client(
        "sts", endpoint_url=state.emulator_url, region_name="us-east-1", config=Config(signature_version=UNSIGNED)
    )
    return sts.assume_role_with_web_identity(RoleArn=role_arn, RoleSessionName="token-check", WebIdentityToken=token)


@pytest.mark.parametrize(
    "repository, environment, claims",
    [
        ("someone-else/fork", "local", {}),  # another repository
        (REPOSITORY, "local-plan", {}),  # the plan role's environment
        (REPOSITORY, "prod", {}),  # another environment
        (REPOSITORY, None, {"event_name": "pull_request"}),  # a pull request's sub
    ],
)
def test_the_deploy_role_refuses_other_tokens(local, repository, environment, claims):
    deployment, state, state_dir, _ = local
    token = issuer.mint_github(state_dir / "issuer", repository, environment, **claims)
    with pytest.raises(ClientError) as refused:
        assume(state, deployment.roles["deploy"].arn, token)
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    # The same role, the same issuer, the right token: assumed.
    right = issuer.mint_github(state_dir / "issuer", REPOSITORY, "local")
    assert assume(state, deployment.roles["deploy"].arn, right)["AssumedRoleUser"]["Arn"].endswith(
        "assumed-role/deploy-items-local/token-check"
    )


def test_the_plan_role_refuses_the_deploy_environments_token(local):
    deployment, state, state_dir, _ = local
    with pytest.raises(ClientError) as refused:
        assume(state, deployment.roles["plan"].arn, issuer.mint_github(state_dir / "issuer", REPOSITORY, "local"))
    assert refused.value.response["Error"]["Code"] == "AccessDenied"


def test_the_deploy_role_plans_again_and_the_plan_is_empty(local):
    deployment, state, state_dir, _ = local
    env = deploy.role_env(deployment.roles["deploy"], state, state_dir)
    plan = tf.run(["plan", "-detailed-exitcode", "-input=false", "-no-color"], deployment.stack_dir, env, 300)
    assert plan.returncode == 0, plan.stdout[-6000:]


def test_the_deploy_role_destroys_the_stack(local):
    deployment, state, state_dir, _ = local
    env = deploy.role_env(deployment.roles["deploy"], state, state_dir)
    destroy = tf.run(["destroy", "-auto-approve", "-input=false", "-no-color"], deployment.stack_dir, env, 600)
    assert destroy.returncode == 0, destroy.stdout[-6000:]
    left = tf.run(["state", "list"], deployment.stack_dir, env, 60).stdout.split()
    assert [address for address in left if not address.startswith("data.")] == []


def test_what_each_role_is_granted_and_never_used_in_this_run_is_listed_with_a_reason(local, grants):
    """Last: the report covers the plan, the apply, the smoke checks, the second plan and the destroy."""
    _, _, state_dir, _ = local
    lines = [line for path in iam_report.decision_logs(state_dir) for line in path.read_text().splitlines()]
    reports = iam_report.report(lines, grants)
    assert {r.role for r in reports if r.used} >= {"plan-items-local", "deploy-items-local"}
    unlisted, stale = unlisted_and_stale(reports)
    assert unlisted == {}, "granted, never used: remove the grant or list it (tests/local/iam/never_used.py)"
    assert stale == {}, "listed as never used, but used in this run (or no longer granted): remove the entry"
    assert all(len(reason) > 30 for entries in NEVER_USED.values() for reason in entries.values())
