"""What a first apply to a real account needs from the synthesized stacks (issue 9): no shared
validation record, reservations that fit, API Gateway's account setting owned once and set
after its role can be used, a managed execution log group, alarms that page for the right
reasons, Lambda's log level, key policies scoped against the confused deputy, and data that
Terraform refuses to destroy by accident."""

from __future__ import annotations

import json
import re

import pytest

from modules.config.limits import HEALTH_RESERVED_CONCURRENCY
from modules.naming import provider_alias
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
        if route_id == "authorizer":
            # Unreserved: it draws from the pool the checks keep at >= 100 per region.
            assert "reserved_concurrent_executions" not in function, logical_id
            continue
        expected = HEALTH_RESERVED_CONCURRENCY if route_id == "health" else config.lambda_.reserved_concurrency
        assert function.get("reserved_concurrent_executions") == expected, logical_id


def test_prod_reserves_what_its_account_allows(all_configs, synthesized):
    config = all_configs["prod"]
    per_region = by_region(synthesized["prod"], "aws_lambda_function", config.regions)
    for region in config.regions:
        reserved = sum(body.get("reserved_concurrent_executions", 0) for _, body in per_region[region])
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
        ((stage_id, stage),) = [
            (k, s) for k, s in resources(doc, "aws_api_gateway_stage").items() if path_of(k)[0] == region
        ]
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
        assert (
            group["name"]
            == f"API-Gateway-Execution-Logs_${{aws_api_gateway_rest_api.{rest_api_id}.id}}/{config.api.stage}"
        )
        assert group["retention_in_days"] == config.lambda_.log_retention_days
        (key_id,) = [k for k in resources(doc, "aws_kms_key") if path_of(k)[0] == region]
        assert group["kms_key_id"] == f"${{aws_kms_key.{key_id}.arn}}"
        (stage,) = [s for k, s in stages.items() if path_of(k)[0] == region]
        assert f"aws_cloudwatch_log_group.{logical_id}" in stage["depends_on"]


# --- item 6: alarms -----------------------------------------------------------------------


def alarms_by_metric(doc: dict) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for alarm in resources(doc, "aws_cloudwatch_metric_alarm").values():
        found.setdefault(alarm["metric_name"], []).append(alarm)
    return found


def test_health_alarms_stay_quiet_on_a_fresh_deploy_and_report_a_check_that_stops(env):
    """A new alarm starts in INSUFFICIENT_DATA, and actions run only on a change of state:
    with missing data kept missing, a fresh deploy stays there until the first datapoints
    (no page), while a check that stops reporting moves the alarm from OK to
    INSUFFICIENT_DATA, which insufficient_data_actions report."""
    config, doc = env
    health = alarms_by_metric(doc)["HealthCheckStatus"]
    assert len(health) == len(config.regions)
    for alarm in health:
        assert alarm["treat_missing_data"] == "missing"
        assert alarm["insufficient_data_actions"] == alarm["alarm_actions"] != []


def test_every_region_has_the_alarms_a_service_owner_expects(env):
    config, doc = env
    metrics = alarms_by_metric(doc)
    regions = len(config.regions)
    # the authorizer's errors, throttles and duration are alarmed like the routes' functions
    functions = (len(ROUTES) + (0 if config.auth.public else 1)) * regions
    operations = len({action for route in ROUTES for action in route.actions} - {"dynamodb:DescribeTable"})
    assert len(metrics["Latency"]) == regions
    assert len(metrics["Throttles"]) == functions
    assert len(metrics["Duration"]) == functions
    assert len(metrics["ThrottledRequests"]) == operations * regions
    assert len(metrics["SystemErrors"]) == operations * regions
    for alarm in metrics["Latency"]:
        assert alarm["extended_statistic"] == "p99" and "statistic" not in alarm
        assert alarm["threshold"] == config.alarms.api_p99_latency_ms
        assert alarm["evaluate_low_sample_count_percentiles"] == "ignore"
    for alarm in metrics["Duration"]:
        assert alarm["statistic"] == "Maximum"
        assert alarm["threshold"] == 0.8 * config.lambda_.timeout * 1000
    for alarm in metrics["ThrottledRequests"] + metrics["SystemErrors"]:
        assert set(alarm["dimensions"]) == {"TableName", "Operation"}
        assert alarm["dimensions"]["Operation"] in {"PutItem", "GetItem", "DeleteItem"}
    for alarm in resources(doc, "aws_cloudwatch_metric_alarm").values():
        if "-api-requests-" in alarm["alarm_name"] or "-authorizer-outage-" in alarm["alarm_name"]:
            # states Route53 reads (traffic above the floor; the authorizer failing nearly every
            # call), not news for anyone: the authorizer's errors alarm pages
            assert "alarm_actions" not in alarm and "ok_actions" not in alarm
            continue
        assert alarm["alarm_actions"] and alarm["alarm_actions"][0].startswith("${aws_sns_topic.")


def test_regional_alarms_expose_the_api_5xx_alarm(app, all_configs):
    """The active-active work ties a calculated health check to it."""
    stack = app.node.find_child(all_configs["dev"].stack_name)
    for region in all_configs["dev"].regions:
        alarm = stack.regional_alarms[region].api_5xx
        assert alarm.terraform_resource_type == "aws_cloudwatch_metric_alarm"
        assert alarm.metric_name_input == "5XXError" and alarm.namespace_input == "AWS/ApiGateway"


# --- item 7: Lambda's log level ---------------------------------------------------------------


def test_functions_log_at_the_environment_level_in_json(env):
    config, doc = env
    for function in resources(doc, "aws_lambda_function").values():
        assert function["logging_config"]["log_format"] == "JSON"
        assert function["logging_config"]["application_log_level"] == config.lambda_.log_level


def test_dev_logs_debug_and_prod_info(all_configs):
    assert all_configs["dev"].lambda_.log_level == "DEBUG"
    assert all_configs["prod"].lambda_.log_level == "INFO"


# --- item 8: key policies ---------------------------------------------------------------------


def key_statements(doc: dict) -> dict[str, dict[str, dict]]:
    """region -> Sid -> statement."""
    keys = {}
    for logical_id, key in resources(doc, "aws_kms_key").items():
        keys[path_of(logical_id)[0]] = {s["Sid"]: s for s in json.loads(key["policy"])["Statement"]}
    return keys


def test_service_principals_are_scoped_to_this_account_and_its_resources(env):
    config, doc = env
    account = "${data.aws_caller_identity.account.account_id}"
    prefix = f"{config.project}-{config.environment}"
    for region, statements in key_statements(doc).items():
        service = [s for s in statements.values() if "Service" in s["Principal"]]
        assert {s["Sid"] for s in service} == {"CloudWatchLogsEncrypts", "CloudWatchAlarmsPublishToEncryptedTopics"}
        logs = statements["CloudWatchLogsEncrypts"]
        assert logs["Condition"] == {
            "ArnLike": {
                "kms:EncryptionContext:aws:logs:arn": [
                    f"arn:aws:logs:{region}:{account}:log-group:/aws/lambda/{prefix}-*",
                    f"arn:aws:logs:{region}:{account}:log-group:/aws/apigateway/{prefix}-*",
                    f"arn:aws:logs:{region}:{account}:log-group:API-Gateway-Execution-Logs_*",
                    f"arn:aws:logs:{region}:{account}:log-group:aws-waf-logs-{prefix}-*",
                ]
            }
        }
        alarms = statements["CloudWatchAlarmsPublishToEncryptedTopics"]
        assert alarms["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
        assert alarms["Condition"] == {
            "StringEquals": {"aws:SourceAccount": account},
            "ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:{region}:{account}:alarm:{prefix}-*"},
            "StringLike": {"kms:EncryptionContext:aws:sns:topicArn": f"arn:aws:sns:{region}:{account}:{prefix}-*"},
        }


def test_every_alarm_and_topic_matches_its_key_policy(env):
    """The patterns above must match what the stack names: a mismatch stops alarms from
    publishing and logs from being written, only on a real account."""
    config, doc = env
    prefix = f"{config.project}-{config.environment}-"
    for alarm in resources(doc, "aws_cloudwatch_metric_alarm").values():
        assert alarm["alarm_name"].startswith(prefix)
    for topic in resources(doc, "aws_sns_topic").values():
        assert topic["name"].startswith(prefix)
    patterns = (
        rf"/aws/lambda/{prefix}",
        rf"/aws/apigateway/{prefix}",
        r"API-Gateway-Execution-Logs_",
        rf"aws-waf-logs-{prefix}",
    )
    for group in resources(doc, "aws_cloudwatch_log_group").values():
        assert any(re.match(pattern, group["name"]) for pattern in patterns), group["name"]


# --- item 10: data that is not destroyed by accident ------------------------------------------


def protected(body: dict) -> bool:
    return body.get("lifecycle", {}).get("prevent_destroy") is True


def test_table_replicas_and_keys_refuse_destroy_where_deletion_protection_is_on(env):
    config, doc = env
    on = config.table.deletion_protection
    for rtype in ("aws_dynamodb_table", "aws_dynamodb_table_replica", "aws_kms_key"):
        for logical_id, body in resources(doc, rtype).items():
            assert protected(body) is on, f"{rtype}.{logical_id}"
    assert on is (config.environment == "prod")


def test_moving_the_primary_region_is_refused_where_deletion_protection_is_on(env):
    """Moving the primary rebinds ``aws_dynamodb_table`` to another provider at the same
    address: Terraform then reads it in the new region, where it finds the replica (or
    nothing, and plans a new table), and destroys that region's replica; ``prevent_destroy``
    on the table never fires. The guard records the primary region and must be replaced
    when it changes, which ``prevent_destroy`` refuses."""
    config, doc = env
    guards = resources(doc, "terraform_data")
    (guard,) = guards.values()
    assert guard["input"] == guard["triggers_replace"] == {"primary_region": config.primary_region}
    assert protected(guard) is config.table.deletion_protection
    table = next(iter(resources(doc, "aws_dynamodb_table").values()))
    assert table["provider"] == f"aws.{provider_alias(config.primary_region)}"
