"""Issue 18 item 5: what each role of the local deployment is granted and never used in a run
(ops/iam_report.py), on a list with the reason for each. Keyed by the role's kind (its name
without the environment's prefix and the region), then an action pattern -> why it stays."""

from __future__ import annotations

import fnmatch
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ops.iam_report import RoleReport


def _each(reason: str, *patterns: str) -> dict[str, str]:
    return dict.fromkeys(patterns, reason)


def _reads(*services_verbs: str) -> tuple[str, ...]:
    """``"lambda:Get,List"`` -> ``lambda:Get*``, ``lambda:List*``."""
    return tuple(f"{sv.split(':')[0]}:{verb}*" for sv in services_verbs for verb in sv.split(":")[1].split(","))


READ_PREFIXES = (
    "the read prefixes (Describe*/Get*/List*) of the plan and deploy roles, on the stack's ARNs (tag-scoped "
    "where ids are generated): the refresh uses a few of each service, the rest are configuration reads, never "
    "item data; listing only the calls made would trade a readable policy for nothing it protects"
)
PLAN_FIRST = (
    "the plan role plans only the first deploy of this run, with nothing in the state to refresh (it reads only "
    "the zone); every later plan refreshes each resource with these reads, as the deploy role's second plan here does"
)
TAGS_ON_CREATE = (
    "AWS also checks the service's tagging permission when a create call carries tags (each service's API "
    "reference for its create call), and the provider passes every resource's tags on create; the emulator "
    "evaluates the create action alone, so a run cannot show it"
)
UPDATES = (
    "called only when a resource changes in place (an update, a tag removed, a rotation switched off); this run "
    "creates, plans again (empty) and destroys"
)
KEY_THROUGH_SERVICES = (
    "used by DynamoDB and Lambda with the stack's key on the caller's behalf (kms:ViaService: tables, replicas, "
    "grants, function environments, as DynamoDB's encryption-at-rest guide lists them); the emulator's services "
    "never call KMS"
)
REPLICA_BACKFILL = (
    "DynamoDB checks these on the caller when it creates or removes a global table replica (version 2019.11.21) "
    "and backfills it; the emulator creates replicas without those checks (UpdateItem: also the sentinel's update)"
)
SERVICE_LINKED = (
    "DynamoDB creates AWSServiceRoleForDynamoDBReplication as the caller on an account's first replica; the "
    "emulator has no service-linked roles"
)
FUNCTION_LOGS = (
    "Lambda writes the function's logs to CloudWatch Logs with the role; the local runtime writes them to the "
    "gateway's log files"
)
TRACING = "Lambda sends trace segments with the role when tracing is active; the local gateway does not trace"
FUNCTION_KEY = (
    "Lambda decrypts the function's environment with the key at start (EnvironmentKey), DynamoDB uses the "
    "table's key on the function's behalf (TableKey, kms:ViaService); locally the environment is plain and the "
    "emulator's DynamoDB never calls KMS"
)
FUNCTION = {
    **_each(FUNCTION_LOGS, "logs:CreateLogStream", "logs:PutLogEvents"),
    **_each(TRACING, "xray:PutTraceSegments", "xray:PutTelemetryRecords"),
    **_each(FUNCTION_KEY, "kms:Decrypt"),
}
TABLE_KEY = _each(FUNCTION_KEY, "kms:DescribeKey")
WRITE_KEY = _each(FUNCTION_KEY, "kms:Encrypt", "kms:GenerateDataKey")

NEVER_USED: dict[str, dict[str, str]] = {
    "deploy": {
        **_each(
            READ_PREFIXES,
            *_reads("acm:Describe,Get,List", "cloudwatch:Describe", "dynamodb:Describe,List", "kms:Describe,Get,List"),
            *_reads("lambda:Get,List", "logs:Describe,List", "route53:Get,List", "sns:Get,List"),
        ),
        "dynamodb:GetResourcePolicy": "no read of aws_dynamodb_table or its replica calls it (the stack has no "
        "aws_dynamodb_resource_policy); granted with the read prefixes: a removal candidate",
        "iam:ListRoleTags": "the provider's tag listing for roles (internal/service/iam/tags.go, ListTags) calls "
        "it; no read in this run did (GetRole returns the tags): a removal candidate once no path is shown to need it",
        **_each(
            TAGS_ON_CREATE,
            "cloudwatch:TagResource",
            "iam:TagRole",
            "kms:TagResource",
            "lambda:TagResource",
            "logs:TagResource",
            "sns:TagResource",
        ),
        **_each(
            UPDATES,
            "acm:AddTagsToCertificate",
            "acm:RemoveTagsFromCertificate",
            "cloudwatch:UntagResource",
            "dynamodb:UntagResource",
            "iam:PutRolePermissionsBoundary",
            "iam:UntagRole",
            "iam:UpdateRole",
            "iam:UpdateRoleDescription",
            "kms:DisableKeyRotation",
            "kms:PutKeyPolicy",
            "kms:UntagResource",
            "kms:UpdateAlias",
            "kms:UpdateKeyDescription",
            "lambda:DeleteFunctionConcurrency",
            "lambda:UntagResource",
            "lambda:UpdateFunctionCode",
            "lambda:UpdateFunctionConfiguration",
            "logs:AssociateKmsKey",
            "logs:DeleteRetentionPolicy",
            "logs:DisassociateKmsKey",
            "logs:UntagResource",
            "route53:UpdateHealthCheck",
            "sns:UntagResource",
        ),
        **_each(
            KEY_THROUGH_SERVICES,
            "kms:CreateGrant",
            "kms:Decrypt",
            "kms:Encrypt",
            "kms:GenerateDataKey*",
            "kms:ReEncrypt*",
        ),
        **_each(
            REPLICA_BACKFILL,
            "dynamodb:BatchWriteItem",
            "dynamodb:CreateTableReplica",
            "dynamodb:DeleteTableReplica",
            "dynamodb:Query",
            "dynamodb:Scan",
            "dynamodb:UpdateItem",
        ),
        "iam:CreateServiceLinkedRole": SERVICE_LINKED,
    },
    "plan": {
        **_each(
            PLAN_FIRST,
            *_reads("acm:Describe,Get,List", "cloudwatch:Describe,List", "dynamodb:Describe,List", "iam:Get,List"),
            *_reads("kms:Describe,Get,List", "lambda:Get,List", "logs:Describe,List", "route53:Get,List"),
            *_reads("sns:Get,List"),
            "apigateway:GET",
            "dynamodb:GetItem",
            "dynamodb:GetResourcePolicy",
            "kms:Decrypt",
        )
    },
    "create-item": {
        **FUNCTION,
        **TABLE_KEY,
        **WRITE_KEY,
        "dynamodb:GetItem": "the handler reads the item back only when a put's answer was lost "
        "(functions/_store.py, _confirm), which no run on loopback provokes",
    },
    "delete-item": {**FUNCTION, **TABLE_KEY, **WRITE_KEY},
    "get-item": {**FUNCTION, **TABLE_KEY},
    "health": {**FUNCTION, **TABLE_KEY},
    "authorizer": FUNCTION,
    "apigw-logs": _each(
        "assumed by API Gateway to write execution logs to CloudWatch Logs (AmazonAPIGatewayPushToCloudWatchLogs, "
        "within the boundary); the local gateway writes its access log to a file and never assumes the role",
        "logs:*",
    ),
}

_REGION = re.compile(r"-[a-z]{2}(?:-gov)?-[a-z]+-\d$")


def role_kind(name: str, prefix: str = "items-local") -> str:
    """``items-local-get-item-eu-west-1`` -> ``get-item``; ``deploy-items-local`` -> ``deploy``."""
    name = _REGION.sub("", name)
    return name.removeprefix(f"{prefix}-").removesuffix(f"-{prefix}")


def _matches(action: str, pattern: str) -> bool:
    return fnmatch.fnmatchcase(action.lower(), pattern.lower())


def unlisted_and_stale(reports: list[RoleReport]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Per role kind: the never-used actions no entry lists, and the entries nothing matches."""
    never: dict[str, set[str]] = {}
    for report in reports:
        never.setdefault(role_kind(report.role), set()).update(report.never_used)
    unlisted = {
        kind: sorted(a for a in actions if not any(_matches(a, p) for p in NEVER_USED.get(kind, {})))
        for kind, actions in never.items()
    }
    stale = {
        kind: [p for p in entries if not any(_matches(a, p) for a in never.get(kind, ()))]
        for kind, entries in NEVER_USED.items()
    }
    return {k: v for k, v in unlisted.items() if v}, {k: v for k, v in stale.items() if v}
