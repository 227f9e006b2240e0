"""[chaos] fis = true (staging): per region, three FIS experiment templates on that region's
provider, targeting that region's table or functions, stopped by that region's API 5XX alarm;
the functions carry the FIS Lambda extension and may read only its configuration prefix; one
experiment role trusting FIS for the account's experiments only; a private, encrypted,
versioned bucket per region. Environments without it (and the emulator) have none of it."""

from __future__ import annotations

import json

import pytest

from modules.constructs.chaos_fis import EXEC_WRAPPER, REPLICATION_PAUSE

REGIONS = ("eu-west-1", "eu-central-1")


def resources(doc: dict, rtype: str) -> dict[str, dict]:
    return doc["resource"].get(rtype, {})


def in_region(items: dict[str, dict], region: str) -> dict[str, dict]:
    alias = f"aws.{region.replace('-', '_')}"
    return {name: body for name, body in items.items() if body.get("provider") == alias}


def ref(rtype: str, name: str, attribute: str) -> str:
    return f"${{{rtype}.{name}.{attribute}}}"


@pytest.fixture(scope="module")
def staging(synthesized):
    return synthesized["staging"]


def lambda_templates(doc: dict, region: str) -> dict[str, dict]:
    """The Cloud Control templates of ``region`` (provider 5.100 refuses the Lambda target key
    in aws_fis_experiment_template), as FIS documents with Terraform references left as text."""
    found = {}
    for body in in_region(resources(doc, "aws_cloudcontrolapi_resource"), region).values():
        assert body["type_name"] == "AWS::FIS::ExperimentTemplate"
        found[body["desired_state"]] = body
    return found


@pytest.mark.parametrize("region", REGIONS)
def test_each_region_has_the_three_templates_on_its_own_targets_and_alarm(staging, region):
    (alarm,) = [
        name
        for name, body in in_region(resources(staging, "aws_cloudwatch_metric_alarm"), region).items()
        if body["alarm_name"] == f"items-staging-api-5xx-{region}"
    ]
    alarm_arn = ref("aws_cloudwatch_metric_alarm", alarm, "arn")
    ((pause_name, pause),) = in_region(resources(staging, "aws_fis_experiment_template"), region).items()
    assert pause["tags"]["chaos-experiment"] == REPLICATION_PAUSE
    assert pause["stop_condition"] == [{"source": "aws:cloudwatch:alarm", "value": alarm_arn}]
    assert pause["experiment_options"] == {
        "account_targeting": "single-account",
        "empty_target_resolution_mode": "fail",
    }
    assert pause["role_arn"].startswith("${aws_iam_role.fis_role_")
    assert pause["action"][0]["action_id"] == "aws:dynamodb:global-table-pause-replication"
    assert pause["action"][0]["target"] == {"key": "Tables", "value": "targets"}
    assert pause["target"][0]["resource_type"] == "aws:dynamodb:global-table"
    (table_arn,) = pause["target"][0]["resource_arns"]
    # The primary region's table; elsewhere that region's replica (FIS pauses the replica in the
    # region the experiment runs in).
    kind = "aws_dynamodb_table" if region == REGIONS[0] else "aws_dynamodb_table_replica"
    (own,) = in_region(resources(staging, kind), region)
    assert table_arn == ref(kind, own, "arn")

    functions = in_region(resources(staging, "aws_lambda_function"), region)
    arns = {body["function_name"]: f"aws_lambda_function.{name}.arn" for name, body in functions.items()}
    documents = list(lambda_templates(staging, region))
    assert len(documents) == 2
    errors = next(d for d in documents if '"chaos-experiment" = "fis-lambda-errors"' in d)
    delay = next(d for d in documents if '"chaos-experiment" = "fis-lambda-latency"' in d)
    for document in (errors, delay):
        assert (
            '"Targets" = {"Functions" = "targets"}' in document and '"ResourceType" = "aws:lambda:function"' in document
        )
        assert f'"Value" = {alarm_arn[2:-1]}' in document and '"AccountTargeting" = "single-account"' in document
        assert '"environment" = "staging"' in document  # tagged for the deploy role's conditions
    assert '"ActionId" = "aws:lambda:invocation-error"' in errors and '"preventExecution" = "true"' in errors
    assert all(arn in errors for name, arn in arns.items() if not name.endswith("authorizer"))
    assert arns["items-staging-authorizer"] not in errors
    assert '"ActionId" = "aws:lambda:invocation-add-delay"' in delay
    assert '"startupDelayMilliseconds" = "300"' in delay and '"invocationPercentage" = "50"' in delay
    targeted = [name for name, arn in arns.items() if arn in delay]
    assert sorted(targeted) == ["items-staging-create-item", "items-staging-get-item"]


@pytest.mark.parametrize("region", REGIONS)
def test_the_targeted_functions_run_the_extension_and_read_only_its_prefix(staging, environment_configs, region):
    (bucket_name,) = [name for name, body in in_region(resources(staging, "aws_s3_bucket"), region).items()]
    bucket = resources(staging, "aws_s3_bucket")[bucket_name]["bucket"]
    assert bucket == f"items-staging-fis-222222222222-{region}"
    (layer,) = [name for name, body in staging["data"]["aws_ssm_parameter"].items() if region in name]
    location = f"arn:aws:s3:::{bucket}/FisConfigs/"
    policies = {body["role"]: json.loads(body["policy"]) for body in resources(staging, "aws_iam_role_policy").values()}
    for body in in_region(resources(staging, "aws_lambda_function"), region).values():
        if body["function_name"].endswith("authorizer"):
            assert "layers" not in body  # not a target
            continue
        variables = body["environment"]["variables"]
        assert variables["AWS_LAMBDA_EXEC_WRAPPER"] == EXEC_WRAPPER
        assert variables["AWS_FIS_CONFIGURATION_LOCATION"] == location
        assert body["layers"] == [f"${{data.aws_ssm_parameter.{layer}.insecure_value}}"]
        role = body["role"].replace(".arn}", ".id}")
        statements = {s["Sid"]: s for s in policies[role]["Statement"]}
        assert statements["FisConfigurationRead"]["Resource"] == f"{location}*"
        assert statements["FisConfigurationList"]["Condition"] == {"StringLike": {"s3:prefix": ["FisConfigs/*"]}}
    pinned = environment_configs["staging"].chaos.fis_extension_version
    name = staging["data"]["aws_ssm_parameter"][layer]["name"]
    assert name == "/aws/service/fis/lambda-extension/AWS-FIS-extension-arm64/1.x.x" + (f":{pinned}" if pinned else "")


def test_a_pinned_extension_reads_that_version_of_the_parameter():
    """The public parameter moves to every new layer; ``name:<version>`` (GetParameter's version
    selector, which aws_ssm_parameter passes through) keeps the layer until the key changes."""
    from modules.constructs.chaos_fis import extension_parameter

    assert extension_parameter("arm64", 12) == "/aws/service/fis/lambda-extension/AWS-FIS-extension-arm64/1.x.x:12"
    assert extension_parameter("x86_64", None) == "/aws/service/fis/lambda-extension/AWS-FIS-extension-x86_64/1.x.x"


@pytest.mark.parametrize("region", REGIONS)
def test_only_the_health_function_answers_without_waiting_for_a_configuration(staging, region):
    """Route53's HTTPS checks need an answer within 2 s of connecting: the health function must
    not wait up to AWS_FIS_POLL_MAX_WAIT_MILLISECONDS (2000) for the extension's poll; the item
    functions do (preventExecution needs a fresh configuration)."""
    waits = {
        body["function_name"]: body["environment"]["variables"].get("AWS_FIS_POLL_MAX_WAIT_MILLISECONDS")
        for body in in_region(resources(staging, "aws_lambda_function"), region).values()
        if "layers" in body
    }
    assert waits.pop("items-staging-health") is None
    assert waits and set(waits.values()) == {"2000"}


def test_the_bucket_is_private_encrypted_versioned_and_tls_only(staging):
    for rtype in (
        "aws_s3_bucket_public_access_block",
        "aws_s3_bucket_versioning",
        "aws_s3_bucket_server_side_encryption_configuration",
        "aws_s3_bucket_policy",
        "aws_s3_bucket_ownership_controls",
        "aws_s3_bucket_lifecycle_configuration",
    ):
        assert len(resources(staging, rtype)) == len(REGIONS), rtype
    for block in resources(staging, "aws_s3_bucket_public_access_block").values():
        assert all(block[k] for k in ("block_public_acls", "block_public_policy", "ignore_public_acls"))
    for versioning in resources(staging, "aws_s3_bucket_versioning").values():
        assert versioning["versioning_configuration"] == {"status": "Enabled"}
    for policy in resources(staging, "aws_s3_bucket_policy").values():
        (deny,) = json.loads(policy["policy"])["Statement"]
        assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_one_experiment_role_trusting_fis_for_this_account_only(staging):
    roles = {name: body for name, body in resources(staging, "aws_iam_role").items() if name.startswith("fis_role")}
    ((name, role),) = roles.items()
    assert role["name"] == "items-staging-fis" and role["permissions_boundary"]
    (trust,) = json.loads(role["assume_role_policy"])["Statement"]
    assert trust["Principal"] == {"Service": "fis.amazonaws.com"}
    assert set(trust["Condition"]) == {"StringEquals", "ArnLike"}
    assert "aws:SourceAccount" in trust["Condition"]["StringEquals"]
    (policy,) = [
        json.loads(body["policy"])
        for body in resources(staging, "aws_iam_role_policy").values()
        if body["role"] == ref("aws_iam_role", name, "id")
    ]
    granted = {s["Sid"]: s for s in policy["Statement"]}
    assert set(granted["PauseReplication"]["Action"]) == {
        "dynamodb:PutResourcePolicy",
        "dynamodb:DeleteResourcePolicy",
        "dynamodb:GetResourcePolicy",
        "dynamodb:DescribeTable",
    }
    assert len(granted["PauseReplication"]["Resource"]) == 2 * len(REGIONS)  # each table and its streams
    assert granted["ReadTargetFunctions"]["Action"] == ["lambda:GetFunction"]
    assert all("aws_lambda_function." in arn for arn in granted["ReadTargetFunctions"]["Resource"])
    assert granted["WriteFaultConfigurations"]["Action"] == ["s3:PutObject", "s3:DeleteObject"]
    assert all(r.endswith("/FisConfigs/*") for r in granted["WriteFaultConfigurations"]["Resource"])
    # The only action without a resource: FIS resolves targets with it (no resource-level permissions).
    assert [s["Action"] for s in policy["Statement"] if s["Resource"] == "*"] == ["tag:GetResources"]


def test_the_experiment_role_may_decrypt_the_targets_environment_only_through_lambda(staging):
    """FIS reads AWS_FIS_CONFIGURATION_LOCATION with lambda:GetFunction; the environment is
    encrypted with the region's customer-managed key, so Lambda returns it only to a caller
    allowed kms:Decrypt through Lambda, for that function's encryption context."""
    (name,) = [name for name in resources(staging, "aws_iam_role") if name.startswith("fis_role")]
    (policy,) = [
        json.loads(body["policy"])
        for body in resources(staging, "aws_iam_role_policy").values()
        if body["role"] == ref("aws_iam_role", name, "id")
    ]
    (decrypt,) = [s for s in policy["Statement"] if "kms:Decrypt" in s["Action"]]
    assert decrypt["Action"] == ["kms:Decrypt"] and decrypt["Effect"] == "Allow"
    keys = {ref("aws_kms_key", key, "arn") for r in REGIONS for key in in_region(resources(staging, "aws_kms_key"), r)}
    assert set(decrypt["Resource"]) == keys and len(keys) == len(REGIONS)
    condition = decrypt["Condition"]["StringEquals"]
    assert condition["kms:ViaService"] == sorted(f"lambda.{region}.amazonaws.com" for region in REGIONS)
    functions = {
        ref("aws_lambda_function", f, "arn")
        for f, body in resources(staging, "aws_lambda_function").items()
        if "layers" in body  # the targets: they run the extension
    }
    assert set(condition["kms:EncryptionContext:aws:lambda:FunctionArn"]) == functions
    assert functions and set(decrypt["Condition"]) == {"StringEquals"}


def test_the_boundary_lets_the_experiment_role_decrypt_through_lambda(staging):
    """The role's boundary (the bootstrap's) must allow the decrypt too, on the same keys."""
    from modules.bootstrap.deploy_policy import PolicyInputs, boundary_policy

    inputs = PolicyInputs(prefix="items-staging", environment="staging", account="222222222222", zone_id=None)
    statements = boundary_policy(staging, inputs)["Statement"]
    (kms,) = [s for s in statements if any(a.startswith("kms:") for a in s["Action"])]
    assert "kms:Decrypt" in kms["Action"] and kms["Effect"] == "Allow"
    assert all(r.startswith("arn:aws:kms:") and r.endswith(":key/*") for r in kms["Resource"])


@pytest.mark.parametrize("environment", ["dev", "prod", "local"])
def test_without_chaos_fis_there_is_nothing_of_it(synthesized, environment):
    doc = synthesized[environment]
    assert not resources(doc, "aws_fis_experiment_template") and not resources(doc, "aws_s3_bucket")
    assert not resources(doc, "aws_cloudcontrolapi_resource")
    assert "aws_ssm_parameter" not in doc.get("data", {})
    for body in resources(doc, "aws_lambda_function").values():
        assert "layers" not in body and "AWS_LAMBDA_EXEC_WRAPPER" not in body["environment"]["variables"]
