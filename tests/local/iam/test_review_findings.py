"""Issue 18's six review findings, evaluated against the deploy and plan roles' policies as the
bootstrap stack synthesizes them (the dev environment's roles, account 111111111111).

Each FINDINGS row holds the verdict the policies gave before the fix (the defect: a needed call
refused, or an escalation allowed) next to the verdict they give now, which the test asserts;
run against the bootstrap stack of the commit before the fix, every row fails
(docs/iam-evaluation.md, "The pipeline roles: findings and fixes")."""

from __future__ import annotations

import pytest

from local.iam import Policy, Principal, Request, Verdict, evaluate
from tests.local.iam.bootstrap_policies import managed_policy, principal, zone_id_of

ACCOUNT = "111111111111"
REGION = "eu-west-1"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ALLOW, IMPLICIT_DENY = Verdict.ALLOW, Verdict.IMPLICIT_DENY
ZONE = f"arn:aws:route53:::hostedzone/{zone_id_of('dev.example.com')}"
MANAGED_KEY_BY_ALIAS = {"kms:RequestAlias": "alias/aws/dynamodb", "kms:ResourceAliases": ["alias/aws/dynamodb"]}

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
def bootstrap(bootstrap_synthesized):
    return bootstrap_synthesized


def role_under_boundary(doc: dict) -> Principal:
    """An items-dev-* role as the deploy role may create it: the boundary, the managed policy."""
    return Principal(
        f"arn:aws:iam::{ACCOUNT}:role/items-dev-apigateway-logs",
        (Policy("AmazonAPIGatewayPushToCloudWatchLogs", PUSH_TO_CLOUDWATCH_LOGS),),
        managed_policy(doc, "boundary-items-dev"),
    )


# (finding, role, request, the verdict before the fix (the defect), the verdict now)
FINDINGS = [
    (
        "apply breaks: the replica refresh reads the AWS-managed key alias/aws/dynamodb, which has no tags",
        "deploy-items-dev",
        Request("kms:DescribeKey", KEY, MANAGED_KEY_BY_ALIAS),
        IMPLICIT_DENY,
        ALLOW,
    ),
    (
        "every plan breaks on replicas: the plan role's refresh reads alias/aws/dynamodb's key too",
        "plan-items-dev",
        Request("kms:DescribeKey", KEY, MANAGED_KEY_BY_ALIAS),
        IMPLICIT_DENY,
        ALLOW,
    ),
    (
        "every plan breaks: reading an aws_route53_record lists the zone's record sets",
        "plan-items-dev",
        Request("route53:ListResourceRecordSets", ZONE),
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
    ("finding", "role_name", "request_", "before_fix", "now"), FINDINGS, ids=[row[0][:40] for row in FINDINGS]
)
def test_finding_fixed(bootstrap, finding, role_name, request_, before_fix, now):
    decision = evaluate(principal(bootstrap, role_name, ACCOUNT), request_)
    assert decision.verdict is now, f"{finding}: {decision.reason} (before the fix: {before_fix.value})"


def test_finding_fixed_boundary_no_longer_grants_every_log_group(bootstrap):
    """Escalation: the boundary granted logs:GetLogEvents/FilterLogEvents on every log group in
    the account, so a role made within it read another team's logs. Before the fix: Allow; now
    an implicit deny by the boundary, while the environment's own log groups stay readable."""
    other_group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/payments-settle"
    other_execution_logs = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:API-Gateway-Execution-Logs_a1b2c3/v1"
    own_group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/apigateway/items-dev-access"
    role = role_under_boundary(bootstrap)
    for action, resource in (
        ("logs:GetLogEvents", f"{other_group}:log-stream:s"),
        ("logs:FilterLogEvents", other_group),
    ):
        decision = evaluate(role, Request(action, resource))
        assert decision.verdict is IMPLICIT_DENY and "boundary" in decision.reason, decision.reason
    assert evaluate(role, Request("logs:FilterLogEvents", other_execution_logs)).verdict is IMPLICIT_DENY
    assert evaluate(role, Request("logs:PutLogEvents", f"{other_group}:log-stream:s")).verdict is IMPLICIT_DENY
    assert evaluate(role, Request("logs:FilterLogEvents", own_group)).verdict is ALLOW
    assert evaluate(role, Request("logs:PutLogEvents", f"{other_execution_logs}:log-stream:s")).verdict is ALLOW


@pytest.mark.parametrize(
    ("role_name", "request_", "verdict"),
    [
        ("deploy-items-dev", Request("kms:DescribeKey", KEY, {"aws:ResourceTag/environment": "dev"}), ALLOW),
        ("deploy-items-dev", Request("kms:TagResource", KEY, {"aws:ResourceTag/team": "payments"}), IMPLICIT_DENY),
        # Tags sent with CreateKey are authorized as TagResource on the new key: no tags, no
        # aliases yet (KMS guide, "Managing KMS key tags with API operations").
        (
            "deploy-items-dev",
            Request("kms:TagResource", KEY, {"aws:RequestTag/environment": "dev", "aws:TagKeys": ["environment"]}),
            ALLOW,
        ),
        ("plan-items-dev", Request("route53:GetHostedZone", ZONE), ALLOW),
        # The zone grants name the environment's zone only.
        (
            "plan-items-dev",
            Request("route53:ListResourceRecordSets", "arn:aws:route53:::hostedzone/ZANOTHERTEAMSZONE"),
            IMPLICIT_DENY,
        ),
        (
            "deploy-items-dev",
            Request(
                "route53:ChangeResourceRecordSets",
                "arn:aws:route53:::hostedzone/ZANOTHERTEAMSZONE",
                {"route53:ChangeResourceRecordSetsNormalizedRecordNames": ["api.dev.example.com"]},
            ),
            IMPLICIT_DENY,
        ),
        # The alias condition admits the AWS-managed key only, by its reserved alias.
        ("plan-items-dev", Request("kms:DescribeKey", KEY, {"kms:RequestAlias": "alias/payments"}), IMPLICIT_DENY),
        # Tagging at creation goes through CreateKey's own request tags.
        (
            "deploy-items-dev",
            Request("kms:CreateKey", "*", {"aws:RequestTag/environment": "dev", "aws:TagKeys": ["environment"]}),
            ALLOW,
        ),
        (
            "deploy-items-dev",
            Request("kms:TagResource", KEY, {"aws:ResourceTag/environment": "dev", "aws:RequestTag/owner": "x"}),
            ALLOW,
        ),
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
