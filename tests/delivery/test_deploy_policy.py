"""The deploy and plan policies are derived from what each environment synthesizes."""

from __future__ import annotations

import copy
import json

import pytest

from modules.bootstrap.deploy_policy import (
    MANAGED_POLICY_CHARS,
    PolicyError,
    PolicyInputs,
    boundary_policy,
    deploy_policy,
    name_pattern,
    permissions_boundary_arn,
    plan_policy,
    split_policy,
    walk,
)

ACCOUNT = "111111111111"


def inputs(env: str) -> PolicyInputs:
    return PolicyInputs(prefix=f"items-{env}", environment=env, account=ACCOUNT, zone_id=f"Z{env.upper()}ZONE")


def statements(policy: dict) -> dict[str, dict]:
    return {s["Sid"]: s for s in policy["Statement"]}


def actions(policy: dict) -> set[str]:
    return {a for s in policy["Statement"] if s["Effect"] == "Allow" for a in s["Action"]}


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_deploy_policy_names_only_the_services_the_stack_uses(env, synthesized):
    policy = deploy_policy(synthesized[env], inputs(env))
    services = {a.split(":")[0] for a in actions(policy)}
    assert services <= {
        "acm",
        "apigateway",
        "cloudformation",
        "cloudwatch",
        "dynamodb",
        "fis",
        "iam",
        "kms",
        "lambda",
        "logs",
        "route53",
        "sns",
        "s3",
        "ssm",
        "wafv2",
        "xray",
    }
    assert ("wafv2" in services) == (env == "prod")  # WAF only where [waf] is on (protected prod)
    # FIS templates and their buckets only where [chaos] fis is on (staging)
    assert ("fis" in services) == ("ssm" in services) == (env == "staging")
    bucket_actions = {a for a in actions(policy) if a.startswith("s3:") and a != "s3:ListBucket" and "Object" not in a}
    assert "*" not in actions(policy) and (env == "staging" or not bucket_actions)
    # Never a whole service: the explicit actions of each resource type (and reads by prefix).
    assert not [a for a in actions(policy) if a.endswith(":*")]
    # Attached as managed policies of at most 6,144 characters each (whitespace excluded).
    parts = split_policy(policy)
    assert all(len(json.dumps(p, separators=(",", ":"))) <= MANAGED_POLICY_CHARS for p in parts)
    assert [s for p in parts for s in p["Statement"]] == policy["Statement"]


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_every_write_is_scoped_to_the_environment(env, synthesized):
    """Writes only on ARNs carrying the environment's prefix, its domain, a region of the stack,
    with a condition on the environment tag, or (ids AWS generates) on a region's API paths."""
    config_regions = {p["region"] for p in synthesized[env]["provider"]["aws"]}
    for s in deploy_policy(synthesized[env], inputs(env))["Statement"]:
        if s["Effect"] != "Allow" or s["Resource"] == ["*"]:
            continue
        for arn in s["Resource"]:
            region = arn.split(":")[3]
            assert region in config_regions | {""}, arn
            scoped = f"items-{env}" in arn or f"{env}.example.com" in arn or "api.example.com" in arn
            scoped = scoped or arn == f"arn:aws:route53:::hostedzone/{inputs(env).zone_id}"
            tagged = s.get("Condition", {}).get("StringEquals", {}).get("aws:ResourceTag/environment") == env
            generated_ids = arn.endswith(
                (
                    "/restapis",
                    "/restapis/*",
                    "/account",
                    "/tags/*",
                    "/domainnames",
                    "healthcheck/*",
                    "change/*",
                    "/stages/*",
                    "managedruleset/*/*",
                    ":log-group:API-Gateway-Execution-Logs_*",
                )
            )
            service_linked = "aws-service-role/replication.dynamodb" in arn  # only with iam:AWSServiceName
            # Describing the AWS-managed key named by its reserved alias (the replica refresh).
            managed_key = s["Action"] == ["kms:DescribeKey"] and s.get("Condition") == {
                "StringEquals": {"kms:RequestAlias": "alias/aws/dynamodb"}
            }
            state = arn.startswith("arn:aws:s3:::items-terraform-state-")  # the state object and lock only
            # AWS's own: the FIS extension's public parameter and layer (read), FIS's actions
            # (named by a template, which is itself created only with the environment's tag).
            aws_owned = (
                ":parameter/aws/service/fis/lambda-extension/" in arn and s["Action"] == ["ssm:GetParameter"]
            ) or (":layer:aws-fis-extension-" in arn and s["Action"] == ["lambda:GetLayerVersion"])
            aws_owned = aws_owned or (
                arn.endswith(":action/*")
                and set(s["Action"]) == {"fis:CreateExperimentTemplate", "fis:UpdateExperimentTemplate"}
            )
            created_tagged = s.get("Condition") == {"StringEquals": {"aws:RequestTag/environment": env}}
            # Tagging a key while creating it: only keys with no environment tag and no other
            # alias, and only with this environment's tag (TagNewKeys).
            new_keys = s.get("Condition", {}).get("Null") == {"aws:ResourceTag/environment": "true"} and s["Condition"][
                "StringEquals"
            ] == {"aws:RequestTag/environment": env}
            assert (
                scoped or tagged or generated_ids or service_linked or managed_key or state or new_keys or aws_owned
            ) or (created_tagged and arn.endswith(":experiment-template/*")), arn


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_unscoped_writes_are_only_those_aws_cannot_scope(env, synthesized):
    unscoped = {
        a
        for s in deploy_policy(synthesized[env], inputs(env))["Statement"]
        if s["Effect"] == "Allow" and s["Resource"] == ["*"] and "Condition" not in s
        for a in s["Action"]
    }
    reads = {a for a in unscoped if a.split(":")[1].startswith(("Describe", "Get", "List"))}
    # Cloud Control (the FIS Lambda templates where [chaos] fis is on): no resource-level permissions.
    cloud_control = {"cloudformation:CreateResource", "cloudformation:UpdateResource", "cloudformation:DeleteResource"}
    expected = (
        {"route53:CreateHealthCheck"}
        | (cloud_control if env == "staging" else set())
        | (
            {"logs:CreateLogDelivery", "logs:DeleteLogDelivery", "logs:UpdateLogDelivery", "logs:PutResourcePolicy"}
            if env == "prod"
            else set()
        )
    )
    assert unscoped - reads == expected


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_roles_the_deploy_role_makes_stay_within_the_boundary(env, synthesized):
    """The escalation path (make a role, give it any policy, pass it to a function, invoke) is
    closed: role-granting actions need the boundary, which can never be removed, and roles go
    only to the services the stack's roles trust."""
    by_sid = statements(deploy_policy(synthesized[env], inputs(env)))
    boundary = permissions_boundary_arn(ACCOUNT, f"items-{env}")
    granting = {"iam:CreateRole", "iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:PutRolePermissionsBoundary"}
    for s in by_sid.values():
        if s["Effect"] == "Allow" and granting & set(s["Action"]):
            assert s["Condition"] == {"StringEquals": {"iam:PermissionsBoundary": boundary}}, s["Sid"]
    assert by_sid["NeverRemoveTheBoundary"] == {
        "Sid": "NeverRemoveTheBoundary",
        "Effect": "Deny",
        "Action": ["iam:DeleteRolePermissionsBoundary"],
        "Resource": ["*"],
    }
    passing = [s for s in by_sid.values() if "iam:PassRole" in s["Action"]]
    fis = ["fis.amazonaws.com"] if env == "staging" else []  # [chaos] fis: the experiment role
    assert [s["Condition"] for s in passing] == [
        {"StringEquals": {"iam:PassedToService": ["apigateway.amazonaws.com", *fis, "lambda.amazonaws.com"]}}
    ]


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_every_role_of_the_stack_carries_the_boundary_and_the_boundary_covers_what_the_roles_use(env, synthesized):
    doc = synthesized[env]
    roles = doc["resource"]["aws_iam_role"].values()
    assert {r["permissions_boundary"] for r in roles} == {
        "arn:aws:iam::${data.aws_caller_identity.account.account_id}:policy/delivery/boundary-items-" + env
    }
    boundary = boundary_policy(doc, inputs(env))
    allowed = {a for s in boundary["Statement"] for a in s["Action"]}
    assert set(walk(doc).role_actions) <= allowed
    assert "logs:CreateLogGroup" in allowed  # the API Gateway logging role's managed policy
    assert not [
        s
        for s in boundary["Statement"]
        if s["Resource"] == ["*"] and not all(a.startswith("xray:") for a in s["Action"])
    ], "only X-Ray, which has no resource-level permissions, on *"


def test_a_role_policy_using_a_service_the_stack_has_no_rule_for_is_an_error(synthesized):
    doc = copy.deepcopy(synthesized["dev"])
    policy = next(iter(doc["resource"]["aws_iam_role_policy"].values()))
    policy["policy"] = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::somebody/*"}],
        }
    )
    with pytest.raises(PolicyError, match="the stack's roles use s3"):
        boundary_policy(doc, inputs("dev"))


def test_dev_example(synthesized):
    by_sid = statements(deploy_policy(synthesized["dev"], inputs("dev")))
    lambda_statement = next(s for s in by_sid.values() if "lambda:CreateFunction" in s["Action"])
    assert lambda_statement["Resource"] == [
        f"arn:aws:lambda:eu-central-1:{ACCOUNT}:function:items-dev-*",
        f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:items-dev-*",
        f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:items-dev-*",
    ]
    assert {"lambda:UpdateFunctionCode", "lambda:AddPermission", "lambda:Get*"} <= set(lambda_statement["Action"])
    logs = next(s["Resource"] for s in by_sid.values() if "logs:CreateLogGroup" in s["Action"])
    # log-group:/aws/lambda/items-dev-* also covers its streams (...:*): listed once.
    assert f"arn:aws:logs:eu-west-1:{ACCOUNT}:log-group:/aws/lambda/items-dev-*" in logs
    assert f"arn:aws:logs:eu-west-1:{ACCOUNT}:log-group:/aws/apigateway/items-dev-*" in logs
    # API Gateway names the execution log group after the REST API's generated id.
    assert f"arn:aws:logs:eu-west-1:{ACCOUNT}:log-group:API-Gateway-Execution-Logs_*" in logs
    assert not [arn for arn in logs if arn.endswith("-*:*")]
    # A request without acm:DomainNames would satisfy ForAllValues alone. Each region's
    # certificate carries that region's own name (its health checks' host) as a SAN.
    assert by_sid["RequestOwnCertificates"]["Condition"] == {
        "ForAllValues:StringEquals": {
            "acm:DomainNames": [
                "api.dev.example.com",
                "eu-central-1.api.dev.example.com",
                "eu-west-1.api.dev.example.com",
            ]
        },
        "Null": {"acm:DomainNames": "false"},
    }
    assert by_sid["RequestOwnCertificates"]["Action"] == ["acm:RequestCertificate"]
    # Tags on "*" only through CreateKey's request tags; TagResource needs the key's own tag, or
    # (tagging while creating, which KMS authorizes as TagResource on every key) a key with no
    # environment tag and no alias but the environment's, the request writing its tag.
    assert by_sid["CreateTaggedKeys"]["Action"] == ["kms:CreateKey"]
    tagging = [s for s in by_sid.values() if s["Effect"] == "Allow" and "kms:TagResource" in s["Action"]]
    assert [s["Condition"] for s in tagging] == [
        {"StringEquals": {"aws:ResourceTag/environment": "dev"}},
        {
            "StringEquals": {"aws:RequestTag/environment": "dev"},
            "Null": {"aws:ResourceTag/environment": "true"},
            "ForAllValues:StringLike": {"kms:ResourceAliases": ["alias/items-dev*"]},
        },
    ]
    assert by_sid["ReadTheZone"]["Resource"] == ["arn:aws:route53:::hostedzone/ZDEVZONE"]
    assert by_sid["OwnRecordsOnly"]["Resource"] == ["arn:aws:route53:::hostedzone/ZDEVZONE"]
    assert "iam:UpdateAssumeRolePolicy" not in actions(deploy_policy(synthesized["dev"], inputs("dev")))
    assert by_sid["OwnRecordsOnly"]["Condition"]["ForAllValues:StringLike"][
        "route53:ChangeResourceRecordSetsNormalizedRecordNames"
    ] == [
        "*.api.dev.example.com",
        "*.eu-central-1.api.dev.example.com",
        "*.eu-west-1.api.dev.example.com",
        "api.dev.example.com",
        "eu-central-1.api.dev.example.com",  # each region's own name (its health checks' host)
        "eu-west-1.api.dev.example.com",
    ]
    assert by_sid["OnlyTheStacksManagedPolicies"]["Effect"] == "Deny"
    assert by_sid["StateObject"]["Resource"] == [
        "arn:aws:s3:::items-terraform-state-111111111111/backend/dev/terraform.tfstate"
    ]
    # Lambda encrypts environment variables with the caller's grant on the environment's keys.
    keys = by_sid["KeysThroughLambda"]
    assert keys["Action"] == ["kms:CreateGrant", "kms:Decrypt", "kms:Encrypt"]
    assert keys["Condition"]["StringEquals"]["kms:ViaService"] == [
        "lambda.eu-central-1.amazonaws.com",
        "lambda.eu-west-1.amazonaws.com",
        "lambda.us-east-1.amazonaws.com",
    ]


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
    # Reading a function's encrypted environment needs Decrypt, through Lambda only.
    assert statements(policy)["KeysThroughLambda"]["Action"] == ["kms:Decrypt"]


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


@pytest.mark.parametrize(
    "name, pattern",
    [
        ("items-dev-items", "items-dev-*"),
        ("/aws/lambda/items-dev-get-item", "/aws/lambda/items-dev-*"),
        ("alias/items-dev", "alias/items-dev"),
        ("items-development-x", "items-development-x"),  # another environment's prefix is not ours
    ],
)
def test_name_patterns_never_reach_another_environment(name, pattern):
    assert name_pattern(name, "items-dev", "test") == pattern


def test_walk_reads_regions_from_the_providers(synthesized):
    facts = walk(synthesized["prod"])
    assert set(facts.regions) == {"us-east-1", "eu-west-1", "ap-southeast-1"}


def test_the_deploy_role_manages_only_the_environments_own_sampling_rules(synthesized):
    """The /health sampling rule: written on its own name in each region; listing the rules
    (GetSamplingRules, no resource-level permission) is the only X-Ray action on *."""
    policy = deploy_policy(synthesized["dev"], inputs("dev"))
    (writes,) = [s for s in policy["Statement"] if "xray:CreateSamplingRule" in s["Action"]]
    # the environment's names, in its regions (us-east-1 holds its Route53 metrics' alarms)
    assert sorted(writes["Resource"]) == [
        f"arn:aws:xray:{region}:{ACCOUNT}:sampling-rule/items-dev-*"
        for region in ("eu-central-1", "eu-west-1", "us-east-1")
    ]
    assert {"xray:UpdateSamplingRule", "xray:DeleteSamplingRule", "xray:TagResource"} <= set(writes["Action"])
    on_everything = {a for s in policy["Statement"] if s["Resource"] in (["*"], "*") for a in s["Action"]}
    assert {a for a in on_everything if a.startswith("xray:")} == {"xray:GetSamplingRules"}
