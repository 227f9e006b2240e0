"""make scan's checked-in lists and its policy extraction, without the scan environment
(.venv-scan): the lists carry a reason per entry and name real checks, every policy document of
every stack resolves to placeholders of the right shape, and the verdict counts stale entries."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from scan.lists import (
    CHECK_ID,
    MIN_REASON_CHARS,
    CheckovSkip,
    IamExclusion,
    ScanListError,
    load_checkov_skips,
    load_iam_exclusions,
)
from scan.policy_documents import PolicyScanError, policy_sources
from scan.policy_scan import CheckResult, Finding, judge

PROJECT_DIR = Path(__file__).resolve().parents[2]
ARN = re.compile(r"^arn:aws:[a-z0-9-]+:[a-z0-9-]*:(\d{12}|\*|)?:.+$")


def test_every_checkov_skip_has_a_reason_and_a_checkov_id():
    skips = load_checkov_skips()
    assert skips, "the scan needs its skip list"
    for skip in skips:
        assert CHECK_ID.match(skip.id), skip.id
        assert len(skip.reason) >= MIN_REASON_CHARS, skip.id
        assert all(r.startswith("aws_") and "." in r for r in skip.resources if r != "*"), skip.id


def test_every_iam_exclusion_has_a_reason():
    for exclusion in load_iam_exclusions():
        assert len(exclusion.reason) >= MIN_REASON_CHARS and exclusion.policies


@pytest.mark.parametrize(
    "entry, message",
    [
        ('id = "CKV_AWS_117"', "needs a reason"),
        ('id = "CKV_AWS_117"\nreason = "n/a"', "needs a reason"),
        (
            'id = "no VPC"\nreason = "' + "a reason long enough to pass the length rule, " * 2 + '"',
            "is not a checkov id",
        ),
        ('id = "CKV_AWS_117"\nreason = "' + "x" * 50 + '"\nresources = ["lambda"]', "must look like <aws type>"),
        ('id = "CKV_AWS_117"\nreason = "' + "x" * 50 + '"\nresource = ["aws_lambda_function.*"]', "unknown key"),
    ],
)
def test_a_malformed_skip_is_refused(tmp_path, entry, message):
    path = tmp_path / "skips.toml"
    path.write_text(f"[[skip]]\n{entry}\n")
    with pytest.raises(ScanListError, match=message):
        load_checkov_skips(path)


def test_an_exclusion_of_an_unknown_category_is_refused(tmp_path):
    path = tmp_path / "exclusions.toml"
    path.write_text(
        '[[exclude]]\ncategory = "Wildcards"\nfinding = "kms"\npolicies = ["*"]\nreason = "' + "x" * 50 + '"\n'
    )
    with pytest.raises(ScanListError, match="is not one of"):
        load_iam_exclusions(path)


def test_skips_are_scoped_by_resource_and_stack():
    skip = CheckovSkip(
        id="CKV_AWS_115", reason="x" * 50, resources=("aws_lambda_function.*_authorizer_*",), stacks=("backend-prod",)
    )
    assert skip.matches("backend-prod", "CKV_AWS_115", "aws_lambda_function.eu-west-1_api_authorizer_function_1")
    assert not skip.matches("backend-dev", "CKV_AWS_115", "aws_lambda_function.eu-west-1_api_authorizer_function_1")
    assert not skip.matches("backend-prod", "CKV_AWS_115", "aws_lambda_function.eu-west-1_api_get_item_function_1")
    assert not skip.matches("backend-prod", "CKV_AWS_116", "aws_lambda_function.eu-west-1_api_authorizer_function_1")


def test_the_verdict_needs_a_skip_per_failure_an_exclusion_per_finding_above_low_and_no_stale_entry():
    failed = CheckResult("backend-dev", "CKV_AWS_117", "aws_lambda_function.f", "failed")
    crashed = CheckResult("backend-dev", "CKV2_AWS_70", "aws_api_gateway_method.m", "error")
    wildcard = Finding("bootstrap", "bootstrap aws_iam_policy.p.policy", "ServiceWildcard", "medium", "iam")
    low = Finding(
        "backend-dev", "backend-dev aws_iam_role.r.assume_role_policy", "AssumableByComputeService", "low", "lambda"
    )
    vpc = CheckovSkip(id="CKV_AWS_117", reason="x" * 50)
    stale = CheckovSkip(id="CKV_AWS_50", reason="x" * 50)
    outcome = judge([failed, crashed], [wildcard, low], {}, [vpc, stale], [])
    assert outcome.skipped == [failed] and outcome.unskipped == [crashed], "a crashed check is not a pass"
    assert outcome.unexcluded == [wildcard], "low findings pass, medium ones need an exclusion"
    assert outcome.stale_skips == [stale] and not outcome.clean
    excluded = IamExclusion(category="ServiceWildcard", finding="iam", policies=("bootstrap *",), reason="x" * 50)
    crash_skip = CheckovSkip(id="CKV2_AWS_70", reason="x" * 50)
    assert judge([failed, crashed], [wildcard, low], {}, [vpc, crash_skip], [excluded]).clean


@pytest.mark.parametrize("env", ["dev", "staging", "prod", "local", "weighted", "nodomain"])
def test_every_policy_document_of_every_stack_resolves_to_arns_of_the_right_shape(env, synthesized):
    sources = policy_sources(f"backend-{env}", synthesized[env])
    kinds = {s.kind for s in sources}
    assert {"identity", "trust", "key"} <= kinds
    for source in sources:
        text = json.dumps(source.document)
        assert "${" not in text, source.label
        for statement in source.document["Statement"]:
            resources = statement.get("Resource", [])
            for arn in resources if isinstance(resources, list) else [resources]:
                assert arn == "*" and source.kind == "identity" or ARN.match(arn), (source.label, arn)
    key = next(s for s in sources if s.kind == "key")
    assert all(s["Resource"].startswith("arn:aws:kms:") for s in key.document["Statement"]), (
        "a key policy's * is the key"
    )


def test_references_become_the_arn_of_the_referenced_resource_in_its_region():
    doc = {
        "provider": {"aws": [{"alias": "eu_west_1", "region": "eu-west-1", "allowed_account_ids": ["111111111111"]}]},
        "resource": {
            "aws_cloudwatch_log_group": {"logs": {"provider": "aws.eu_west_1", "name": "/aws/lambda/items-dev-get"}},
            "aws_iam_role_policy": {
                "policy": {
                    "policy": json.dumps(
                        {
                            "Version": "2012-10-17",
                            "Statement": [
                                {
                                    "Effect": "Allow",
                                    "Action": "logs:PutLogEvents",
                                    "Resource": "${aws_cloudwatch_log_group.logs.arn}:*",
                                }
                            ],
                        }
                    )
                }
            },
        },
    }
    (source,) = policy_sources("backend-dev", doc)
    assert (
        source.document["Statement"][0]["Resource"]
        == "arn:aws:logs:eu-west-1:111111111111:log-group:/aws/lambda/items-dev-get:*"
    )


@pytest.mark.parametrize(
    "reference, message",
    [
        ("${aws_sqs_queue.q.arn}", "does not have"),
        ("${aws_cloudwatch_log_group.logs.retention_in_days}", "cannot resolve"),
        ("${jsonencode(local.x)}", "cannot resolve"),
    ],
)
def test_a_reference_the_scan_cannot_place_is_an_error_not_a_guess(reference, message):
    doc = {
        "resource": {
            "aws_cloudwatch_log_group": {"logs": {"name": "x"}},
            "aws_iam_role_policy": {
                "p": {
                    "policy": json.dumps(
                        {
                            "Version": "2012-10-17",
                            "Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": reference}],
                        }
                    )
                }
            },
        }
    }
    with pytest.raises(PolicyScanError, match=message):
        policy_sources("backend-dev", doc)


def test_ci_runs_the_scan_and_make_scan_synthesizes_into_a_scratch_folder():
    from scan.policy_scan import SCRATCH

    assert "\nmake scan\n" in (PROJECT_DIR / ".ci" / "run").read_text()
    assert (
        "\nscan: setup $(SCAN_VENV)/.installed\n\t$(PY) -m scan.policy_scan\n" in (PROJECT_DIR / "Makefile").read_text()
    )
    assert SCRATCH == PROJECT_DIR / "build" / "scan", "never cdktf.out/, which a user may be planning from"


def test_a_hosted_zone_looked_up_by_name_becomes_a_zone_id():
    """The bootstrap's roles read the environment's zone, found by name (data.aws_route53_zone)."""
    statement = {
        "Effect": "Allow",
        "Action": "route53:ListResourceRecordSets",
        "Resource": "arn:aws:route53:::hostedzone/${data.aws_route53_zone.zone.zone_id}",
    }
    doc = {
        "data": {"aws_route53_zone": {"zone": {"name": "dev.example.com"}}},
        "resource": {
            "aws_iam_policy": {"p": {"policy": json.dumps({"Version": "2012-10-17", "Statement": [statement]})}}
        },
    }
    (source,) = policy_sources("bootstrap", doc)
    assert source.document["Statement"][0]["Resource"] == "arn:aws:route53:::hostedzone/ZDEVEXAMPLECOM"
