"""Assertions on the synthesized Terraform JSON of every environment and variant."""

from __future__ import annotations

import json
import re

import pytest

from modules.naming import provider_alias
from modules.routes import ROUTES

ENVIRONMENTS = ["dev", "staging", "prod", "weighted", "nodomain"]


def resources(doc: dict, rtype: str) -> dict[str, dict]:
    return doc.get("resource", {}).get(rtype, {})


def item_functions(doc: dict) -> list[dict]:
    """The route handlers' functions (not the authorizer's)."""
    return [f for f in resources(doc, "aws_lambda_function").values() if f["handler"].startswith("functions.")]


def path_of(logical_id: str) -> list[str]:
    """Construct path below the stack, from a logical id such as
    ``eu-west-1_api_get_item_policy_957E51BB`` (Testing.synth drops the metadata)."""
    parts = re.sub(r"_[0-9A-F]{8}$", "", logical_id).split("_")
    route_ids = {route.id for route in ROUTES}
    merged: list[str] = []
    for part in parts:
        if merged and f"{merged[-1]}_{part}" in route_ids | {
            "global_table",
            "health_alarms",
            "certificate_validation",
            "alarm_topic",
            "rest_api",
            "health_check",
            "health_check_2",
            "health_check_3",
            "alarm_check",
            "routing_check",
            "traffic_check",
            "authorizer_check",
            "api_traffic",
            "health_sentinel",
        }:
            merged[-1] = f"{merged[-1]}_{part}"
        else:
            merged.append(part)
    return merged


def ref(rtype: str, logical_id: str, attr: str) -> str:
    return f"${{{rtype}.{logical_id}.{attr}}}"


@pytest.fixture(params=ENVIRONMENTS)
def env(request, synthesized, all_configs):
    return all_configs[request.param], synthesized[request.param]


def test_one_provider_alias_per_region_plus_global(env):
    config, doc = env
    providers = doc["provider"]["aws"]
    by_region = {p["region"]: p for p in providers}
    assert len(by_region) == len(providers), "two providers for one region"
    expected = set(config.regions) | {"us-east-1"}
    assert set(by_region) == expected
    for region, p in by_region.items():
        assert p["alias"] == provider_alias(region)
        assert "endpoints" not in p and "access_key" not in p and "skip_credentials_validation" not in p


def test_every_regional_resource_is_on_its_regions_provider(env):
    config, doc = env
    regions = set(config.regions) | {"us-east-1"}
    checked = 0
    for rtype, items in doc["resource"].items():
        if rtype == "terraform_data":
            continue  # Terraform's built-in provider: no region
        for logical_id, body in items.items():
            path = path_of(logical_id)
            region = next((part for part in path if part in regions), None)
            if path[0] in ("routing", "health_alarms", "certificate_validation"):
                expected = "us-east-1"  # Route53 and its metrics live in us-east-1
            elif region is None:
                expected = config.primary_region  # the primary table
            else:
                expected = region
            assert body["provider"] == f"aws.{provider_alias(expected)}", f"{rtype}.{logical_id}"
            checked += 1
    assert checked > 50


def test_global_table_primary_and_one_replica_per_other_region(env):
    config, doc = env
    tables = resources(doc, "aws_dynamodb_table")
    assert len(tables) == 1
    ((table_id, table),) = tables.items()
    assert table["provider"] == f"aws.{provider_alias(config.primary_region)}"
    assert table["stream_enabled"] is True and table["stream_view_type"] == "NEW_AND_OLD_IMAGES"
    assert table["billing_mode"] == "PAY_PER_REQUEST"
    assert table["hash_key"] == "item_id" and table["attribute"] == [{"name": "item_id", "type": "S"}]
    assert table["point_in_time_recovery"] == {"enabled": config.table.point_in_time_recovery}
    assert table["deletion_protection_enabled"] is config.table.deletion_protection
    assert table["lifecycle"]["ignore_changes"] == ["replica"]
    assert table["name"] == f"{config.project}-{config.environment}-{config.table.name}"

    replicas = resources(doc, "aws_dynamodb_table_replica")
    assert len(replicas) == len(config.regions) - 1
    replica_regions = sorted(r["provider"] for r in replicas.values())
    assert replica_regions == sorted(f"aws.{provider_alias(r)}" for r in config.secondary_regions)
    for replica in replicas.values():
        assert replica["global_table_arn"] == ref("aws_dynamodb_table", table_id, "arn")
        assert replica["deletion_protection_enabled"] is config.table.deletion_protection


@pytest.mark.parametrize("environment", ["dev", "prod", "local"])
def test_one_health_sentinel_written_in_the_primary_region(environment, synthesized, all_configs):
    """Written once, in the primary; replication (global tables, or locally the replicator)
    copies it to every other region, whose /health needs it."""
    config, doc = all_configs[environment], synthesized[environment]
    (item,) = resources(doc, "aws_dynamodb_table_item").values()
    primary_tables = [
        lid
        for lid, t in resources(doc, "aws_dynamodb_table").items()
        if t["provider"] == f"aws.{provider_alias(config.primary_region)}"
    ]
    assert item["provider"] == f"aws.{provider_alias(config.primary_region)}"
    assert item["table_name"] == ref("aws_dynamodb_table", primary_tables[0], "name")
    assert item["hash_key"] == "item_id"
    assert json.loads(item["item"])["item_id"] == {"S": "__health_sentinel__"}
    replicas = resources(doc, "aws_dynamodb_table_replica")
    assert sorted(item.get("depends_on", [])) == sorted(f"aws_dynamodb_table_replica.{lid}" for lid in replicas)


def test_table_encryption_follows_the_environment(env):
    config, doc = env
    table = next(iter(resources(doc, "aws_dynamodb_table").values()))
    sse = table.get("server_side_encryption")
    replicas = resources(doc, "aws_dynamodb_table_replica").values()
    if config.table.encryption == "customer_managed":
        assert sse["enabled"] is True and sse["kms_key_arn"].startswith("${aws_kms_key.")
        assert all(r["kms_key_arn"].startswith("${aws_kms_key.") for r in replicas)
    elif config.table.encryption == "aws_managed":
        assert sse == {"enabled": True}
    else:
        assert sse is None
        assert all("kms_key_arn" not in r for r in replicas)


def test_one_api_stage_and_four_functions_per_region(env):
    config, doc = env
    n = len(config.regions)
    assert len(resources(doc, "aws_api_gateway_rest_api")) == n
    for api in resources(doc, "aws_api_gateway_rest_api").values():
        assert api["endpoint_configuration"] == {"types": ["REGIONAL"]}
        assert api["lifecycle"] == {"create_before_destroy": True}
    assert len(item_functions(doc)) == 4 * n
    authorizers = [
        f for f in resources(doc, "aws_lambda_function").values() if f["handler"] == "authorizer.handler.authorize"
    ]
    assert len(authorizers) == (0 if config.auth.public else n)
    assert len(resources(doc, "aws_lambda_function")) == len(item_functions(doc)) + len(authorizers)
    stages = resources(doc, "aws_api_gateway_stage").values()
    assert len(stages) == n
    for stage in stages:
        assert stage["stage_name"] == config.api.stage
        assert stage["xray_tracing_enabled"] is True
        assert stage["access_log_settings"]["destination_arn"].startswith("${aws_cloudwatch_log_group.")
    # /health's own throttle: tests/synth/test_signals.py
    for settings in resources(doc, "aws_api_gateway_method_settings").values():
        if settings["method_path"] != "*/*":
            continue
        assert settings["settings"]["throttling_rate_limit"] == config.api.throttle_rate_limit
        assert settings["settings"]["throttling_burst_limit"] == config.api.throttle_burst_limit


def test_routes_methods_and_handlers(env):
    config, doc = env
    handlers = sorted(f["handler"] for f in item_functions(doc))
    assert handlers == sorted(
        [
            "functions.items.create_item",
            "functions.items.get_item",
            "functions.items.delete_item",
            "functions.health.check",
        ]
        * len(config.regions)
    )
    methods = sorted(
        (m["http_method"], path_of(k)[2])
        for k, m in resources(doc, "aws_api_gateway_method").items()
        if m["http_method"] != "OPTIONS"
    )
    assert methods == sorted(
        [("POST", "create_item"), ("GET", "get_item"), ("DELETE", "delete_item"), ("GET", "health")]
        * len(config.regions)
    )
    paths = sorted(r["path_part"] for r in resources(doc, "aws_api_gateway_resource").values())
    assert paths == sorted(["items", "{item_id}", "health"] * len(config.regions))
    integrations = list(resources(doc, "aws_api_gateway_integration").values())
    mocks = [i for i in integrations if i["type"] == "MOCK"]  # CORS preflights (tests/synth/test_api_security.py)
    assert len(mocks) == (3 * len(config.regions) if config.api.cors_origins else 0)
    for integration in integrations:
        if integration["type"] != "MOCK":
            assert integration["type"] == "AWS_PROXY" and integration["integration_http_method"] == "POST"


def test_functions_settings(env):
    config, doc = env
    lam = config.lambda_
    for logical_id, fn in resources(doc, "aws_lambda_function").items():
        if not fn["handler"].startswith("functions."):
            continue  # the authorizer: tests/synth/test_api_security.py
        assert fn["runtime"] == lam.runtime and fn["architectures"] == [lam.architecture]
        assert fn["memory_size"] == lam.memory and fn["timeout"] == lam.timeout
        assert fn.get("reserved_concurrent_executions") == lam.reserved_for(path_of(logical_id)[2])
        assert fn["tracing_config"] == {"mode": "Active"}
        # Environment variables encrypted with the function's own region's customer-managed key.
        region = fn["provider"].removeprefix("aws.").replace("_", "-")
        assert fn["kms_key_arn"].startswith(f"${{aws_kms_key.{region}_key_") and fn["kms_key_arn"].endswith(".arn}")
        assert fn["logging_config"]["log_format"] == "JSON"
        cors = {"CORS_ORIGINS": ",".join(config.api.cors_origins)} if config.api.cors_origins else {}
        # [chaos] fis: the FIS Lambda extension's (tests/synth/test_chaos_fis.py)
        fis = (
            {k: v for k, v in fn["environment"]["variables"].items() if k.startswith("AWS_")}
            if config.chaos.fis
            else {}
        )
        # the health function never waits for the extension's poll (Route53's 2 s)
        waits = set() if path_of(logical_id)[2] == "health" else {"AWS_FIS_POLL_MAX_WAIT_MILLISECONDS"}
        assert set(fis) == (
            {"AWS_LAMBDA_EXEC_WRAPPER", "AWS_FIS_CONFIGURATION_LOCATION", *waits} if config.chaos.fis else set()
        )
        variables = {"TABLE_NAME": f"{config.project}-{config.environment}-items", **cors, **fis}
        assert fn["environment"]["variables"] == variables
        assert fn["filename"].startswith("assets/functions_code/") and fn["source_code_hash"]
    for group in resources(doc, "aws_cloudwatch_log_group").values():
        assert group["kms_key_id"].startswith("${aws_kms_key.")
        if "/aws/lambda/" in group["name"]:
            assert group["retention_in_days"] == lam.log_retention_days


def test_each_function_policy_allows_only_its_actions_on_its_regions_table(env):
    config, doc = env
    table_id = next(iter(resources(doc, "aws_dynamodb_table")))
    replica_ids = {path_of(rid)[1]: rid for rid in resources(doc, "aws_dynamodb_table_replica")}
    expected_actions = {route.id: list(route.actions) for route in ROUTES}
    policies = {
        k: p
        for k, p in resources(doc, "aws_iam_role_policy").items()
        if "_authorizer_" not in k and not k.startswith("fis_role")  # FIS's: tests/synth/test_chaos_fis.py
    }
    assert len(policies) == 4 * len(config.regions)
    for logical_id, body in policies.items():
        region, _, route_id, _ = path_of(logical_id)
        statements = json.loads(body["policy"])["Statement"]
        table_statements = [s for s in statements if any(a.startswith("dynamodb:") for a in s["Action"])]
        assert len(table_statements) == 1
        (stmt,) = table_statements
        assert stmt["Action"] == expected_actions[route_id]
        if route_id == "health":
            # The sentinel's key and no other item (a Scan carries no key: Null false).
            assert stmt["Condition"] == {
                "ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["__health_sentinel__"]},
                "Null": {"dynamodb:LeadingKeys": "false"},
            }
        else:
            assert "Condition" not in stmt
        if region == config.primary_region:
            assert stmt["Resource"] == ref("aws_dynamodb_table", table_id, "arn")
        else:
            assert stmt["Resource"] == ref("aws_dynamodb_table_replica", replica_ids[region], "arn")
        for s in statements:
            assert s["Effect"] == "Allow"
            assert "*" not in "".join(s["Action"]), f"wildcard action in {route_id}"
            if s["Resource"] == "*":
                assert set(s["Action"]) <= {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
            if s["Sid"] == "EnvironmentKey":
                function_name = f"{config.project}-{config.environment}-{route_id.replace('_', '-')}"
                function_arn = f"arn:aws:lambda:{region}:*:function:{function_name}"
                assert s["Action"] == "kms:Decrypt"
                assert s["Condition"] == {"StringLike": {"kms:EncryptionContext:aws:lambda:FunctionArn": function_arn}}
            elif any(a.startswith("kms:") for a in s["Action"]):
                assert s["Condition"] == {"StringEquals": {"kms:ViaService": f"dynamodb.{region}.amazonaws.com"}}
                if route_id == "health":  # reading the sentinel decrypts, never encrypts
                    assert sorted(s["Action"]) == ["kms:Decrypt", "kms:DescribeKey"]


def test_certificate_domains_and_validation_records_per_region(env):
    """Per region: one certificate for the shared name with the region's own name as its
    SAN, two custom domains (the shared name, the region's) with TLS 1.2, each mapped; the
    shared name's validation CNAME once, each region's own name's in that region, and each
    region's validation waiting on both."""
    config, doc = env
    certs = resources(doc, "aws_acm_certificate")
    validations = resources(doc, "aws_acm_certificate_validation")
    domains = resources(doc, "aws_api_gateway_domain_name")
    records = resources(doc, "aws_route53_record")
    validation_records = {k: r for k, r in records.items() if "domain_validation_options" in r["name"]}
    if config.domain is None:
        assert not certs and not validations and not domains and not records
        return
    n, record_name = len(config.regions), config.domain.record_name
    assert len(certs) == len(validations) == n and len(domains) == 2 * n
    validated = {
        re.search(r'o\.domain_name == "([^"]+)"', r["name"]).group(1): k for k, r in validation_records.items()
    }
    assert sorted(validated) == sorted([record_name, *(f"{region}.{record_name}" for region in config.regions)]), (
        "the shared name's validation CNAME once, one per region's own name"
    )
    for logical_id, v in validations.items():
        region = path_of(logical_id)[0]
        assert v["validation_record_fqdns"] == [
            ref("aws_route53_record", validated[name], "fqdn") for name in (record_name, f"{region}.{record_name}")
        ]
    for logical_id, c in certs.items():
        region = path_of(logical_id)[0]
        assert c["domain_name"] == record_name and c["validation_method"] == "DNS"
        assert c["subject_alternative_names"] == [f"{region}.{record_name}"]
    names = sorted(d["domain_name"] for d in domains.values())
    assert names == sorted([record_name] * n + [f"{region}.{record_name}" for region in config.regions])
    for d in domains.values():
        assert d["security_policy"] == "TLS_1_2"
        assert d["endpoint_configuration"] == {"types": ["REGIONAL"], "ip_address_type": "dualstack"}
        assert d["regional_certificate_arn"].startswith("${aws_acm_certificate_validation.")
    mappings = resources(doc, "aws_api_gateway_base_path_mapping")
    assert len(mappings) == 2 * n
    assert all("base_path" not in m for m in mappings.values()), "both names map the stage at the root"


def test_each_regions_own_name_is_an_alias_of_its_own_custom_domain(env):
    config, doc = env
    if config.domain is None:
        pytest.skip("no domain")
    records = resources(doc, "aws_route53_record")
    for region in config.regions:
        ((logical_id, record),) = [
            (k, r) for k, r in records.items() if r["name"] == f"{region}.{config.domain.record_name}"
        ]
        assert path_of(logical_id)[0] == region and record["type"] == "A"
        domain_id = re.search(
            r"aws_api_gateway_domain_name\.(\S+)\.regional_domain_name", record["alias"]["name"]
        ).group(1)
        assert resources(doc, "aws_api_gateway_domain_name")[domain_id]["domain_name"] == record["name"]
        mapping = next(
            k for k, m in resources(doc, "aws_api_gateway_base_path_mapping").items() if domain_id in m["domain_name"]
        )
        assert record["depends_on"] == [f"aws_api_gateway_base_path_mapping.{mapping}"]


def checks_by_kind(doc: dict) -> dict[str, dict[str, tuple[str, dict]]]:
    """kind (health_check, health_check_2, health_check_3, alarm_check, traffic_check,
    authorizer_check, routing_check) -> region -> (logical id, check)."""
    found: dict[str, dict[str, tuple[str, dict]]] = {}
    for logical_id, check in resources(doc, "aws_route53_health_check").items():
        _, region, kind = path_of(logical_id)
        found.setdefault(kind, {})[region] = (logical_id, check)
    return found


def https_kinds(config) -> list[str]:
    """One HTTPS check per signal check: the rate and traffic checks, and the authorizer's."""
    signals = 2 if config.auth.public else 3
    return ["health_check", *(f"health_check_{n}" for n in range(2, signals + 1))]


def test_health_checks_per_region_on_the_regions_own_name_or_the_execute_api_stage(env):
    """With a domain, each HTTPS check probes the region's own name (its record's fqdn, so
    the certificate, custom domain and mapping are in the path) and ``/health`` at the root
    the stage is mapped to; without one, the execute-api host and ``/<stage>/health``."""
    config, doc = env
    by_kind = checks_by_kind(doc)
    kinds = https_kinds(config)
    per_region = 2 * len(kinds) + 1
    assert len(resources(doc, "aws_route53_health_check")) == per_region * len(config.regions)
    records = resources(doc, "aws_route53_record")
    for kind in kinds:
        assert set(by_kind[kind]) == set(config.regions)
        for region, (_, check) in by_kind[kind].items():
            if config.domain is None:
                assert re.fullmatch(
                    rf"\$\{{aws_api_gateway_rest_api\.{region}_api_rest_api_\w+\.id\}}\.execute-api\.{region}\.amazonaws\.com",
                    check["fqdn"],
                )
                assert check["resource_path"] == f"/{config.api.stage}{config.health_check.path}"
            else:
                record_id = re.fullmatch(r"\$\{aws_route53_record\.(\S+)\.fqdn\}", check["fqdn"]).group(1)
                assert records[record_id]["name"] == f"{region}.{config.domain.record_name}"
                assert check["resource_path"] == config.health_check.path
            assert check["type"] == "HTTPS" and check["port"] == 443
            assert check["request_interval"] == config.health_check.interval
            assert check["failure_threshold"] == config.health_check.failure_threshold


def alarm_by_name_suffix(doc: dict, suffix: str) -> tuple[str, dict]:
    return next(
        (lid, a) for lid, a in resources(doc, "aws_cloudwatch_metric_alarm").items() if a["alarm_name"].endswith(suffix)
    )


def signal_kinds(config) -> list[str]:
    return ["alarm_check", "traffic_check", *([] if config.auth.public else ["authorizer_check"])]


def test_routing_check_needs_every_https_check_and_one_signal(env):
    """A region that answers /health but fails requests leaves DNS: the records use one flat
    calculated check of g HTTPS checks and the g signal checks, threshold g + 1 (all HTTPS
    and any signal); its threshold is the evacuation lever Terraform leaves alone."""
    config, doc = env
    by_kind = checks_by_kind(doc)
    kinds = https_kinds(config)
    for region in config.regions:
        _, calculated = by_kind["routing_check"][region]
        children = [ref("aws_route53_health_check", by_kind[kind][region][0], "id") for kind in kinds]
        children += [ref("aws_route53_health_check", by_kind[kind][region][0], "id") for kind in signal_kinds(config)]
        assert calculated["type"] == "CALCULATED" and calculated["child_health_threshold"] == len(kinds) + 1
        assert calculated["child_healthchecks"] == children
        assert calculated["lifecycle"] == {"ignore_changes": ["child_health_threshold"]}


def test_the_routing_check_is_healthy_exactly_when_https_is_up_and_a_signal_is(env):
    """Every combination of the children, counted as Route53 does against the threshold."""
    import itertools

    config, doc = env
    g = len(signal_kinds(config))
    for region, (_, calculated) in checks_by_kind(doc)["routing_check"].items():
        assert len(calculated["child_healthchecks"]) == 2 * g, region
        for https_up, *signals in itertools.product([False, True], repeat=g + 1):
            healthy = (g if https_up else 0) + sum(signals) >= calculated["child_health_threshold"]
            assert healthy is (https_up and any(signals)), (region, https_up, signals)


def test_no_calculated_check_has_a_calculated_child(synthesized):
    """Route53 refuses a calculated check among a calculated check's children ("Health
    checks to monitor", Route53 Developer Guide); moto accepts it, so only this catches it."""
    for name, doc in synthesized.items():
        checks = resources(doc, "aws_route53_health_check")
        calculated = {
            ref("aws_route53_health_check", lid, "id") for lid, c in checks.items() if c["type"] == "CALCULATED"
        }
        for lid, check in checks.items():
            nested = calculated & set(check.get("child_healthchecks") or [])
            assert not nested, f"{name}: {lid} has calculated children {sorted(nested)}"


def test_the_5xx_rate_counts_only_with_traffic_and_a_working_authorizer(env):
    """A signal check is healthy while: the 5XX *rate* alarm (Average of
    5XXError, what Route53 can read) is OK, or requests are under the floor (SampleCount of
    the same metric), or the authorizer is failing (inverted check on its errors alarm:
    a JWKS outage fails it in every region, and must not empty DNS). The authorizer's signal
    is its error *rate* (Average of Lambda's Errors, 1 or 0 per invocation) at 90 %, not any
    error: a bad token is an error too, and must not hide the region's 5XX rate."""
    config, doc = env
    by_kind = checks_by_kind(doc)
    for region in config.regions:
        _, rate_check = by_kind["alarm_check"][region]
        _, traffic_check = by_kind["traffic_check"][region]
        if not config.auth.public:
            authorizer_id, authorizer_check = by_kind["authorizer_check"][region]
            alarm_id, alarm = alarm_by_name_suffix(doc, f"-authorizer-outage-{region}")
            assert authorizer_check["cloudwatch_alarm_name"] == ref(
                "aws_cloudwatch_metric_alarm", alarm_id, "alarm_name"
            )
            assert authorizer_check["invert_healthcheck"] is True
            assert authorizer_check["insufficient_data_health_status"] == "Healthy"
            assert alarm["metric_name"] == "Errors" and alarm["namespace"] == "AWS/Lambda"
            assert (alarm["statistic"], alarm["threshold"], alarm["comparison_operator"]) == (
                "Average",
                0.9,
                "GreaterThanOrEqualToThreshold",
            )
            assert alarm["period"] == 60 and "extended_statistic" not in alarm and "metric_query" not in alarm
            assert "alarm_actions" not in alarm, "a state for Route53; the errors alarm pages"
            _, errors = alarm_by_name_suffix(doc, f"-authorizer-errors-{region}")
            assert errors["alarm_actions"], "any authorizer error still pages"
        else:
            assert region not in by_kind.get("authorizer_check", {})
        alarm_id, rate = alarm_by_name_suffix(doc, f"-api-5xx-{region}")
        assert rate_check["cloudwatch_alarm_name"] == ref("aws_cloudwatch_metric_alarm", alarm_id, "alarm_name")
        assert rate_check["insufficient_data_health_status"] == "Healthy" and "invert_healthcheck" not in rate_check
        assert (rate["metric_name"], rate["statistic"], rate["threshold"]) == (
            "5XXError",
            "Average",
            config.alarms.api_5xx_rate,
        )
        assert rate["period"] == 60 and "extended_statistic" not in rate and "metric_query" not in rate
        alarm_id, traffic = alarm_by_name_suffix(doc, f"-api-requests-{region}")
        assert traffic_check["cloudwatch_alarm_name"] == ref("aws_cloudwatch_metric_alarm", alarm_id, "alarm_name")
        assert traffic_check["insufficient_data_health_status"] == "Unhealthy"
        assert (traffic["metric_name"], traffic["statistic"], traffic["threshold"]) == (
            "5XXError",
            "SampleCount",
            config.alarms.api_min_requests,
        )
        assert traffic["comparison_operator"] == "GreaterThanOrEqualToThreshold"
        assert traffic["treat_missing_data"] == "notBreaching" and "alarm_actions" not in traffic
        for check in (rate_check, traffic_check):
            assert check["type"] == "CLOUDWATCH_METRIC" and check["cloudwatch_alarm_region"] == region


def test_a_change_of_a_watched_alarm_replaces_its_check_new_one_first(env):
    """Route53 copies an alarm's configuration when the check is created and does not follow
    later changes ("Updating health checks when you change CloudWatch alarm settings", Route53
    Developer Guide): each alarm check is replaced when its alarm changes, created before the
    old one is deleted since the routing check lists it."""
    config, doc = env
    alarms = resources(doc, "aws_cloudwatch_metric_alarm")
    by_kind = checks_by_kind(doc)
    kinds = signal_kinds(config)
    for kind in kinds:
        for region, (_, check) in by_kind[kind].items():
            alarm_id = re.fullmatch(
                r"\$\{aws_cloudwatch_metric_alarm\.(\S+)\.alarm_name\}", check["cloudwatch_alarm_name"]
            )
            assert alarm_id and alarm_id.group(1) in alarms, (kind, region)
            lifecycle = check["lifecycle"]
            assert lifecycle["create_before_destroy"] is True
            # a bare address: Terraform JSON refuses ${...} here (terraform validate checks it)
            assert lifecycle["replace_triggered_by"] == [f"aws_cloudwatch_metric_alarm.{alarm_id.group(1)}"]
            assert ("ignore_changes" in lifecycle) is config.emulator


def test_routing_records_per_region_and_mode(env):
    config, doc = env
    own_names = {f"{region}.{config.domain.record_name}" for region in config.regions} if config.domain else set()
    records = {
        k: r
        for k, r in resources(doc, "aws_route53_record").items()
        if "domain_validation_options" not in r["name"] and r["name"] not in own_names
    }
    if config.domain is None:
        assert records == {}
        return
    assert len(records) == 2 * len(config.regions)
    by_region: dict[str, list[dict]] = {}
    for r in records.values():
        by_region.setdefault(r["set_identifier"], []).append(r)
        assert r["name"] == config.domain.record_name
        assert r["health_check_id"].startswith(
            "${aws_route53_health_check.routing_" + r["set_identifier"] + "_routing_check_"
        )
        assert r["alias"]["evaluate_target_health"] is True
        assert r["alias"]["name"].startswith("${aws_api_gateway_domain_name." + r["set_identifier"] + "_domain")
    assert set(by_region) == set(config.regions)
    for index, region in enumerate(config.regions):
        pair = by_region[region]
        assert sorted(r["type"] for r in pair) == ["A", "AAAA"]
        for r in pair:
            policies = {k for k in r if k.endswith("_routing_policy")}
            assert policies == {f"{config.routing.mode}_routing_policy"}
            policy = r[f"{config.routing.mode}_routing_policy"]
            if config.routing.mode == "latency":
                assert policy == {"region": region}
            elif config.routing.mode == "failover":
                assert policy == {"type": "PRIMARY" if index == 0 else "SECONDARY"}
            else:
                assert policy == {"weight": config.routing.weights[region]}


def test_alarms(env):
    config, doc = env
    alarms = resources(doc, "aws_cloudwatch_metric_alarm").values()
    by_metric: dict[str, list[dict]] = {}
    for a in alarms:
        by_metric.setdefault(a["metric_name"], []).append(a)
    n = len(config.regions)
    assert len(by_metric["HealthCheckStatus"]) == n
    assert all(a["provider"] == "aws.us_east_1" for a in by_metric["HealthCheckStatus"])
    # on the check the records use: the alarm means traffic has left the region
    assert all("_routing_check_" in a["dimensions"]["HealthCheckId"] for a in by_metric["HealthCheckStatus"])
    assert len(by_metric["5XXError"]) == 2 * n
    functions = 4 if config.auth.public else 5  # the authorizer's errors and throttles too
    # and the authorizer's outage (its error rate) for Route53
    assert len(by_metric["Errors"]) == (functions + (0 if config.auth.public else 1)) * n
    assert len(by_metric["Throttles"]) == functions * n
    assert len(by_metric["ReplicationLatency"]) == n * (n - 1)
    subscriptions = resources(doc, "aws_sns_topic_subscription").values()
    if config.alarms.email:
        assert {s["endpoint"] for s in subscriptions} == {config.alarms.email}
    else:
        assert not subscriptions
    for topic in resources(doc, "aws_sns_topic").values():
        assert topic["kms_master_key_id"].startswith("${aws_kms_key.")


def test_deployment_is_replaced_when_routes_change_but_hashes_ids_only(env):
    _, doc = env
    for dep in resources(doc, "aws_api_gateway_deployment").values():
        trigger = dep["triggers"]["redeployment"]
        assert trigger.startswith("${sha1(jsonencode([")
        assert ".uri" in trigger and ".id" in trigger
        # Whole objects (e.g. `aws_api_gateway_method.x` without an attribute) never appear.
        assert not re.search(r"aws_api_gateway_\w+\.[\w-]+(?=[,\]])", trigger)
        assert dep["lifecycle"] == {"create_before_destroy": True}


def test_permission_source_arns_match_real_requests(env):
    """API Gateway invokes with the ARN of the actual request (``.../v1/GET/items/abc``) and
    Lambda matches it with ArnLike: a literal ``{item_id}`` never matches, so every path
    parameter must be ``*``, and the ARN stays scoped to the stage, method and path shape."""
    config, doc = env
    permissions = {
        k: p for k, p in resources(doc, "aws_lambda_permission").items() if p["statement_id"] == "AllowApiGatewayInvoke"
    }
    assert len(permissions) == len(ROUTES) * len(config.regions)
    arns = sorted(p["source_arn"] for p in permissions.values())
    assert not [arn for arn in arns if "{" in arn.split("}", 1)[-1]], arns
    shapes = sorted({re.sub(r"^\$\{[^}]+\}", "", arn) for arn in arns})
    stage = config.api.stage
    assert shapes == sorted(
        {f"/{stage}/DELETE/items/*", f"/{stage}/GET/items/*", f"/{stage}/GET/health", f"/{stage}/POST/items"}
    )


@pytest.fixture(scope="module")
def packaged(all_configs, tmp_path_factory):
    """The "weighted" stack's function and authorizer zips, built once for every synth below
    (main.build_app zips both again for each synth, half a second a time): the same real zips
    whatever construct setting a test changes."""
    from main import FUNCTIONS_DIR, PROJECT_DIR
    from modules.package import WheelTarget, build_authorizer_zip, build_functions_zip
    from modules.stack import FunctionsCode

    lambda_ = all_configs["weighted"].lambda_
    build = tmp_path_factory.mktemp("zips")
    code = FunctionsCode(
        path=build / "functions.zip", sha256=build_functions_zip(FUNCTIONS_DIR, build / "functions.zip")
    )
    target, zip_path = WheelTarget(lambda_.runtime, lambda_.architecture), build / "authorizer.zip"
    authorizer = FunctionsCode(path=zip_path, sha256=build_authorizer_zip(PROJECT_DIR, target, zip_path))
    return lambda_, code, authorizer


def _triggers(config, tmp_path, packaged) -> dict[str, str]:
    """Synthesize one stack on its own, as main.build_app builds it with the module's zips, and
    return its deployment triggers by region."""
    from cdktf import App, Testing

    from main import PROJECT_DIR
    from modules.stack import BackendStack

    lambda_, code, authorizer = packaged
    assert not config.auth.public and config.lambda_ == lambda_, "the zips are built for the weighted stack's lambda"
    stack = BackendStack(App(outdir=str(tmp_path)), config, code, PROJECT_DIR, authorizer)
    doc = json.loads(Testing.synth(stack))
    return {
        key.split("_")[0]: dep["triggers"]["redeployment"]
        for key, dep in resources(doc, "aws_api_gateway_deployment").items()
    }


@pytest.fixture(scope="module")
def weighted_triggers(all_configs, packaged, tmp_path_factory) -> dict[str, str]:
    """The "weighted" stack's triggers as it is, synthesized once for every comparison below
    (a synth of one stack costs seconds; the same config synthesizes the same triggers)."""
    return _triggers(all_configs["weighted"], tmp_path_factory.mktemp("weighted-before"), packaged)


def test_the_same_config_synthesizes_the_same_triggers(all_configs, packaged, weighted_triggers, tmp_path):
    """What lets the comparisons below share one synth of the unchanged stack."""
    assert _triggers(all_configs["weighted"], tmp_path, packaged) == weighted_triggers


@pytest.mark.parametrize(
    "module, setting, value",
    [
        ("regional_api", "METHOD_AUTHORIZATION", "AWS_IAM"),
        ("regional_api", "AUTHORIZER_AUTHORIZATION", "COGNITO_USER_POOLS"),
        ("regional_api", "INTEGRATION_TIMEOUT_MS", 10000),
        ("regional_api", "VALIDATOR_SETTINGS", {"validate_request_body": True, "validate_request_parameters": False}),
        ("regional_api", "ITEM_MODEL_SCHEMA", {"type": "object"}),
        ("regional_auth", "IDENTITY_VALIDATION_EXPRESSION", "^Bearer .+$"),
        ("regional_auth", "IDENTITY_SOURCE", "method.request.header.X-Token"),
    ],
)
def test_deployment_trigger_changes_with_every_setting_that_needs_a_redeploy(
    all_configs, packaged, weighted_triggers, monkeypatch, tmp_path, module, setting, value
):
    """Two synths that differ only in a method's authorization, an integration's timeout,
    the authorizer's or the validator's settings or the request model get different
    deployment triggers; otherwise the stage would keep serving the old configuration (API
    Gateway serves a stage's last deployment). "weighted" has the authorizer and CORS."""
    import importlib

    config, before = all_configs["weighted"], weighted_triggers
    monkeypatch.setattr(importlib.import_module(f"modules.constructs.{module}"), setting, value)
    after = _triggers(config, tmp_path / "after", packaged)
    assert set(before) == set(config.regions)
    for region in config.regions:
        assert before[region] != after[region], f"{setting} changed but the {region} trigger did not"


@pytest.mark.parametrize(
    "changed",
    [
        {"auth": {"issuer": "https://login.example.org/tenant/v2.0", "audience": "api://items", "cache_ttl": 60}},
        {"api": {"cors_origins": ["https://a.example.org"]}},
    ],
)
def test_deployment_trigger_changes_with_the_authorizer_cache_and_cors_settings(
    all_configs, packaged, weighted_triggers, tmp_path, changed
):
    from modules.config.loader import parse_environment
    from tests.conftest import VARIANTS

    config = all_configs["weighted"]
    other = parse_environment({**VARIANTS["weighted"], **changed}, environment="weighted", source="<variant>")
    before, after = weighted_triggers, _triggers(other, tmp_path / "after", packaged)
    assert all(before[region] != after[region] for region in config.regions)


def test_redeploy_settings_cover_request_parameters_and_integration_type():
    from modules.constructs.regional_api import _redeploy_settings

    base = _redeploy_settings({"authorization": "NONE", "request_parameters": None}, {"type": "AWS_PROXY"})
    assert base != _redeploy_settings(
        {"authorization": "NONE", "request_parameters": {"method.request.path.item_id": True}}, {"type": "AWS_PROXY"}
    )
    assert base != _redeploy_settings({"authorization": "NONE", "request_parameters": None}, {"type": "AWS"})


def test_deployment_trigger_carries_the_configured_settings(env):
    from modules.api_contract import ITEM_MODEL_NAME
    from modules.constructs.regional_api import (
        AUTHORIZER_AUTHORIZATION,
        INTEGRATION_TIMEOUT_MS,
        METHOD_AUTHORIZATION,
        _redeploy_settings,
    )

    config, doc = env
    integration = {
        "type": "AWS_PROXY",
        "integration_http_method": "POST",
        "timeout_milliseconds": INTEGRATION_TIMEOUT_MS,
    }
    item_authorization = METHOD_AUTHORIZATION if config.auth.public else AUTHORIZER_AUTHORIZATION
    for dep in resources(doc, "aws_api_gateway_deployment").values():
        trigger = dep["triggers"]["redeployment"]
        health = _redeploy_settings(
            {"authorization": METHOD_AUTHORIZATION, "request_parameters": None, "request_models": None}, integration
        )
        create = _redeploy_settings(
            {
                "authorization": item_authorization,
                "request_parameters": None,
                "request_models": {"application/json": ITEM_MODEL_NAME},
            },
            integration,
        )
        get = _redeploy_settings(
            {
                "authorization": item_authorization,
                "request_models": None,
                "request_parameters": {"method.request.path.item_id": True},
            },
            integration,
        )
        assert f'"{health}"' in trigger and f'"{create}"' in trigger and f'"{get}"' in trigger
        assert ("aws_api_gateway_authorizer." in trigger) is not config.auth.public
        assert "aws_api_gateway_request_validator." in trigger and "aws_api_gateway_model." in trigger


def test_outputs(env):
    config, doc = env
    outputs = doc["output"]
    assert set(outputs) == {"regions", "global_url", "table_name", "table_arn", "replication"}
    assert set(outputs["regions"]["value"]) == set(config.regions)
    for value in outputs["regions"]["value"].values():
        assert set(value) == {
            "invoke_url",
            "rest_api_id",
            "stage",
            "functions",
            "execute_api_host",
            "health_check_id",
            "routing_health_check_id",
            "alarm_check",
            "guard_checks",
            "custom_domain_target",
            "table_arn",
        }
        # the local router evaluates every alarm check the signal check combines
        assert [check["id"].split("_")[-3] for check in value["guard_checks"]] == ["traffic", "authorizer"][
            : 1 if config.auth.public else 2
        ]
        # literal, as configured: moto drops the setting, and the local router needs it
        assert [check["insufficient_data_health_status"] for check in value["guard_checks"]] == [
            "Unhealthy",
            "Healthy",
        ][: 1 if config.auth.public else 2]
        assert value["alarm_check"]["insufficient_data_health_status"] == "Healthy"
        assert "_routing_check_" in value["routing_health_check_id"]
        assert set(value["alarm_check"]) == {"id", "alarm_name", "alarm_region", "insufficient_data_health_status"}
        assert (
            "_alarm_check_" in value["alarm_check"]["id"]
            and ".cloudwatch_alarm_name}" in value["alarm_check"]["alarm_name"]
        )
        assert value["stage"].startswith("${aws_api_gateway_stage.")
        assert set(value["functions"]) == {route.id for route in ROUTES}
    expected_url = f"https://{config.domain.record_name}" if config.domain else ""
    assert outputs["global_url"]["value"] == expected_url
    assert outputs["table_name"]["value"] == f"{config.project}-{config.environment}-items"


def test_state_backend(env):
    config, doc = env
    backend = doc["terraform"].get("backend", {})
    if config.state.backend == "local":
        assert backend == {"local": {"path": f"../../../{config.state.path}"}}
    elif config.state.backend == "s3":
        assert backend["s3"]["bucket"] == config.state.bucket
        assert backend["s3"]["key"] == config.state.key
        assert backend["s3"]["use_lockfile"] is True and backend["s3"]["encrypt"] is True
    else:
        assert backend == {}
        assert doc["terraform"]["cloud"]["organization"] == config.state.organization
        assert doc["terraform"]["cloud"]["workspaces"] == {"name": config.state.workspace}


def test_allowed_account_ids_only_where_configured(env):
    config, doc = env
    for p in doc["provider"]["aws"]:
        assert p.get("allowed_account_ids", []) == list(config.allowed_account_ids)


def test_default_tags_on_every_provider(env):
    config, doc = env
    for p in doc["provider"]["aws"]:
        tags = p["default_tags"][0]["tags"]
        assert tags["environment"] == config.environment and tags["project"] == config.project
        assert tags.items() >= dict(config.tags).items()


EMULATOR_ONLY_PROVIDER_KEYS = {
    "access_key",
    "secret_key",
    "skip_credentials_validation",
    "skip_requesting_account_id",
    "skip_metadata_api_check",
    "skip_region_validation",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "endpoints",
}


def test_real_environments_never_get_emulator_settings(environment_configs, synthesized):
    real = [name for name, c in environment_configs.items() if not c.emulator]
    assert {"dev", "staging", "prod"} <= set(real)
    for name in real:
        doc = synthesized[name]
        for p in doc["provider"]["aws"]:
            assert not EMULATOR_ONLY_PROVIDER_KEYS & set(p), f"{name}: {sorted(EMULATOR_ONLY_PROVIDER_KEYS & set(p))}"
        for fn in resources(doc, "aws_lambda_function").values():
            assert "lifecycle" not in fn
        assert len(resources(doc, "aws_dynamodb_table_replica")) == len(environment_configs[name].regions) - 1
        assert doc["output"]["replication"]["value"] == "DynamoDB global table (version 2019.11.21)"


def test_emulator_environment_is_isolated_and_says_how_replication_is_emulated(environment_configs, synthesized):
    config = environment_configs["local"]
    assert config.emulator
    doc = synthesized["local"]
    for p in doc["provider"]["aws"]:
        # No keys in the block: they would beat a role's web identity (ops/terraform.py gives
        # root runs the emulator's keys through the environment instead).
        assert "access_key" not in p and "secret_key" not in p
        assert p["skip_credentials_validation"] is True
        # The provider must know the account: execution_arn (and so every Lambda
        # permission's source ARN) has an empty account field without it.
        assert "skip_requesting_account_id" not in p
        # Anything not bound for loopback goes to a port where nothing listens.
        assert p["http_proxy"] == p["https_proxy"] == "http://127.0.0.1:1"
        assert p["no_proxy"] == "127.0.0.1,localhost"
        assert "allowed_account_ids" not in p
    # The same global table as a real environment: the emulator creates the replicas.
    tables = resources(doc, "aws_dynamodb_table")
    assert [t["provider"] for t in tables.values()] == [f"aws.{provider_alias(config.regions[0])}"]
    assert {t["name"] for t in tables.values()} == {"items-local-items"}
    replicas = resources(doc, "aws_dynamodb_table_replica")
    assert sorted(r["provider"] for r in replicas.values()) == [f"aws.{provider_alias(r)}" for r in config.regions[1:]]
    assert doc["output"]["replication"]["value"].startswith("emulated: the global table's replicas are created by")
    assert [
        a for a in resources(doc, "aws_cloudwatch_metric_alarm").values() if a["metric_name"] == "ReplicationLatency"
    ]
    for fn in item_functions(doc):
        assert fn["lifecycle"] == {"ignore_changes": ["logging_config"]}
