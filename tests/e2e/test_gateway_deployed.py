"""The local gateway answers from what is deployed: change the deployed state through the
emulator's APIs (as an operator or a broken apply would) and watch the answers change the
way API Gateway's would. Every change is undone before the test ends."""

from __future__ import annotations

import json
import subprocess
import sys
from contextlib import contextmanager, suppress

import pytest

from local import deployment_file
from local.emulator import aws_client
from ops import smoke
from ops.smoke import smoke_token

pytestmark = [pytest.mark.e2e, pytest.mark.terraform, pytest.mark.timeout(900)]
STATEMENT_ID = "AllowApiGatewayInvoke"  # what the stack names its permissions


def lambda_client(described: deployment_file.Deployment, region: str):
    return aws_client("lambda", region, described.emulator_url)


@contextmanager
def permission_replaced(client, function: str, source_arn: str | None):
    """The function's API Gateway permission replaced (None: removed) and put back after."""
    original = json.loads(client.get_policy(FunctionName=function)["Policy"])["Statement"]
    (statement,) = [item for item in original if item["Sid"] == STATEMENT_ID]
    client.remove_permission(FunctionName=function, StatementId=STATEMENT_ID)
    if source_arn is not None:
        client.add_permission(
            FunctionName=function,
            StatementId=STATEMENT_ID,
            Action="lambda:InvokeFunction",
            Principal="apigateway.amazonaws.com",
            SourceArn=source_arn,
        )
    try:
        yield statement["Condition"]["ArnLike"]["AWS:SourceArn"]
    finally:
        with suppress(client.exceptions.ResourceNotFoundException):  # it was removed and not replaced
            client.remove_permission(FunctionName=function, StatementId=STATEMENT_ID)
        client.add_permission(
            FunctionName=function,
            StatementId=STATEMENT_ID,
            Action="lambda:InvokeFunction",
            Principal="apigateway.amazonaws.com",
            SourceArn=statement["Condition"]["ArnLike"]["AWS:SourceArn"],
        )


def test_the_deployment_file_describes_what_the_emulator_holds(local, described):
    assert set(described.regions) == set(local.config.regions)
    assert len(described.account_id) == 12 and described.account_id.isdigit()
    for region, served in described.regions.items():
        assert served.api_url == local.deployment.urls[region] and served.api_url.endswith(f"/{served.stage}")
        apis = aws_client("apigateway", region, described.emulator_url).get_rest_apis()["items"]
        assert served.rest_api_id in {api["id"] for api in apis}
        assert set(served.functions) == set(deployment_file.FUNCTIONS)
        for name in served.functions.values():
            lambda_client(described, region).get_function_configuration(FunctionName=name)


def test_smoke_passes_in_every_region_through_the_gateway_reading_the_file(local):
    result = subprocess.run(
        [sys.executable, "-m", "ops.smoke", "--deployment", str(local.state_dir / "deployment.json")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # 5 per region, then 5 through the global URL the file names
    assert f"smoke: {5 * len(local.config.regions) + 5} passed, 0 failed" in result.stdout


def test_an_unknown_path_is_missing_authentication_token(described):
    for served in described.regions.values():
        response = smoke.request("GET", served.api_url + "/nope")
        assert (response.status, response.json()) == (403, {"message": "Missing Authentication Token"})
        assert smoke.request("PUT", served.api_url + "/health").status == 403


def test_get_follows_its_lambda_permission(local, described):
    """Removed: 500. Restored: 200. Back to the old form ending in {item_id}: 500 again."""
    region = local.config.regions[0]
    served = described.regions[region]
    client, function = lambda_client(described, region), served.functions["get_item"]
    token = smoke_token(described)
    created = smoke.request("POST", served.api_url + "/items", {"item_id": "permission-probe"}, token=token)
    assert created.status == 201, created.body
    item_url = served.api_url + "/items/permission-probe"
    try:
        assert smoke.request("GET", item_url, token=token).status == 200
        with permission_replaced(client, function, None):
            response = smoke.request("GET", item_url, token=token)
            assert (response.status, response.json()) == (500, {"message": "Internal server error"})
        assert smoke.request("GET", item_url, token=token).status == 200
        with permission_replaced(client, function, None) as deployed_arn:
            old_form = deployed_arn.rsplit("/", 1)[0] + "/{item_id}"
            client.add_permission(
                FunctionName=function,
                StatementId=STATEMENT_ID,
                Action="lambda:InvokeFunction",
                Principal="apigateway.amazonaws.com",
                SourceArn=old_form,
            )
            assert smoke.request("GET", item_url, token=token).status == 500
        assert smoke.request("GET", item_url, token=token).status == 200
    finally:
        assert smoke.request("DELETE", item_url, token=token).status == 204
    log = (local.state_dir / f"gateway-{region}.log").read_text()
    assert f"Invalid permissions on Lambda function {function}" in log
    assert "/v1/GET/items/permission-probe" in log


def test_status_forced_on_one_regions_health_function(described, local):
    """STATUS=503 set through UpdateFunctionConfiguration, keeping the other variables: that
    region answers 503 (forced), the other 200; the next request after the restore is 200."""
    forced_region, other_region = local.config.regions[:2]
    client = lambda_client(described, forced_region)
    function = described.regions[forced_region].functions["health"]
    variables = client.get_function_configuration(FunctionName=function)["Environment"]["Variables"]
    assert "TABLE_NAME" in variables and "STATUS" not in variables
    client.update_function_configuration(
        FunctionName=function, Environment={"Variables": {**variables, "STATUS": "503"}}
    )
    try:
        forced = smoke.request("GET", described.regions[forced_region].api_url + "/health")
        assert forced.status == 503 and forced.json()["forced"] is True and forced.json()["region"] == forced_region
        other = smoke.request("GET", described.regions[other_region].api_url + "/health")
        assert other.status == 200 and other.json()["forced"] is False
    finally:
        client.update_function_configuration(FunctionName=function, Environment={"Variables": variables})
    assert client.get_function_configuration(FunctionName=function)["Environment"]["Variables"] == variables
    assert smoke.request("GET", described.regions[forced_region].api_url + "/health").status == 200
