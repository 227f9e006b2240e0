"""The bootstrap stack for dev, staging and prod, applied for real with Terraform to moto's
server on 127.0.0.1: each environment's account is reached by assuming a role there (moto's
STS switches accounts like AWS does), the state buckets come out locked down, the roles trust
only this repository's GitHub environments, a second plan is empty, and Terraform refuses to
destroy a state bucket. The apply is the run's one (tests/bootstrap_applied.py).
"""

from __future__ import annotations

import json

import pytest

from ops import terraform as tf
from tests.bootstrap_applied import REPOSITORY, BootstrapApplied, client

pytestmark = [pytest.mark.e2e, pytest.mark.terraform, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def applied(bootstrap_applied: BootstrapApplied) -> BootstrapApplied:
    """The run's one bootstrap apply (tests/bootstrap_applied.py), shared with test_bootstrap_enforced."""
    return bootstrap_applied


@pytest.mark.parametrize("environment", ["dev", "staging"])
def test_state_bucket_is_locked_down_in_its_account(applied, environment):
    config = applied.configs[environment]
    account, bucket = config.allowed_account_ids[0], config.state.bucket
    s3 = client(applied.url, "s3", account, config.state.region)
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values()) and len(block) == 4
    (statement,) = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])["Statement"]
    assert statement["Effect"] == "Deny" and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    (rule,) = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert rule["NoncurrentVersionExpiration"]["NoncurrentDays"] == 90
    assert (
        s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"][0]["ObjectOwnership"]
        == "BucketOwnerEnforced"
    )


@pytest.mark.parametrize("environment", ["dev", "staging", "prod"])
def test_roles_trust_only_their_github_environment(applied, environment):
    config = applied.configs[environment]
    account = config.allowed_account_ids[0]
    iam = client(applied.url, "iam", account)
    providers = [p["Arn"] for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]]
    github = f"arn:aws:iam::{account}:oidc-provider/token.actions.githubusercontent.com"
    assert github in providers
    for kind, github_env in (("deploy", environment), ("plan", f"{environment}-plan")):
        role = iam.get_role(RoleName=f"{kind}-items-{environment}")["Role"]
        assert role["Path"] == "/delivery/"
        trust = role["AssumeRolePolicyDocument"]
        trust = json.loads(trust) if isinstance(trust, str) else trust
        github_statement = next(s for s in trust["Statement"] if s["Principal"]["Federated"] == github)
        assert github_statement["Condition"]["StringEquals"] == {
            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
            "token.actions.githubusercontent.com:sub": f"repo:{REPOSITORY}:environment:{github_env}",
        }
        assert iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"] == []
        attached = iam.list_attached_role_policies(RoleName=role["RoleName"])["AttachedPolicies"]
        assert attached and all(p["PolicyName"].startswith(f"{kind}-backend-{environment}-") for p in attached)
        texts = []
        for policy in attached:
            version = iam.get_policy(PolicyArn=policy["PolicyArn"])["Policy"]["DefaultVersionId"]
            document = iam.get_policy_version(PolicyArn=policy["PolicyArn"], VersionId=version)["PolicyVersion"][
                "Document"
            ]
            document = json.loads(document) if isinstance(document, str) else document
            texts.append(json.dumps(document))
            assert "${" not in texts[-1], "a reference was not resolved"
        # A part split off the role's policy may hold only the state bucket's (account-less) S3 ARNs.
        assert f":{account}:" in "".join(texts), "the account reference was not resolved"
        zone_id = client(applied.url, "route53", account).list_hosted_zones_by_name(DNSName=config.domain.zone_name)
        zone_arn = f"arn:aws:route53:::hostedzone/{zone_id['HostedZones'][0]['Id'].split('/')[-1]}"
        assert zone_arn in "".join(texts), "the roles read the environment's zone, by its id"


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_the_permissions_boundary_exists_where_the_environments_roles_name_it(applied, environment, synthesized):
    account = applied.configs[environment].allowed_account_ids[0]
    iam = client(applied.url, "iam", account)
    (named,) = {r["permissions_boundary"] for r in synthesized[environment]["resource"]["aws_iam_role"].values()}
    arn = named.replace("${data.aws_caller_identity.account.account_id}", account)
    assert iam.get_policy(PolicyArn=arn)["Policy"]["Path"] == "/delivery/"


def test_prod_roles_also_trust_its_terraform_cloud_workspace(applied):
    iam = client(applied.url, "iam", "333333333333")
    trust = iam.get_role(RoleName="deploy-items-prod")["Role"]["AssumeRolePolicyDocument"]
    trust = json.loads(trust) if isinstance(trust, str) else trust
    subjects = [s["Condition"].get("StringLike", {}).get("app.terraform.io:sub") for s in trust["Statement"]]
    assert "organization:example-platform:project:*:workspace:backend-prod:run_phase:apply" in subjects


def test_second_plan_is_empty(applied):
    result = tf.run(
        ["plan", "-detailed-exitcode", "-input=false", "-no-color"], applied.stack_dir, applied.env, timeout=300
    )
    assert result.returncode == 0, f"plan after apply is not empty (exit {result.returncode}):\n{result.stdout[-6000:]}"


def test_terraform_refuses_to_destroy_a_state_bucket(applied):
    result = tf.run(
        ["destroy", "-auto-approve", "-input=false", "-no-color"], applied.stack_dir, applied.env, timeout=300
    )
    assert result.returncode != 0
    assert "prevent_destroy" in result.stdout
    s3 = client(applied.url, "s3", "222222222222", "eu-west-1")
    assert s3.head_bucket(Bucket="items-terraform-state-222222222222")["ResponseMetadata"]["HTTPStatusCode"] == 200
