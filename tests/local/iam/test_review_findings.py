"""Issue 18's six review findings, evaluated against the deploy and plan roles' policies as the
bootstrap stack synthesizes them today (the dev environment's roles, account 111111111111).

Each FINDINGS row asserts TODAY's verdict, which is the defect: a needed call refused, or an
escalation allowed. The policy fix must flip each row to its AFTER_FIX verdict (swap the two
columns in the same commit as the fix); until then a change of verdict here means the policies
changed without this table being updated."""

from __future__ import annotations

import pytest

from local.iam import Policy, Principal, Request, Verdict, evaluate
from tests.local.iam.bootstrap_policies import managed_policy, principal, synthesize_bootstrap

ACCOUNT = "111111111111"
REGION = "eu-west-1"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ALLOW, IMPLICIT_DENY = Verdict.ALLOW, Verdict.IMPLICIT_DENY

# AWS managed policy AmazonAPIGatewayPushToCloudWatchLogs (AWS Managed Policy Reference), the one
# managed policy the deploy role may attach to an items-* role (OnlyTheStacksManagedPolicies).
PUSH_TO_CLOUDWATCH_LOGS = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": [
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:DescribeLogGroups",
                "logs:DescribeLogStreams",
                "logs:PutLogEvents",
                "logs:GetLogEvents",
                "logs:FilterLogEvents",
            ],
            "Resource": "*",
        }
    ],
}


@pytest.fixture(scope="module")
def bootstrap(tmp_path_factory):
    return synthesize_bootstrap(tmp_path_factory.mktemp("cdktf.out"))


def role_under_boundary(doc: dict) -> Principal:
    """An items-dev-* role as the deploy role may create it: the boundary, the managed policy."""
    return Principal(
        f"arn:aws:iam::{ACCOUNT}:role/items-dev-apigateway-logs",
        (Policy("AmazonAPIGatewayPushToCloudWatchLogs", PUSH_TO_CLOUDWATCH_LOGS),),
        managed_policy(doc, "boundary-items-dev"),
    )


# (finding, role, request, TODAY's verdict (the defect), AFTER_FIX verdict)
FINDINGS = [
    (
        "apply breaks: the replica refresh reads the AWS-managed key alias/aws/dynamodb, which has no tags",
        "deploy-items-dev",
        Request(
            "kms:DescribeKey",
            KEY,
            {"kms:RequestAlias": "alias/aws/dynamodb", "kms:ResourceAliases": ["alias/aws/dynamodb"]},
        ),
        IMPLICIT_DENY,
        ALLOW,
    ),
    (
        "every plan breaks: reading an aws_route53_record lists the zone's record sets",
        "plan-items-dev",
        Request("route53:ListResourceRecordSets", "arn:aws:route53:::hostedzone/Z0123456789ABC"),
        IMPLICIT_DENY,
        ALLOW,
    ),
    (
        "escalation: kms:TagResource checks only the request's tag, so any key can be tagged environment=dev",
        "deploy-items-dev",
        Request(
            "kms:TagResource",
            KEY,
            {
                "aws:RequestTag/environment": "dev",
                "aws:TagKeys": ["environment"],
                "aws:ResourceTag/team": "payments",
                "kms:ResourceAliases": ["alias/payments"],
            },
        ),
        ALLOW,
        IMPLICIT_DENY,
    ),
    (
        "escalation: ForAllValues over the absent acm:DomainNames tags any certificate",
        "deploy-items-dev",
        Request(
            "acm:AddTagsToCertificate",
            f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/another-teams-certificate",
            {"aws:RequestTag/environment": "dev", "aws:TagKeys": ["environment"], "aws:ResourceTag/team": "payments"},
        ),
        ALLOW,
        IMPLICIT_DENY,
    ),
    (
        "escalation: iam:UpdateAssumeRolePolicy makes an items-* role assumable from outside the account",
        "deploy-items-dev",
        Request("iam:UpdateAssumeRolePolicy", f"arn:aws:iam::{ACCOUNT}:role/items-dev-create-item"),
        ALLOW,
        IMPLICIT_DENY,
    ),
]


@pytest.mark.parametrize(
    ("finding", "role_name", "request_", "today", "after_fix"), FINDINGS, ids=[row[0][:40] for row in FINDINGS]
)
def test_finding_today(bootstrap, finding, role_name, request_, today, after_fix):
    decision = evaluate(principal(bootstrap, role_name, ACCOUNT), request_)
    assert decision.verdict is today, f"{finding}: {decision.reason} (the fix should give {after_fix.value})"


def test_finding_today_boundary_grants_every_log_group(bootstrap):
    """Escalation: the boundary grants logs:GetLogEvents/FilterLogEvents on every log group in
    the account, so a role made within it reads another team's logs. TODAY: Allow; AFTER_FIX:
    implicit deny by the boundary."""
    other_group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/payments-settle:log-stream:2026/12/05"
    for action in ("logs:GetLogEvents", "logs:FilterLogEvents"):
        decision = evaluate(role_under_boundary(bootstrap), Request(action, other_group))
        assert decision.verdict is ALLOW, decision.reason


@pytest.mark.parametrize(
    ("role_name", "request_", "verdict"),
    [
        ("deploy-items-dev", Request("kms:DescribeKey", KEY, {"aws:ResourceTag/environment": "dev"}), ALLOW),
        ("deploy-items-dev", Request("kms:TagResource", KEY, {"aws:ResourceTag/team": "payments"}), IMPLICIT_DENY),
        ("plan-items-dev", Request("route53:GetHostedZone", "arn:aws:route53:::hostedzone/Z0123456789ABC"), ALLOW),
        (
            "plan-items-dev",
            Request("iam:UpdateAssumeRolePolicy", f"arn:aws:iam::{ACCOUNT}:role/items-dev-x"),
            Verdict.IMPLICIT_DENY,
        ),
        (
            "deploy-items-dev",
            Request("iam:DeleteRolePermissionsBoundary", f"arn:aws:iam::{ACCOUNT}:role/items-dev-x"),
            Verdict.EXPLICIT_DENY,
        ),
    ],
)
def test_the_roles_as_loaded_decide_ordinary_calls(bootstrap, role_name, request_, verdict):
    # Controls: the loaded policies allow what they plainly grant and refuse the rest, so the
    # verdicts above come from the policies, not from a loader that lost them.
    assert evaluate(principal(bootstrap, role_name, ACCOUNT), request_).verdict is verdict
