"""The deploy and plan policies are derived from what each environment synthesizes."""

from __future__ import annotations

import copy
import json

import pytest

from modules.deploy_policy import PolicyError, PolicyInputs, deploy_policy, name_pattern, plan_policy, walk

ACCOUNT = "111111111111"


def inputs(env: str) -> PolicyInputs:
    return PolicyInputs(prefix=f"items-{env}", environment=env, account=ACCOUNT)


def statements(policy: dict) -> dict[str, dict]:
    return {s["Sid"]: s for s in policy["Statement"]}


def actions(policy: dict) -> set[str]:
    return {a for s in policy["Statement"] if s["Effect"] == "Allow" for a in s["Action"]}


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_deploy_policy_names_only_the_services_the_stack_uses(env, synthesized):
    policy = deploy_policy(synthesized[env], inputs(env))
    services = {a.split(":")[0] for a in actions(policy)}
    assert services <= {"acm", "apigateway", "cloudwatch", "dynamodb", "iam", "kms", "lambda", "logs", "route53", "sns", "s3",
                        "wafv2"}
    assert ("wafv2" in services) == (env == "prod")  # WAF only where [waf] is on (protected prod)
    assert "*" not in actions(policy) and not any(a.startswith("s3:") and a != "s3:ListBucket" and "Object" not in a for a in actions(policy))
    # Inline role policies are limited to 10,240 characters (whitespace excluded).
    assert len(json.dumps(policy, separators=(",", ":"))) < 10240


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_every_wildcard_action_is_scoped_to_the_environment(env, synthesized):
    """``<service>:*`` only on ARNs carrying the environment's prefix, its domain, a region
    of the stack, or with a condition on the environment tag."""
    config_regions = {p["region"] for p in synthesized[env]["provider"]["aws"]}
    for s in deploy_policy(synthesized[env], inputs(env))["Statement"]:
        if not any(a.endswith(":*") for a in s["Action"]):
            continue
        for arn in s["Resource"]:
            region = arn.split(":")[3]
            assert region in config_regions | {""}, arn
            scoped = f"items-{env}" in arn or f"{env}.example.com" in arn or "api.example.com" in arn
            tagged = s.get("Condition", {}).get("StringEquals", {}).get("aws:ResourceTag/environment") == env
            generated_ids = arn.endswith(("/restapis", "/restapis/*", "/account", "/tags/*", "/domainnames",
                                          "healthcheck/*", "change/*", ":log-group:API-Gateway-Execution-Logs_*",
                                          ":log-group:API-Gateway-Execution-Logs_*:*"))
            assert scoped or tagged or generated_ids, arn


def test_dev_example(synthesized):
    by_sid = statements(deploy_policy(synthesized["dev"], inputs("dev")))
    lambda_arns = next(s["Resource"] for s in by_sid.values() if s["Action"] == ["lambda:*"])
    assert lambda_arns == [
        f"arn:aws:lambda:eu-central-1:{ACCOUNT}:function:items-dev-*",
        f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:items-dev-*",
        f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:items-dev-*",
    ]
    logs = next(s["Resource"] for s in by_sid.values() if s["Action"] == ["logs:*"])
    assert f"arn:aws:logs:eu-west-1:{ACCOUNT}:log-group:/aws/lambda/items-dev-*" in logs
    assert f"arn:aws:logs:eu-west-1:{ACCOUNT}:log-group:/aws/apigateway/items-dev-*" in logs
    # API Gateway names the execution log group after the REST API's generated id.
    assert f"arn:aws:logs:eu-west-1:{ACCOUNT}:log-group:API-Gateway-Execution-Logs_*" in logs
    assert by_sid["RequestOwnCertificates"]["Condition"] == {"ForAllValues:StringEquals": {"acm:DomainNames": ["api.dev.example.com"]}}
    assert by_sid["OwnRecordsOnly"]["Condition"]["ForAllValues:StringLike"][
        "route53:ChangeResourceRecordSetsNormalizedRecordNames"] == ["*.api.dev.example.com", "api.dev.example.com"]
    assert by_sid["OnlyTheStacksManagedPolicies"]["Effect"] == "Deny"
    assert by_sid["StateObject"]["Resource"] == ["arn:aws:s3:::items-terraform-state-111111111111/backend/dev/terraform.tfstate"]


def test_plan_policy_reads_but_never_writes_or_reads_items(synthesized):
    """No item reads but the health sentinel's, which planning refreshes."""
    policy = plan_policy(synthesized["staging"], inputs("staging"))
    granted = actions(policy)
    assert not [a for a in granted if a.endswith(":*")]
    assert "dynamodb:Get*" not in granted
    reading_items = [s for s in policy["Statement"] if "dynamodb:GetItem" in s["Action"]]
    assert [s["Sid"] for s in reading_items] == ["ReadHealthSentinelOnly"]
    assert reading_items[0]["Action"] == ["dynamodb:GetItem"]
    assert reading_items[0]["Condition"] == {
        "ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["__health_sentinel__"]},
        "Null": {"dynamodb:LeadingKeys": "false"},
    }
    assert {"s3:GetObject", "s3:PutObject", "s3:DeleteObject"} <= granted  # the lock file
    state = statements(policy)["StateObject"]
    assert state["Action"] == ["s3:GetObject"]


def test_cloud_state_needs_no_bucket_statements(synthesized):
    assert "StateObject" not in statements(deploy_policy(synthesized["prod"], inputs("prod")))


def test_a_resource_type_without_a_rule_is_an_error(synthesized):
    doc = copy.deepcopy(synthesized["dev"])
    doc["resource"]["aws_ec2_instance"] = {"x": {"provider": "aws.eu_west_1"}}
    with pytest.raises(PolicyError, match="aws_ec2_instance.*has no rule"):
        deploy_policy(doc, inputs("dev"))


def test_terraform_data_calls_no_aws_api_and_gets_no_grant(synthesized):
    """prod's primary-region guard is Terraform's built-in ``terraform_data``."""
    assert "terraform_data" in synthesized["prod"]["resource"]
    policy = deploy_policy(synthesized["prod"], inputs("prod"))
    assert "terraform" not in {a.split(":")[0] for a in actions(policy)}


def test_a_name_outside_the_prefix_is_an_error(synthesized):
    doc = copy.deepcopy(synthesized["dev"])
    table = next(iter(doc["resource"]["aws_dynamodb_table"].values()))
    table["name"] = "someone-elses-table"
    with pytest.raises(PolicyError, match="'someone-elses-table' does not contain the prefix 'items-dev'"):
        deploy_policy(doc, inputs("dev"))


@pytest.mark.parametrize("name, pattern", [
    ("items-dev-items", "items-dev-*"),
    ("/aws/lambda/items-dev-get-item", "/aws/lambda/items-dev-*"),
    ("alias/items-dev", "alias/items-dev"),
    ("items-development-x", "items-development-x"),  # another environment's prefix is not ours
])
def test_name_patterns_never_reach_another_environment(name, pattern):
    assert name_pattern(name, "items-dev", "test") == pattern


def test_walk_reads_regions_from_the_providers(synthesized):
    facts = walk(synthesized["prod"])
    assert set(facts.regions) == {"us-east-1", "eu-west-1", "ap-southeast-1"}
