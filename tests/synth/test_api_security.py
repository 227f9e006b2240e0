"""Synth assertions for who may call the API: the JWT authorizer on the item routes (not
/health), the request validator and model, CORS preflights and gateway responses, WAF."""

from __future__ import annotations

import json
import re

import pytest

from functions.schema import MAX_BODY_BYTES
from modules.api_contract import ITEM_MODEL_SCHEMA, route_scopes
from modules.constructs.regional_waf import CONTENT_LENGTH_OVER_LIMIT

ENVIRONMENTS = ["dev", "staging", "prod", "local", "weighted", "nodomain"]


def resources(doc: dict, rtype: str) -> dict[str, dict]:
    return doc.get("resource", {}).get(rtype, {})


@pytest.fixture(params=ENVIRONMENTS)
def env(request, synthesized, all_configs):
    return all_configs[request.param], synthesized[request.param]


def test_item_routes_use_the_regions_authorizer_and_health_stays_open(env):
    config, doc = env
    authorizers = resources(doc, "aws_api_gateway_authorizer")
    assert len(authorizers) == (0 if config.auth.public else len(config.regions))
    for logical_id, method in resources(doc, "aws_api_gateway_method").items():
        region = logical_id.split("_")[0]
        if method["http_method"] == "OPTIONS" or "_health_" in logical_id or config.auth.public:
            assert method["authorization"] == "NONE" and "authorizer_id" not in method, logical_id
            continue
        assert method["authorization"] == "CUSTOM", logical_id
        (authorizer_id,) = [k for k in authorizers if k.startswith(f"{region}_")]
        assert method["authorizer_id"] == f"${{aws_api_gateway_authorizer.{authorizer_id}.id}}"


def test_the_authorizer_is_a_cached_token_authorizer_with_its_own_function_and_permission(env):
    config, doc = env
    authorizers = resources(doc, "aws_api_gateway_authorizer")
    if config.auth.public:
        assert authorizers == {}, "a public API has no authorizer"
        return
    assert len(authorizers) == len(config.regions)
    for authorizer in authorizers.values():
        assert authorizer["type"] == "TOKEN"
        assert authorizer["identity_source"] == "method.request.header.Authorization"
        assert re.fullmatch(authorizer["identity_validation_expression"], "Bearer aaa.bbb.ccc")
        assert not re.fullmatch(authorizer["identity_validation_expression"], "Basic dXNlcg==")
        assert authorizer["authorizer_result_ttl_in_seconds"] == config.auth.cache_ttl > 0
        assert (
            authorizer["authorizer_uri"].startswith("${aws_lambda_function.")
            and "_authorizer_function_" in authorizer["authorizer_uri"]
        )
    functions = [
        f for f in resources(doc, "aws_lambda_function").values() if f["handler"] == "authorizer.handler.authorize"
    ]
    assert len(functions) == len(config.regions)
    for function in functions:
        variables = function["environment"]["variables"]
        expected_issuer = "${var.local_issuer_url}" if config.emulator else config.auth.issuer
        assert variables["ISSUER"] == expected_issuer and variables["AUDIENCE"] == config.auth.audience
        assert variables["JWKS_URL"] == config.auth.jwks_url
        assert (
            json.loads(variables["ROUTE_SCOPES"])
            == route_scopes()
            == {"items:read": ["GET/items/*"], "items:write": ["DELETE/items/*", "POST/items"]}
        )
        assert function["filename"].startswith("assets/authorizer_code/")
        assert function["runtime"] == config.lambda_.runtime and function["architectures"] == [
            config.lambda_.architecture
        ]
    permissions = [
        p
        for p in resources(doc, "aws_lambda_permission").values()
        if p["statement_id"] == "AllowApiGatewayInvokeAuthorizer"
    ]
    assert len(permissions) == len(config.regions)
    assert all(
        re.fullmatch(
            r"\$\{aws_api_gateway_rest_api\.[\w-]+\.execution_arn\}/authorizers/\$\{aws_api_gateway_authorizer\.[\w-]+\.id\}",
            p["source_arn"],
        )
        for p in permissions
    )


def test_the_authorizer_role_may_only_write_its_logs_and_traces_and_read_its_own_environment(env):
    config, doc = env
    policies = [p for k, p in resources(doc, "aws_iam_role_policy").items() if "_authorizer_" in k]
    assert len(policies) == (0 if config.auth.public else len(config.regions))
    for policy in policies:
        statements = {s["Sid"]: s for s in json.loads(policy["policy"])["Statement"]}
        assert set(statements) == {"Logs", "Tracing", "EnvironmentKey"}
        assert statements["Logs"]["Action"] == ["logs:CreateLogStream", "logs:PutLogEvents"]
        assert statements["Tracing"]["Action"] == ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
        context = statements["EnvironmentKey"]["Condition"]["StringLike"][
            "kms:EncryptionContext:aws:lambda:FunctionArn"
        ]
        assert statements["EnvironmentKey"]["Action"] == "kms:Decrypt"
        assert context.endswith(f":function:{config.project}-{config.environment}-authorizer")


def test_the_authorizer_is_traced_and_its_environment_encrypted_with_the_regions_key(env):
    config, doc = env
    functions = [
        f for f in resources(doc, "aws_lambda_function").values() if f["handler"] == "authorizer.handler.authorize"
    ]
    assert len(functions) == (0 if config.auth.public else len(config.regions))
    for function in functions:
        assert function["tracing_config"] == {"mode": "Active"}
        assert re.fullmatch(r"\$\{aws_kms_key\.[\w-]+_key_[0-9A-F]+\.arn\}", function["kms_key_arn"])


def test_only_the_emulator_takes_the_issuer_from_a_terraform_variable(env):
    config, doc = env
    variables = doc.get("variable", {})
    if config.emulator:
        assert set(variables) == {"local_issuer_url"} and variables["local_issuer_url"]["validation"]
    else:
        assert variables == {}


def test_post_bodies_are_validated_against_the_item_model_and_item_paths_need_their_parameter(env):
    config, doc = env
    (model,) = [m for m in resources(doc, "aws_api_gateway_model").values()][:1]
    assert json.loads(model["schema"]) == ITEM_MODEL_SCHEMA and model["content_type"] == "application/json"
    assert ITEM_MODEL_SCHEMA["$schema"] == "http://json-schema.org/draft-04/schema#"
    for validator in resources(doc, "aws_api_gateway_request_validator").values():
        assert validator["validate_request_body"] is True and validator["validate_request_parameters"] is True
    for logical_id, method in resources(doc, "aws_api_gateway_method").items():
        scoped = any(route in logical_id for route in ("_create_item_", "_get_item_", "_delete_item_"))
        assert ("request_validator_id" in method) == scoped, logical_id
        if "_create_item_" in logical_id:
            assert method["request_models"]["application/json"].startswith("${aws_api_gateway_model.")
        if "_get_item_" in logical_id or "_delete_item_" in logical_id:
            assert method["request_parameters"] == {"method.request.path.item_id": True}


def test_cors_preflights_and_gateway_responses_where_origins_are_configured(env):
    config, doc = env
    origins = config.api.cors_origins
    responses = resources(doc, "aws_api_gateway_gateway_response")
    integration_responses = resources(doc, "aws_api_gateway_integration_response")
    if not origins:
        assert not responses and not integration_responses
        return
    assert sorted(r["response_type"] for r in responses.values()) == sorted(
        ["DEFAULT_4XX", "DEFAULT_5XX"] * len(config.regions)
    )
    for response in responses.values():
        assert (
            response["response_parameters"]["gatewayresponse.header.Access-Control-Allow-Origin"] == f"'{origins[0]}'"
        )
    allowed_methods = {"'OPTIONS,POST'", "'OPTIONS,GET,DELETE'", "'OPTIONS,GET'"}
    assert len(integration_responses) == 3 * len(config.regions)
    for response in integration_responses.values():
        headers = response["response_parameters"]
        assert headers["method.response.header.Access-Control-Allow-Origin"] == f"'{origins[0]}'"
        assert headers["method.response.header.Access-Control-Allow-Methods"] in allowed_methods
        assert headers["method.response.header.Access-Control-Allow-Headers"] == "'Authorization,Content-Type'"
        template = (response.get("response_templates") or {}).get("application/json", "")
        assert all(f'"{origin}"' in template for origin in origins[1:]) and (len(origins) > 1) == bool(template)


def test_waf_only_where_enabled_with_the_rules_in_order(env):
    config, doc = env
    acls = resources(doc, "aws_wafv2_web_acl")
    assert len(acls) == (len(config.regions) if config.waf.enabled else 0)
    assert len(resources(doc, "aws_wafv2_web_acl_association")) == len(acls)
    for acl_id, acl in acls.items():
        assert acl["scope"] == "REGIONAL" and acl["default_action"] == {"allow": {}}
        names = [rule["name"] for rule in sorted(acl["rule"], key=lambda rule: rule["priority"])]
        assert names == [
            "rate-limit-per-ip",
            "body-size-limit",
            "AWSManagedRulesCommonRuleSet",
            "AWSManagedRulesKnownBadInputsRuleSet",
        ]
        rate, size, common, _ = sorted(acl["rule"], key=lambda rule: rule["priority"])
        statement = rate["statement"]["rate_based_statement"]
        assert statement["limit"] == config.waf.rate_limit and statement["aggregate_key_type"] == "IP"
        # counted unless on a health path *and* from Route53's checkers (tests/synth/test_signals.py):
        # the checks probe each region's own name with the stage mapped at the root (/health);
        # the stage path (/<stage>/health) is the execute-api host's
        not_path, not_checker = [
            s["not_statement"]["statement"] for s in statement["scope_down_statement"]["or_statement"]["statement"]
        ]
        health = re.compile(not_path["regex_match_statement"]["regex_string"])
        assert not_path["regex_match_statement"]["field_to_match"] == {"uri_path": {}}
        for path in (config.health_check.path, f"/{config.api.stage}{config.health_check.path}"):
            assert health.match(path), path
        for path in ("/v1/items", f"{config.health_check.path}/x", f"/x{config.health_check.path}", "/v2/health"):
            assert not health.match(path), path
        (ip_set_id,) = [lid for lid in resources(doc, "aws_wafv2_ip_set") if lid.startswith(acl_id.split("_")[0] + "_")]
        assert not_checker == {"ip_set_reference_statement": {"arn": f"${{aws_wafv2_ip_set.{ip_set_id}.arn}}"}}
        assert size["action"]["block"]["custom_response"]["response_code"] == 413
        overrides = common["statement"]["managed_rule_group_statement"]["rule_action_override"]
        assert overrides == [{"name": "SizeRestrictions_BODY", "action_to_use": {"count": {}}}]
    for logging in resources(doc, "aws_wafv2_web_acl_logging_configuration").values():
        assert logging["redacted_fields"] == [{"single_header": {"name": "authorization"}}]
    for group in resources(doc, "aws_cloudwatch_log_group").values():
        if group["name"].startswith("aws-waf-logs-"):
            assert group["retention_in_days"] == config.waf.log_retention_days


def test_the_content_length_rule_matches_exactly_the_lengths_over_the_functions_limit():
    pattern = re.compile(CONTENT_LENGTH_OVER_LIMIT)
    assert len(CONTENT_LENGTH_OVER_LIMIT) <= 200  # WAF's limit on a regex
    for length in [*range(MAX_BODY_BYTES - 2000, MAX_BODY_BYTES + 2000), 0, 1, 999_999, 9_999_999, 10**8, 10**12]:
        assert bool(pattern.match(str(length))) == (length > MAX_BODY_BYTES), length
    assert pattern.match("0001228801") and not pattern.match("001228800")
