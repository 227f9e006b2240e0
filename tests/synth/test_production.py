"""What a first apply to a real account needs from the synthesized stacks (issue 9): no shared
validation record, reservations that fit, API Gateway's account setting owned once and set
after its role can be used, a managed execution log group, alarms that page for the right
reasons, Lambda's log level, key policies scoped against the confused deputy, and data that
Terraform refuses to destroy by accident."""

from __future__ import annotations

import pytest

from modules.config import HEALTH_RESERVED_CONCURRENCY
from modules.routes import ROUTES
from tests.synth.test_stack import ENVIRONMENTS, path_of, resources

ITEM_ROUTES = [route.id for route in ROUTES if route.id != "health"]


@pytest.fixture(params=[*ENVIRONMENTS, "local"])
def env(request, synthesized, all_configs):
    return all_configs[request.param], synthesized[request.param]


def region_of(logical_id: str, regions) -> str | None:
    return next((part for part in path_of(logical_id) if part in regions), None)


def by_region(doc: dict, rtype: str, regions) -> dict[str, list[tuple[str, dict]]]:
    found: dict[str, list[tuple[str, dict]]] = {}
    for logical_id, body in resources(doc, rtype).items():
        found.setdefault(region_of(logical_id, regions), []).append((logical_id, body))
    return found


# --- item 1: no record shared with another stack ------------------------------------------


def test_the_validation_record_is_never_taken_over(env):
    _, doc = env
    for record in resources(doc, "aws_route53_record").values():
        assert "allow_overwrite" not in record


# --- item 2: reservations ---------------------------------------------------------------------


def test_only_item_functions_take_the_configured_reservation_and_health_a_fixed_one(env):
    config, doc = env
    for logical_id, function in resources(doc, "aws_lambda_function").items():
        route_id = path_of(logical_id)[2]
        expected = HEALTH_RESERVED_CONCURRENCY if route_id == "health" else config.lambda_.reserved_concurrency
        assert function.get("reserved_concurrent_executions") == expected, logical_id


def test_prod_reserves_what_its_account_allows(all_configs, synthesized):
    config = all_configs["prod"]
    per_region = by_region(synthesized["prod"], "aws_lambda_function", config.regions)
    for region in config.regions:
        reserved = sum(body["reserved_concurrent_executions"] for _, body in per_region[region])
        assert reserved == 3 * 200 + HEALTH_RESERVED_CONCURRENCY
        assert config.lambda_.account_concurrency - reserved >= 100


# --- item 3: API Gateway's account setting ------------------------------------------------


def test_account_setting_waits_for_its_role_policy_and_the_stage_for_the_setting(env):
    config, doc = env
    accounts = resources(doc, "aws_api_gateway_account")
    if not config.api.manage_account_settings:
        assert accounts == {}
        assert not [r for r in resources(doc, "aws_iam_role").values() if "apigw-logs" in r["name"]]
        return
    attachments = resources(doc, "aws_iam_role_policy_attachment")
    assert len(accounts) == len(config.regions)
    for logical_id, account in accounts.items():
        region = path_of(logical_id)[0]
        (attachment_id,) = [key for key in attachments if path_of(key)[0] == region]
        assert f"aws_iam_role_policy_attachment.{attachment_id}" in account["depends_on"]
        (stage_id, stage), = [(k, s) for k, s in resources(doc, "aws_api_gateway_stage").items() if path_of(k)[0] == region]
        assert f"aws_api_gateway_account.{logical_id}" in stage["depends_on"]


def test_an_environment_can_leave_the_account_setting_to_another(all_configs):
    assert all_configs["nodomain"].api.manage_account_settings is False
    assert all(all_configs[name].api.manage_account_settings for name in ("dev", "staging", "prod"))


# --- item 4: the execution log group ----------------------------------------------------------


def test_execution_log_group_is_managed_before_the_stage_logs_into_it(env):
    config, doc = env
    groups = {k: g for k, g in resources(doc, "aws_cloudwatch_log_group").items() if "Execution-Logs" in g["name"]}
    assert len(groups) == len(config.regions)
    stages = resources(doc, "aws_api_gateway_stage")
    for logical_id, group in groups.items():
        region = path_of(logical_id)[0]
        (rest_api_id,) = [k for k in resources(doc, "aws_api_gateway_rest_api") if path_of(k)[0] == region]
        assert group["name"] == f"API-Gateway-Execution-Logs_${{aws_api_gateway_rest_api.{rest_api_id}.id}}/{config.api.stage}"
        assert group["retention_in_days"] == config.lambda_.log_retention_days
        (key_id,) = [k for k in resources(doc, "aws_kms_key") if path_of(k)[0] == region]
        assert group["kms_key_id"] == f"${{aws_kms_key.{key_id}.arn}}"
        (stage,) = [s for k, s in stages.items() if path_of(k)[0] == region]
        assert f"aws_cloudwatch_log_group.{logical_id}" in stage["depends_on"]


# --- item 7: Lambda's log level ---------------------------------------------------------------


def test_functions_log_at_the_environment_level_in_json(env):
    config, doc = env
    for function in resources(doc, "aws_lambda_function").values():
        assert function["logging_config"]["log_format"] == "JSON"
        assert function["logging_config"]["application_log_level"] == config.lambda_.log_level


def test_dev_logs_debug_and_prod_info(all_configs):
    assert all_configs["dev"].lambda_.log_level == "DEBUG"
    assert all_configs["prod"].lambda_.log_level == "INFO"
