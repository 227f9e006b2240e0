"""Functions, and the authorizer, run as their execution roles (local/function_credentials.py):
the local gateway against the emulator's own server application on 127.0.0.1, with IAM
enforced, running the project's real handlers (and small test ones) from zips. A handler
calling what its role does not allow gets AccessDenied and answers as it maps it; the health
role reads the sentinel and no other key; a role Lambda may not assume is refused; a role
change or credentials near expiry start new environments."""

from __future__ import annotations

import io
import json
import logging
import threading
import urllib.request
import zipfile
from pathlib import Path

import pytest

from local import deployment_file, function_credentials
from local import gateway as local_gateway
from local.emulator import aws_client, free_port
from local.emulator_server import emulator_app
from tests.local.iam.test_enforcement import serve
from tests.local.test_gateway import ACCOUNT, LAMBDA_TRUST, REGION, STAGE, Api, call, code_zip

PROJECT = Path(__file__).resolve().parents[2]
SENTINEL = "__health_sentinel__"
TABLE_ARN = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/"
# These tests are about roles, not deadlines: the handlers make a boto3 client per call, which
# under make test's load (five workers on two cores) has taken past Lambda's default 3 s.
FUNCTION_TIMEOUT_S = 15

HANDLERS = """
import json, os
import boto3

def whoami(event, context):
    arn = boto3.client("sts").get_caller_identity()["Arn"]
    return {"statusCode": 200, "body": json.dumps({"arn": arn, "key": os.environ["AWS_ACCESS_KEY_ID"],
                                                   "authorizer": event["requestContext"].get("authorizer")})}

def peek(event, context):
    key = event["queryStringParameters"]["key"]
    try:
        found = boto3.client("dynamodb").get_item(TableName=os.environ["TABLE_NAME"], Key={"item_id": {"S": key}})
    except boto3.exceptions.botocore.exceptions.ClientError as err:
        return {"statusCode": 403, "body": json.dumps({"code": err.response["Error"]["Code"]})}
    return {"statusCode": 200, "body": json.dumps({"found": "Item" in found})}

def authorize(event, context):
    arn = boto3.client("sts").get_caller_identity()["Arn"]
    return {"principalId": "user", "context": {"arn": arn}, "policyDocument": {"Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": event["methodArn"]}]}}
"""


def functions_zip() -> bytes:
    """The project's handlers, zipped as the stack's asset is (the ``functions`` package)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        for source in sorted((PROJECT / "functions").glob("*.py")):
            zipped.write(source, f"functions/{source.name}")
    return buffer.getvalue()


def table_policy(table: str, leading_keys: list[str] | None = None) -> dict:
    """GetItem on one table; with ``leading_keys``, the health route's condition as the stack
    writes it (modules/constructs/regional_api.py)."""
    statement: dict = {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": TABLE_ARN + table}
    if leading_keys:
        statement["Condition"] = {
            "ForAllValues:StringEquals": {"dynamodb:LeadingKeys": leading_keys},
            "Null": {"dynamodb:LeadingKeys": "false"},
        }
    return {"Version": "2012-10-17", "Statement": [statement]}


def make_role(endpoint: str, name: str, policy: dict | None = None, trust: str = LAMBDA_TRUST) -> str:
    iam = aws_client("iam", REGION, endpoint)
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    if policy is not None:
        iam.put_role_policy(RoleName=name, PolicyName="least-privilege", PolicyDocument=json.dumps(policy))
    return arn


def make_tables(endpoint: str) -> None:
    dynamodb = aws_client("dynamodb", REGION, endpoint)
    for name in ("items", "other"):
        dynamodb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "item_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "item_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        for key in ("a", SENTINEL):
            dynamodb.put_item(TableName=name, Item={"item_id": {"S": key}})


def build_api(endpoint: str, test: bytes, real: bytes) -> Api:
    api = Api(endpoint, test)
    roles = {
        "reader": make_role(endpoint, "reader", table_policy("items")),
        "health": make_role(endpoint, "health", table_policy("items", [SENTINEL])),
        "nothing": make_role(endpoint, "nothing"),
        "untrusted": make_role(endpoint, "untrusted", trust=LAMBDA_TRUST.replace("lambda.", "ec2.")),
    }

    def function(name: str, handler: str, role: str, code: bytes | None = None, **variables) -> str:
        arn = api.function(name, handler, timeout=FUNCTION_TIMEOUT_S, code=code, **variables)
        api.lambda_.update_function_configuration(FunctionName=name, Role=roles[role])
        return arn

    get_item = function("get_item", "functions.items.get_item", "reader", real, TABLE_NAME="items")
    api.route("GET", "/items/{item_id}", get_item)
    api.route("GET", "/health", function("health", "functions.health.check", "health", real, TABLE_NAME="items"))
    api.route("GET", "/peek", function("peek", "testfn.app.peek", "health", TABLE_NAME="items"))
    api.route("GET", "/whoami", function("whoami", "testfn.app.whoami", "nothing"))
    api.route("GET", "/untrusted", function("untrusted", "testfn.app.whoami", "untrusted"))
    authorizer = function("authorize", "testfn.app.authorize", "nothing")
    api.permit("authorize", f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api.id}/authorizers/*", "authorizer")
    authorizer_id = api.apigateway.create_authorizer(
        restApiId=api.id,
        name="roles",
        type="TOKEN",
        authorizerUri=f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{authorizer}/invocations",
        identitySource="method.request.header.Authorization",
        authorizerResultTtlInSeconds=0,
    )["id"]
    api.route(
        "GET",
        "/authorized",
        function("behind", "testfn.app.whoami", "nothing"),
        auth="CUSTOM",
        **{"authorizerId": authorizer_id},
    )
    api.deploy()
    return api


def reset(endpoint: str) -> None:
    """moto's documented reset of every backend."""
    urllib.request.urlopen(urllib.request.Request(endpoint + "/moto-api/reset", method="POST"), timeout=30).close()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The emulator application (IAM enforced), the API above, and a gateway serving it."""
    root = tmp_path_factory.mktemp("roles")
    endpoint, emulator = serve(emulator_app())
    reset(endpoint)  # moto's state is the process's: other modules' servers made their own "fn" role
    make_tables(endpoint)
    test, real = code_zip(HANDLERS), functions_zip()
    api = build_api(endpoint, test, real)
    assets = root / "stack" / "assets"
    for name, zipped in (("test", test), ("functions", real)):
        (assets / name).mkdir(parents=True)
        (assets / name / "code.zip").write_bytes(zipped)
    port = free_port()
    served_region = {"api_url": f"http://127.0.0.1:{port}/{STAGE}", "rest_api_id": api.id, "stage": STAGE}
    deployment = deployment_file.check(
        deployment_file.build(endpoint, ACCOUNT, root / "stack", {REGION: {**served_region, "functions": {}}}), "test"
    )
    with (root / "gateway.log").open("w") as log:
        gateway = local_gateway.gateway_for(deployment, REGION, root, log)
        server = local_gateway.make_server(gateway, port, log)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        try:
            yield api, f"http://127.0.0.1:{port}/{STAGE}", root / "gateway.log"
        finally:
            server.shutdown()
            server.server_close()
            gateway.environments.close()
            reset(endpoint)
            emulator.shutdown()  # type: ignore[attr-defined]


def answer(url: str, headers: dict | None = None) -> tuple[int, dict, dict]:
    status, body, response_headers = call(url, headers=headers)
    return status, json.loads(body), response_headers


def test_a_function_runs_as_its_execution_role(served):
    _, base, _ = served
    status, body, _ = answer(base + "/whoami")
    assert status == 200 and body["arn"].startswith(f"arn:aws:sts::{ACCOUNT}:assumed-role/nothing/")
    assert body["key"].startswith("ASIA")


def test_a_call_the_role_does_not_allow_is_access_denied_and_the_handler_answers_500(served, tmp_path):
    api, base, log = served
    status, body, _ = answer(base + "/items/a")
    assert (status, body["item_id"]) == (200, "a")  # the table its role names
    api.lambda_.update_function_configuration(
        FunctionName="get_item", Environment={"Variables": {"TABLE_NAME": "other"}}
    )
    try:
        status, body, headers = answer(base + "/items/a")
    finally:
        api.lambda_.update_function_configuration(
            FunctionName="get_item", Environment={"Variables": {"TABLE_NAME": "items"}}
        )
    assert status == 500 and body["error"]["code"] == "InternalError"
    assert body["error"]["request_id"] == headers["x-amzn-RequestId"]
    assert "AccessDeniedException" in log.read_text()  # the handler's own traceback, in the function's log


def test_the_health_role_reads_the_sentinel_and_no_other_key(served):
    _, base, _ = served
    status, body, _ = answer(base + "/health")
    assert status == 200 and body["status"] == "ok"
    assert answer(base + f"/peek?key={SENTINEL}")[:2] == (200, {"found": True})
    assert answer(base + "/peek?key=a")[:2] == (403, {"code": "AccessDeniedException"})


def test_the_health_check_on_a_table_its_role_does_not_name_answers_503(served):
    api, base, _ = served
    api.lambda_.update_function_configuration(FunctionName="health", Environment={"Variables": {"TABLE_NAME": "other"}})
    try:
        status, body, _ = answer(base + "/health")
    finally:
        api.lambda_.update_function_configuration(
            FunctionName="health", Environment={"Variables": {"TABLE_NAME": "items"}}
        )
    assert (status, body["reason"]) == (503, "DynamoDB answered AccessDeniedException")


def test_a_role_change_through_the_lambda_api_applies_to_the_next_request(served):
    api, base, _ = served
    before = answer(base + "/whoami")[1]
    api.lambda_.update_function_configuration(FunctionName="whoami", Role=f"arn:aws:iam::{ACCOUNT}:role/reader")
    try:
        after = answer(base + "/whoami")[1]
    finally:
        api.lambda_.update_function_configuration(FunctionName="whoami", Role=f"arn:aws:iam::{ACCOUNT}:role/nothing")
    assert "assumed-role/nothing/" in before["arn"] and "assumed-role/reader/" in after["arn"]


def test_a_role_whose_trust_policy_does_not_name_lambda_is_refused_with_a_log_line(served, caplog):
    _, base, log = served
    with caplog.at_level(logging.WARNING, logger="local.function_credentials"):
        status, body, _ = answer(base + "/untrusted")
    assert (status, body) == (500, {"message": "Internal server error"})
    cause = f"the trust policy of arn:aws:iam::{ACCOUNT}:role/untrusted does not let lambda.amazonaws.com assume it"
    assert cause in caplog.text and cause in json.loads(log.read_text().splitlines()[-1])["error"]


def test_the_authorizer_runs_as_its_role(served):
    _, base, _ = served
    status, body, _ = answer(base + "/authorized", headers={"Authorization": "Bearer x"})
    assert status == 200 and "assumed-role/nothing/authorize" in body["authorizer"]["arn"]
    assert "assumed-role/nothing/behind" in body["arn"]


def test_credentials_close_to_expiry_are_refreshed_in_a_new_environment(served, monkeypatch):
    _, base, _ = served
    warm = [answer(base + "/whoami")[1]["key"] for _ in range(2)]
    assert warm[0] == warm[1]  # a warm environment keeps its session
    monkeypatch.setattr(function_credentials, "REFRESH_MARGIN_S", function_credentials.SESSION_S + 60)
    refreshed = [answer(base + "/whoami")[1]["key"] for _ in range(2)]
    assert len({warm[0], *refreshed}) == 3  # every session is now due: a new one per environment
