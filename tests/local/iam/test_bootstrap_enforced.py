"""The bootstrap stack's roles against the emulator that enforces IAM: the bootstrap applied
for real with Terraform (the run's one apply, tests/bootstrap_applied.py, shared with
tests/e2e/test_bootstrap_apply.py), the dev deploy role assumed as the deploy workflow assumes
it (AssumeRoleWithWebIdentity with a GitHub-shaped token from the local issuer), then a few
calls the AWS provider makes for the dev stack, each getting the verdict the policies give.

Two of issue 18's review findings were refused calls: through this emulator, on the policies
before the fix, kms:DescribeKey on alias/aws/dynamodb and route53:ListResourceRecordSets on the
zone were refused with AccessDenied (the messages in the docstrings below); they are allowed now,
and the controls beside them show the grants are no wider than the fix meant."""

from __future__ import annotations

from typing import TYPE_CHECKING

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from local import issuer
from tests.bootstrap_applied import REPOSITORY, BootstrapApplied, client

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = [pytest.mark.e2e, pytest.mark.terraform, pytest.mark.timeout(900)]

ACCOUNT, REGION = "111111111111", "eu-west-1"
DEPLOY_ROLE = f"arn:aws:iam::{ACCOUNT}:role/delivery/deploy-items-dev"
ZONE = "dev.example.com"


@pytest.fixture(scope="module")
def github_issuer(bootstrap_applied: BootstrapApplied) -> Path:
    """The key directory of the local issuer the emulator trusts for GitHub's tokens."""
    return bootstrap_applied.issuer_keys


@pytest.fixture(scope="module")
def applied(bootstrap_applied: BootstrapApplied) -> str:
    """The emulator's URL: the run's one bootstrap apply (tests/bootstrap_applied.py)."""
    return bootstrap_applied.url


def web_identity_session(url: str, key_dir, role: str, github_environment: str) -> boto3.Session:
    """The role's credentials as the workflow gets them, in a job of that GitHub environment."""
    token = issuer.mint_github(key_dir, REPOSITORY, github_environment)
    sts = boto3.client("sts", endpoint_url=url, region_name=REGION, config=Config(signature_version=UNSIGNED))
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/delivery/{role}"
    session_name = role.split("-")[0]
    creds = sts.assume_role_with_web_identity(RoleArn=role_arn, RoleSessionName=session_name, WebIdentityToken=token)
    assert creds["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{session_name}"
    credentials = creds["Credentials"]
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=REGION,
    )


@pytest.fixture(scope="module")
def deploy_role(applied, github_issuer) -> boto3.Session:
    return web_identity_session(applied, github_issuer, "deploy-items-dev", "dev")


@pytest.fixture(scope="module")
def plan_role(applied, github_issuer) -> boto3.Session:
    return web_identity_session(applied, github_issuer, "plan-items-dev", "dev-plan")


def test_the_deploy_role_refuses_a_pull_requests_token(applied, github_issuer):
    token = issuer.mint_github(github_issuer, REPOSITORY, None, event_name="pull_request")
    sts = boto3.client("sts", endpoint_url=applied, region_name=REGION, config=Config(signature_version=UNSIGNED))
    with pytest.raises(ClientError) as refused:
        sts.assume_role_with_web_identity(RoleArn=DEPLOY_ROLE, RoleSessionName="pr", WebIdentityToken=token)
    assert refused.value.response["Error"]["Code"] == "AccessDenied"


def verdict(call) -> str:
    """``allowed``, or the AccessDenied message; other errors (not found, ...) count as allowed:
    IAM let the call through to the service."""
    try:
        call()
    except ClientError as error:
        if "AccessDenied" in error.response["Error"]["Code"]:
            return error.response["Error"]["Message"]
    return "allowed"


def dev_table(synthesized) -> dict:
    (table,) = synthesized["dev"]["resource"]["aws_dynamodb_table"].values()
    return table


def create_table(session: boto3.Session, url: str, name: str, tags: dict) -> None:
    session.client("dynamodb", endpoint_url=url).create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "item_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "item_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        Tags=[{"Key": key, "Value": value} for key, value in tags.items()],
    )


def test_the_deploy_role_creates_and_reads_the_environments_table(applied, deploy_role, synthesized):
    table = dev_table(synthesized)
    tags = {key: value for key, value in (table.get("tags") or {}).items() if "${" not in value}
    assert verdict(lambda: create_table(deploy_role, applied, table["name"], tags)) == "allowed"
    dynamodb = deploy_role.client("dynamodb", endpoint_url=applied)
    assert verdict(lambda: dynamodb.describe_table(TableName=table["name"])) == "allowed"


def test_the_deploy_role_may_not_create_another_environments_table(applied, deploy_role):
    refused = verdict(lambda: create_table(deploy_role, applied, "items-prod-items", {"environment": "prod"}))
    assert refused.startswith(
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/deploy-items-dev/deploy is not authorized to perform:"
        f" dynamodb:CreateTable on resource: arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/items-prod-items"
    )


def test_finding_the_replica_refresh_describes_the_aws_managed_key_and_no_other(applied, deploy_role, plan_role):
    """Issue 18's first finding ("apply breaks"), through the emulator: the provider reads an
    aws_dynamodb_table_replica with kms:DescribeKey on alias/aws/dynamodb, whose key has no tags.
    Before the fix: "User: ...assumed-role/deploy-items-dev/deploy is not authorized to perform:
    kms:DescribeKey on resource: arn:aws:kms:eu-west-1:111111111111:key/... because no
    identity-based policy allows the kms:DescribeKey action". Now both roles may; another
    account's alias of the same shape is still refused (kms:RequestAlias names exactly it)."""
    for role in (deploy_role, plan_role):
        kms = role.client("kms", endpoint_url=applied)
        assert verdict(lambda kms=kms: kms.describe_key(KeyId="alias/aws/dynamodb")) == "allowed"
    kms = deploy_role.client("kms", endpoint_url=applied)
    refused = verdict(lambda: kms.describe_key(KeyId="alias/aws/s3"))
    assert refused.endswith("because no identity-based policy allows the kms:DescribeKey action"), refused


def test_finding_the_plan_role_lists_its_zones_records_and_no_other_zones(applied, plan_role):
    """Issue 18's second finding ("every plan breaks"), through the emulator: refreshing an
    aws_route53_record calls GetHostedZone, then ListResourceRecordSets. Before the fix the
    second was refused: "User: ...assumed-role/plan-items-dev/plan is not authorized to perform:
    route53:ListResourceRecordSets on resource: arn:aws:route53:::hostedzone/<id> because no
    identity-based policy allows the route53:ListResourceRecordSets action". Now both are
    allowed on the environment's zone, and refused on another zone of the account."""
    root = client(applied, "route53", ACCOUNT, REGION)
    zone_id = root.list_hosted_zones_by_name(DNSName=ZONE)["HostedZones"][0]["Id"].rsplit("/", 1)[-1]
    route53 = plan_role.client("route53", endpoint_url=applied)
    assert verdict(lambda: route53.get_hosted_zone(Id=zone_id)) == "allowed"
    assert verdict(lambda: route53.list_resource_record_sets(HostedZoneId=zone_id)) == "allowed"
    other = root.create_hosted_zone(Name="other.example.net", CallerReference="other")["HostedZone"]["Id"]
    other_id = other.rsplit("/", 1)[-1]
    refused = verdict(lambda: route53.list_resource_record_sets(HostedZoneId=other_id))
    assert refused == (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/plan-items-dev/plan is not authorized to perform:"
        f" route53:ListResourceRecordSets on resource: arn:aws:route53:::hostedzone/{other_id}"
        " because no identity-based policy allows the route53:ListResourceRecordSets action"
    )
