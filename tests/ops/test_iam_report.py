"""make iam-report (ops/iam_report.py) on a recorded run: ``data/iam-decisions.log`` is the
emulator's decision log of one `make deploy` as the pipeline's roles with its smoke checks
(cut to one line per role, action and verdict, the eu-west-1 roles), ``data/iam-grants.json``
the policies of the same deployment's roles as the emulator's IAM held them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ops import iam_report
from ops.iam_report import RoleGrants, RoleReport
from tests.local.iam import never_used

DATA = Path(__file__).parent / "data"
LOG = (DATA / "iam-decisions.log").read_text().splitlines()
GRANTS = [
    RoleGrants(g["name"], tuple(g["policies"]), g["boundary"])
    for g in json.loads((DATA / "iam-grants.json").read_text())
]


@pytest.fixture(scope="module")
def reports() -> dict[str, RoleReport]:
    return {r.role: r for r in iam_report.report(LOG, GRANTS)}


def test_the_log_gives_each_roles_allowed_and_refused_actions():
    seen = iam_report.usage([*LOG, "2026-12-05 04:15:15,459 INFO werkzeug 127.0.0.1 - POST / 200"])
    assert seen["plan-items-local"] == (
        {"route53:ListHostedZones", "route53:GetHostedZone", "route53:ListTagsForResource"},
        {"iam:GetUser"},  # the provider's account lookup, refused, then sts:GetCallerIdentity
    )
    used, refused = seen["deploy-items-local"]
    assert len(used) == 59 and {"dynamodb:CreateTable", "iam:PassRole", "apigateway:POST"} <= used
    assert refused == {"iam:GetUser"}
    assert seen["items-local-health-eu-west-1"] == ({"dynamodb:GetItem"}, set())
    assert "items-local-authorizer-eu-west-1" not in seen  # the authorizer calls nothing of AWS


def test_granted_expands_wildcards_over_the_reference_and_stays_within_the_boundary():
    role = RoleGrants(
        "r",
        ({"Statement": [{"Effect": "Allow", "Action": ["dynamodb:Get*", "dynamodb:Scan"], "Resource": "*"}]},),
        {
            "Statement": [
                {"Effect": "Allow", "Action": ["dynamodb:*Item", "dynamodb:GetResourcePolicy"], "Resource": "*"}
            ]
        },
    )
    assert iam_report.granted(role) == {"dynamodb:GetItem", "dynamodb:GetResourcePolicy"}
    denied_only = RoleGrants("d", ({"Statement": {"Effect": "Deny", "Action": "dynamodb:*", "Resource": "*"}},))
    assert iam_report.granted(denied_only) == frozenset()


def test_never_used_is_what_is_granted_less_what_the_run_used(reports):
    get_item = reports["items-local-get-item-eu-west-1"]
    assert get_item.used == {"dynamodb:GetItem"}
    assert get_item.never_used == [
        "kms:Decrypt",
        "kms:DescribeKey",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "xray:PutTelemetryRecords",
        "xray:PutTraceSegments",
    ]
    plan = reports["plan-items-local"]
    assert {"lambda:GetFunction", "lambda:GetAlias", "kms:GetKeyPolicy"} <= set(plan.never_used)
    # The sentinel's refresh reads one item; no other item data, no writes.
    assert "dynamodb:GetItem" in plan.granted and not {"dynamodb:Scan", "dynamodb:PutItem"} & plan.granted
    assert plan.never_used == sorted(plan.granted - plan.used)


def test_the_text_puts_the_counts_first_one_section_per_role(reports):
    text = iam_report.render_text(list(reports.values()), [".emulator/iam-decisions.log"])
    sections = text.split("\n\n")
    assert sections[0] == f"IAM report: {len(GRANTS)} roles; used = the decision log (.emulator/iam-decisions.log)"
    health = next(s for s in sections if s.startswith("items-local-health-eu-west-1:"))
    assert health.splitlines() == [
        "items-local-health-eu-west-1: 7 granted, 1 used, 6 granted but never used, 0 refused",
        "  used:",
        "    dynamodb:GetItem",
        "  never used:",
        *(f"    {a}" for a in reports["items-local-health-eu-west-1"].never_used),
    ]


def test_json_gives_the_same_for_machines(reports):
    plan = reports["plan-items-local"].as_json()
    assert plan["role"] == "plan-items-local"
    assert plan["granted"] == len(reports["plan-items-local"].granted)
    assert plan["refused"] == ["iam:GetUser"]
    assert len(plan["used"]) + len(plan["never_used"]) == plan["granted"]


def test_without_a_running_deployment_it_says_so(tmp_path, capsys):
    assert iam_report.main(["--state-dir", str(tmp_path)]) == 1
    assert "make deploy first" in capsys.readouterr().out


def test_the_list_names_unlisted_never_used_actions_and_stale_entries(reports, monkeypatch):
    monkeypatch.setattr(
        never_used,
        "NEVER_USED",
        {"get-item": {"xray:*": "tracing", "logs:*LogEvents": "logs", "dynamodb:GetItem": "used: stale"}},
    )
    unlisted, stale = never_used.unlisted_and_stale([reports["items-local-get-item-eu-west-1"]])
    assert unlisted == {"get-item": ["kms:Decrypt", "kms:DescribeKey", "logs:CreateLogStream"]}
    assert stale == {"get-item": ["dynamodb:GetItem"]}


@pytest.mark.parametrize(
    "name, kind",
    [
        ("items-local-get-item-eu-west-1", "get-item"),
        ("items-local-apigw-logs-eu-central-1", "apigw-logs"),
        ("deploy-items-local", "deploy"),
        ("plan-items-local", "plan"),
    ],
)
def test_role_kind(name, kind):
    assert never_used.role_kind(name) == kind
