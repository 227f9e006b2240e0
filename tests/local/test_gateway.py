"""The local gateway against moto's server run in-process on 127.0.0.1: a small REST API
and functions made through the AWS APIs (as Terraform would), code from a tiny zip run by
real execution environments. Path and method matching, the policy check, the event's
shape, timeouts and crashes, configuration changes, deployments and request bounds."""

from __future__ import annotations

import http.client
import io
import json
import socket
import threading
import time
import urllib.error
import urllib.request
import zipfile

import pytest
from moto.server import ThreadedMotoServer

from local import deployment_file, front_door, moto_fixes, request_validation
from local import gateway as local_gateway
from local.deployed_api import ApiSnapshot, Integration, Method, Resource
from local.emulator import aws_client, free_port

REGION = "eu-west-1"
ACCOUNT = "123456789012"
STAGE = "v1"

HANDLERS = """
import json, os, time

def echo(event, context):
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"},
            "body": json.dumps({"event": event, "environ": dict(os.environ), "module": __file__,
                                "remaining_ms": context.get_remaining_time_in_millis()})}

def sleep(event, context):
    time.sleep(float((event.get("queryStringParameters") or {}).get("seconds", "0")))
    return {"statusCode": 200, "body": str(os.getpid())}

def crash(event, context):
    os._exit(3)

def fail(event, context):
    raise RuntimeError("handler failed")

def size(event, context):
    return {"statusCode": 200, "body": str(len(event["body"] or ""))}

def noisy(event, context):
    print("printed by the handler " * 5000)
    return {"statusCode": 200, "body": "quiet answer"}

def malformed(event, context):
    return "not a proxy response"

def allow(event, context):
    return {"principalId": "anyone", "policyDocument": {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": event["methodArn"]}]}}
"""
IDENTITY_VALIDATION_EXPRESSION = r"^Bearer [-0-9a-zA-Z._]+$"
LAMBDA_TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)


def code_zip(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        zipped.writestr("testfn/__init__.py", "")
        zipped.writestr("testfn/app.py", source)
    return buffer.getvalue()


class Api:
    """Builds a REST API in the emulator the way Terraform does: resources, methods,
    AWS_PROXY integrations, a deployment and a stage, a permission per function."""

    def __init__(self, endpoint: str, zipped: bytes) -> None:
        self.apigateway = aws_client("apigateway", REGION, endpoint)
        self.lambda_ = aws_client("lambda", REGION, endpoint)
        iam = aws_client("iam", REGION, endpoint)
        self.role = iam.create_role(RoleName="fn", AssumeRolePolicyDocument=LAMBDA_TRUST)["Role"]["Arn"]
        self.zipped = zipped
        self.id = self.apigateway.create_rest_api(name="test")["id"]
        self.resources = {
            item["path"]: item["id"] for item in self.apigateway.get_resources(restApiId=self.id)["items"]
        }

    def function(self, name: str, handler: str, timeout: int = 3, code: bytes | None = None, **variables) -> str:
        arn = self.lambda_.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=self.role,
            Handler=handler,
            Timeout=timeout,
            Code={"ZipFile": code or self.zipped},
            Environment={"Variables": variables},
        )["FunctionArn"]
        self.permit(name, f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{self.id}/{STAGE}/*/*")
        return arn

    def permit(self, name: str, source_arn: str, statement_id: str = "apigateway") -> None:
        self.lambda_.add_permission(
            FunctionName=name,
            StatementId=statement_id,
            Action="lambda:InvokeFunction",
            Principal="apigateway.amazonaws.com",
            SourceArn=source_arn,
        )

    def resource(self, path: str) -> str:
        if path not in self.resources:
            parent, _, part = path.rpartition("/")
            parent_id = self.resource(parent or "/")
            self.resources[path] = self.apigateway.create_resource(
                restApiId=self.id, parentId=parent_id, pathPart=part
            )["id"]
        return self.resources[path]

    def route(
        self, method: str, path: str, function_arn: str, timeout_ms: int = 29000, auth: str = "NONE", **settings
    ) -> None:
        resource_id = self.resource(path)
        self.apigateway.put_method(
            restApiId=self.id, resourceId=resource_id, httpMethod=method, authorizationType=auth, **settings
        )
        self.apigateway.put_integration(
            restApiId=self.id,
            resourceId=resource_id,
            httpMethod=method,
            type="AWS_PROXY",
            integrationHttpMethod="POST",
            uri=f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{function_arn}/invocations",
            timeoutInMillis=timeout_ms,
        )

    def validated(self, method: str, path: str, function_arn: str) -> None:
        """A route whose body the API validates against an "Item" model (any JSON object)."""
        self.apigateway.create_model(
            restApiId=self.id, name="Item", contentType="application/json", schema='{"type": "object"}'
        )
        validator = self.apigateway.create_request_validator(
            restApiId=self.id, name="body", validateRequestBody=True, validateRequestParameters=False
        )["id"]
        self.route(method, path, function_arn, requestValidatorId=validator, requestModels={"application/json": "Item"})

    def authorized(self, path: str, function_arn: str) -> None:
        """GET ``path`` behind a TOKEN authorizer that allows every token it is given."""
        allow = self.function("allow", "testfn.app.allow")
        self.permit("allow", f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{self.id}/authorizers/*", "authorizer")
        authorizer = self.apigateway.create_authorizer(
            restApiId=self.id,
            name="jwt",
            type="TOKEN",
            authorizerUri=f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{allow}/invocations",
            identitySource="method.request.header.Authorization",
            identityValidationExpression=IDENTITY_VALIDATION_EXPRESSION,
            authorizerResultTtlInSeconds=0,
        )["id"]
        self.route("GET", path, function_arn, auth="CUSTOM", authorizerId=authorizer)

    def deploy(self) -> None:
        self.apigateway.create_deployment(restApiId=self.id, stageName=STAGE)


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    """moto's server, a REST API with every case below, and a gateway serving it."""
    root = tmp_path_factory.mktemp("gateway")
    moto_fixes.apply()  # as the emulator's server applies it
    emulator = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    emulator.start()
    endpoint = f"http://127.0.0.1:{emulator._port}"
    zipped = code_zip(HANDLERS)
    (root / "stack" / "assets" / "code" / "HASH").mkdir(parents=True)
    (root / "stack" / "assets" / "code" / "HASH" / "code.zip").write_bytes(zipped)
    api = Api(endpoint, zipped)
    echo = api.function("echo", "testfn.app.echo", STATUS="200")
    api.route("GET", "/items/{item_id}", echo)
    api.route("POST", "/items", echo)
    api.route("POST", "/size", api.function("size", "testfn.app.size"))
    api.route("GET", "/items/special", api.function("special", "testfn.app.echo", WHO="literal"))
    api.route("ANY", "/files/{path+}", echo)
    api.route("GET", "/iam", echo, auth="AWS_IAM")
    api.route("GET", "/slow", api.function("slow", "testfn.app.sleep", timeout=1))
    api.route("GET", "/patient", api.function("patient", "testfn.app.sleep", timeout=5), timeout_ms=1000)
    api.route("GET", "/crash", api.function("crash", "testfn.app.crash"))
    api.route("GET", "/fail", api.function("fail", "testfn.app.fail"))
    api.route("GET", "/malformed", api.function("malformed", "testfn.app.malformed"))
    api.route("GET", "/noisy", api.function("noisy", "testfn.app.noisy"))
    api.route("GET", "/stale", api.function("stale", "testfn.app.echo", code=code_zip(HANDLERS + "\n# changed\n")))
    locked = api.function("locked", "testfn.app.echo")
    api.lambda_.remove_permission(FunctionName="locked", StatementId="apigateway")
    api.permit("locked", f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api.id}/{STAGE}/GET/locked/{{item_id}}")
    api.route("GET", "/locked/{item_id}", locked)
    api.validated("POST", "/validated", echo)
    api.authorized("/authorized", echo)
    api.route("GET", "/throttled", echo)
    api.route("GET", "/default-throttled", echo)
    api.deploy()
    port = free_port()
    deployment = deployment_file.check(
        deployment_file.build(
            endpoint,
            ACCOUNT,
            root / "stack",
            {
                REGION: {
                    "api_url": f"http://127.0.0.1:{port}/{STAGE}",
                    "rest_api_id": api.id,
                    "stage": STAGE,
                    "functions": {},
                }
            },
        ),
        "test",
    )
    with (root / "gateway.log").open("w") as log:
        gateway = local_gateway.gateway_for(deployment, REGION, root, log)
        server = local_gateway.make_server(gateway, port, log)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        try:
            yield api, f"http://127.0.0.1:{port}/{STAGE}", root / "gateway.log", gateway
        finally:
            server.shutdown()
            server.server_close()
            gateway.environments.close()
            emulator.stop()


def call(url: str, method: str = "GET", body: bytes | None = None, headers: dict | None = None):
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read(), dict(response.headers.items())
    except urllib.error.HTTPError as err:
        return err.code, err.read(), dict(err.headers.items())


def event_of(url: str, method: str = "GET", body: bytes | None = None, headers: dict | None = None) -> dict:
    status, payload, _ = call(url, method, body, headers)
    assert status == 200, payload
    return json.loads(payload)


# --- path and method matching, on a snapshot (no server) ---------------------------------


def snapshot(*paths_and_methods: tuple[str, str]) -> ApiSnapshot:
    integration = Integration("AWS_PROXY", "", 29000)
    resources = {}
    for path, method in paths_and_methods:
        resources.setdefault(path, {})[method] = Method(method, "NONE", False, integration)
    return ApiSnapshot(
        "api",
        STAGE,
        "d1",
        tuple(Resource(f"r{n}", path, methods) for n, (path, methods) in enumerate(resources.items())),
    )


def test_a_literal_path_part_wins_over_a_variable_and_a_greedy_variable_takes_the_rest():
    api = snapshot(("/items/{item_id}", "GET"), ("/items/special", "GET"), ("/files/{path+}", "ANY"), ("/", "GET"))
    assert api.match("GET", "/items/special").resource.path == "/items/special"
    found = api.match("GET", "/items/42")
    assert found.resource.path == "/items/{item_id}" and found.path_parameters == {"item_id": "42"}
    greedy = api.match("DELETE", "/files/a/b/c.txt")
    assert greedy.method.http_method == "ANY" and greedy.path_parameters == {"path": "a/b/c.txt"}
    assert api.match("GET", "/").resource.path == "/"


def test_unknown_paths_and_methods_do_not_match():
    api = snapshot(("/items/{item_id}", "GET"), ("/files/{path+}", "ANY"))
    assert api.match("POST", "/items/42") is None  # the resource exists, the method does not
    assert api.match("GET", "/items") is None  # a parent without methods
    assert api.match("GET", "/items/42/more") is None
    assert api.match("GET", "/items/") is None  # an empty path part is no {item_id}
    assert api.match("GET", "/files") is None  # {path+} needs at least one part
    assert api.match("GET", "/nope") is None


# --- through HTTP, against the emulator ---------------------------------------------------


def test_unknown_routes_answer_like_api_gateway(deployed):
    _, base, _, _ = deployed
    for method, path in (("GET", "/nope"), ("PUT", "/items"), ("DELETE", "/items/special")):
        status, body, headers = call(base + path, method)
        assert (status, json.loads(body)) == (403, {"message": "Missing Authentication Token"}), (method, path)
        assert headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    status, body, _ = call(base.replace(f"/{STAGE}", "/v2") + "/items/1")
    assert (status, json.loads(body)) == (403, {"message": "Forbidden"})


def test_the_deployed_handler_gets_an_api_gateway_proxy_event(deployed):
    api, base, _, _ = deployed
    got = event_of(base + "/items/a%20b?tag=x&tag=y&empty=", headers={"User-Agent": "probe/1", "X-Multi": "1"})
    event = got["event"]
    assert set(event) == {
        "resource",
        "path",
        "httpMethod",
        "headers",
        "multiValueHeaders",
        "queryStringParameters",
        "multiValueQueryStringParameters",
        "pathParameters",
        "stageVariables",
        "requestContext",
        "body",
        "isBase64Encoded",
    }
    assert (event["resource"], event["path"], event["httpMethod"]) == ("/items/{item_id}", "/items/a%20b", "GET")
    assert event["pathParameters"] == {"item_id": "a b"}
    assert event["queryStringParameters"] == {"tag": "y", "empty": ""}
    assert event["multiValueQueryStringParameters"] == {"tag": ["x", "y"], "empty": [""]}
    assert event["headers"]["User-Agent"] == "probe/1" and event["multiValueHeaders"]["X-Multi"] == ["1"]
    assert event["headers"]["X-Forwarded-For"] == "127.0.0.1"
    assert event["body"] is None and event["isBase64Encoded"] is False and event["stageVariables"] is None
    context = event["requestContext"]
    resource_id = api.resources["/items/{item_id}"]
    assert {
        key: context[key]
        for key in ("accountId", "apiId", "resourceId", "resourcePath", "httpMethod", "path", "stage", "protocol")
    } == {
        "accountId": ACCOUNT,
        "apiId": api.id,
        "resourceId": resource_id,
        "resourcePath": "/items/{item_id}",
        "httpMethod": "GET",
        "path": f"/{STAGE}/items/a%20b",
        "stage": STAGE,
        "protocol": "HTTP/1.1",
    }
    assert context["identity"]["sourceIp"] == "127.0.0.1" and context["identity"]["userAgent"] == "probe/1"
    assert abs(context["requestTimeEpoch"] / 1000 - time.time()) < 60 and context["requestId"]


def test_bodies_arrive_as_text_without_binary_media_types(deployed):
    _, base, _, _ = deployed
    event = event_of(base + "/items", "POST", b'{"a": 1}', {"Content-Type": "application/json"})["event"]
    assert event["body"] == '{"a": 1}' and event["isBase64Encoded"] is False
    event = event_of(base + "/items", "POST", b"\xff\xfe", {"Content-Type": "application/octet-stream"})["event"]
    assert event["body"] == "\ufffd\ufffd" and event["isBase64Encoded"] is False


def test_routes_serve_their_own_function_and_methods(deployed):
    _, base, _, _ = deployed
    assert event_of(base + "/items/special")["environ"]["WHO"] == "literal"
    assert "WHO" not in event_of(base + "/items/1")["environ"]
    assert event_of(base + "/files/a/b.txt", "DELETE")["event"]["pathParameters"] == {"path": "a/b.txt"}


def test_the_environment_is_lambdas_with_the_deployed_variables_and_code(deployed, tmp_path):
    _, base, _, _ = deployed
    got = event_of(base + "/items/1")
    environ = got["environ"]
    assert environ["STATUS"] == "200" and environ["AWS_REGION"] == REGION and environ["AWS_DEFAULT_REGION"] == REGION
    assert environ["AWS_LAMBDA_FUNCTION_NAME"] == "echo" and environ["_HANDLER"] == "testfn.app.echo"
    assert (
        environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "128" and environ["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.12"
    )
    assert environ["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
    # The execution role's session, as Lambda gives it, not the emulator's root keys.
    assert environ["AWS_ACCESS_KEY_ID"].startswith("ASIA") and len(environ["AWS_SESSION_TOKEN"]) > 100
    assert environ["AWS_SECRET_ACCESS_KEY"] != "test"
    assert got["module"].startswith(environ["LAMBDA_TASK_ROOT"])  # imported from the extracted deployed zip
    assert 0 < got["remaining_ms"] <= 3000


def test_a_configuration_change_applies_to_the_next_request(deployed):
    api, base, _, _ = deployed
    before = event_of(base + "/items/1")["environ"]
    api.lambda_.update_function_configuration(FunctionName="echo", Environment={"Variables": {"STATUS": "503"}})
    try:
        after = event_of(base + "/items/1")["environ"]
        assert after["STATUS"] == "503" and after["AWS_LAMBDA_LOG_STREAM_NAME"] != before["AWS_LAMBDA_LOG_STREAM_NAME"]
    finally:
        api.lambda_.update_function_configuration(FunctionName="echo", Environment={"Variables": {"STATUS": "200"}})
    assert event_of(base + "/items/1")["environ"]["STATUS"] == "200"


def test_a_permission_that_does_not_match_the_request_arn_is_a_500_with_the_cause_logged(deployed):
    """The permission's source ARN ends in the literal {item_id}: issue 8's bug."""
    _, base, log, _ = deployed
    status, body, _ = call(base + "/locked/42")
    assert (status, json.loads(body)) == (500, {"message": "Internal server error"})
    line = json.loads(log.read_text().splitlines()[-1])
    assert "Invalid permissions on Lambda function locked" in line["error"] and line["route"] == "GET /locked/{item_id}"
    assert f"{ACCOUNT}:" in line["error"] and line["status"] == 500


def test_code_that_is_not_the_deployed_zip_is_refused(deployed):
    _, base, log, _ = deployed
    status, body, _ = call(base + "/stale")
    assert (status, json.loads(body)) == (500, {"message": "Internal server error"})
    assert "has the deployed CodeSha256" in log.read_text().splitlines()[-1]


def test_methods_that_need_authorization_fail_closed(deployed):
    _, base, _, _ = deployed
    assert call(base + "/iam")[0] == 403
    assert call(base + "/iam", headers={"Authorization": "AWS4-HMAC-SHA256 Credential=x"})[0] == 403


def test_a_function_timeout_is_a_502_and_the_environment_is_replaced(deployed):
    _, base, _, _ = deployed
    first = call(base + "/slow")
    started = time.monotonic()
    status, body, _ = call(base + "/slow?seconds=5")
    assert (status, json.loads(body)) == (502, {"message": "Internal server error"})
    assert 0.9 < time.monotonic() - started < 3
    after = call(base + "/slow")
    assert first[0] == after[0] == 200 and first[1] != after[1]  # another process (pid)


def test_the_integration_timeout_is_a_504(deployed):
    _, base, _, _ = deployed
    started = time.monotonic()
    status, body, _ = call(base + "/patient?seconds=3")
    assert (status, json.loads(body)) == (504, {"message": "Endpoint request timed out"})
    assert 0.9 < time.monotonic() - started < 2.5


@pytest.mark.parametrize("path", ["/crash", "/fail", "/malformed"])
def test_crashes_errors_and_malformed_responses_are_502(deployed, path):
    _, base, _, _ = deployed
    status, body, _ = call(base + path)
    assert (status, json.loads(body)) == (502, {"message": "Internal server error"})


def test_the_stage_serves_its_deployment_until_a_new_one(deployed):
    api, base, _, _ = deployed
    resource_id = api.resources["/items/special"]
    assert call(base + "/items/special")[0] == 200  # this deployment has been seen
    api.apigateway.delete_method(restApiId=api.id, resourceId=resource_id, httpMethod="GET")
    try:
        assert call(base + "/items/special")[0] == 200  # still deployed
        api.deploy()
        # The literal resource still exists and wins over {item_id}; it has no GET now.
        assert call(base + "/items/special")[0] == 403
    finally:
        api.route(
            "GET", "/items/special", api.lambda_.get_function(FunctionName="special")["Configuration"]["FunctionArn"]
        )
        api.deploy()
    assert "WHO" in event_of(base + "/items/special")["environ"]


# --- bounds -------------------------------------------------------------------------------


def raw_exchange(base: str, data: bytes, timeout: float = 10) -> bytes:
    port = int(base.split(":")[2].split("/")[0])
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        conn.sendall(data)
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)


def test_a_body_over_api_gateways_payload_limit_is_a_413_without_reading_it(deployed):
    _, base, _, _ = deployed
    connection = http.client.HTTPConnection(base.split("/")[2], timeout=10)
    connection.putrequest("POST", f"/{STAGE}/items")
    connection.putheader("Content-Length", str(front_door.MAX_BODY_BYTES + 1))
    connection.endheaders()
    response = connection.getresponse()
    assert (response.status, json.loads(response.read())) == (413, {"message": "Request Too Long"})
    connection.close()
    at_limit = call(base + "/size", "POST", b"x" * front_door.MAX_BODY_BYTES)
    assert at_limit[:2] == (200, str(front_door.MAX_BODY_BYTES).encode())


def test_chunked_bodies_are_read_and_capped(deployed):
    _, base, _, _ = deployed
    request = f"POST /{STAGE}/size HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    answer = raw_exchange(base, request.encode() + b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"\r\n\r\n5")
    huge = f"{front_door.MAX_BODY_BYTES + 1:x}\r\n".encode()
    assert raw_exchange(base, request.encode() + huge).startswith(b"HTTP/1.1 413")


def test_oversized_headers_are_refused(deployed):
    _, base, _, _ = deployed
    request = f"GET /{STAGE}/items/1 HTTP/1.1\r\nHost: x\r\nX-Big: {'a' * front_door.MAX_HEADER_BYTES}\r\n\r\n"
    assert raw_exchange(base, request.encode()).startswith(b"HTTP/1.1 431")


def test_a_slow_client_is_cut_off_at_the_request_deadline(deployed, monkeypatch):
    _, base, _, _ = deployed
    monkeypatch.setattr(front_door, "REQUEST_READ_DEADLINE_S", 1.0)
    started = time.monotonic()
    answer = raw_exchange(base, f"GET /{STAGE}/items/1 HTTP/1.1\r\nHost: x\r\n".encode())  # never finishes
    assert answer == b"" and time.monotonic() - started < 3
    assert call(base + "/items/1")[0] == 200  # the server still serves


def test_a_response_over_lambdas_payload_limit_is_a_502(deployed):
    _, base, _, _ = deployed
    status, body, _ = call(base + "/items", "POST", b"x" * (7 * 1024 * 1024))  # echoed back: over 6 MB
    assert (status, json.loads(body)) == (502, {"message": "Internal server error"})


def test_what_a_handler_prints_goes_to_the_log_not_into_its_answer(deployed):
    _, base, log, _ = deployed
    assert call(base + "/noisy")[:2] == (200, b"quiet answer")
    assert "printed by the handler" in log.read_text()


def test_connections_beyond_the_limit_are_told_to_come_back(deployed, monkeypatch, tmp_path):
    _, _, _, gateway = deployed
    with (tmp_path / "log").open("w") as log:
        server = local_gateway.make_server(gateway, 0, log, workers=1, waiting=0)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        try:
            holder = socket.create_connection(("127.0.0.1", server.server_address[1]), timeout=10)
            holder.sendall(b"GET /v1/items/1 HTTP/1.1\r\n")  # holds the one slot
            time.sleep(0.2)
            answer = raw_exchange(
                f"http://127.0.0.1:{server.server_address[1]}/v1", b"GET /v1/items/1 HTTP/1.1\r\n\r\n"
            )
            assert answer.startswith(b"HTTP/1.1 429") and answer.endswith(b'{"message": "Too Many Requests"}')
            holder.close()
        finally:
            server.shutdown()
            server.server_close()


def test_a_connection_no_worker_starts_within_the_queue_deadline_gets_429_with_retry_after(deployed, tmp_path):
    """A slow client holds the only worker (for up to 10 s); the next request is answered
    at the deadline instead of waiting for it."""
    _, _, _, gateway = deployed
    with (tmp_path / "log").open("w") as log:
        server = local_gateway.make_server(gateway, 0, log, workers=1, waiting=4, queue_deadline_s=0.3)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        try:
            holder = socket.create_connection(("127.0.0.1", server.server_address[1]), timeout=10)
            holder.sendall(b"GET /v1/items/1 HTTP/1.1\r\n")  # holds the one worker
            time.sleep(0.2)
            started = time.monotonic()
            answer = raw_exchange(
                f"http://127.0.0.1:{server.server_address[1]}/v1", b"GET /v1/items/1 HTTP/1.1\r\n\r\n"
            )
            waited = time.monotonic() - started
            holder.close()
        finally:
            server.shutdown()
            server.server_close()
    assert answer.startswith(b"HTTP/1.1 429") and b"\r\nRetry-After: 1\r\n" in answer, answer
    assert answer.endswith(b'{"message": "Too Many Requests"}')
    assert 0.3 <= waited < 2.0, waited


def json_answer(answer: bytes) -> tuple[int, dict]:
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"content-type: application/json" in head.lower(), head
    return int(head.split()[1]), json.loads(body)


@pytest.mark.parametrize(
    "length_headers",
    ["Content-Length: -1", "Content-Length: abc", "Content-Length: +2", "Content-Length: 2\r\nContent-Length: 3"],
)
def test_an_invalid_content_length_is_a_json_400(deployed, length_headers):
    _, base, _, _ = deployed
    request = f"POST /{STAGE}/size HTTP/1.1\r\nHost: x\r\n{length_headers}\r\nConnection: close\r\n\r\nab"
    assert json_answer(raw_exchange(base, request.encode())) == (400, {"message": "Bad Request"})


def test_malformed_chunks_and_request_lines_get_json_not_html(deployed):
    _, base, _, _ = deployed
    chunked = f"POST /{STAGE}/size HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n"
    assert json_answer(raw_exchange(base, chunked.encode())) == (400, {"message": "Bad Request"})
    assert json_answer(raw_exchange(base, b"GET /v1/items/1 HTTP/9.9\r\n\r\n"))[0] == 505
    assert json_answer(raw_exchange(base, b"NONSENSE\r\n\r\n"))[0] == 400


def test_json_nested_deeper_than_the_limit_is_a_400_and_within_it_passes(deployed):
    _, base, _, _ = deployed
    limit = request_validation.MAX_JSON_DEPTH
    within = b'{"a":' * (limit - 1) + b"[]" + b"}" * (limit - 1)
    assert call(base + "/validated", "POST", within, {"Content-Type": "application/json"})[0] == 200
    for depth in (limit + 1, 5000):
        deep = b'{"a":' * (depth - 1) + b"[]" + b"}" * (depth - 1)
        status, body, _ = call(base + "/validated", "POST", deep, {"Content-Type": "application/json"})
        assert (status, json.loads(body)) == (400, {"message": "Invalid request body"})


def test_a_body_over_the_stand_ins_element_bound_is_a_413_and_one_at_it_passes(deployed):
    """The stand-in's own bound (the emulator's DynamoDB reads 10,000 elements back in ~1 s): on
    any route, validated or not, before the handler runs; 400,000 empty strings included."""
    _, base, _, _ = deployed
    bound = request_validation.STAND_IN_MAX_ELEMENTS
    json_type = {"Content-Type": "application/json"}
    at_bound = json.dumps({"l": [""] * (bound - 1)}).encode()
    assert call(base + "/validated", "POST", at_bound, json_type)[0] == 200
    for body in ({"l": [""] * bound}, {"l": [""] * 400_000}, {f"k{n}": {} for n in range(bound + 1)}):
        for path in ("/validated", "/size"):
            status, answer, _ = call(base + path, "POST", json.dumps(body).encode(), json_type)
            assert (status, json.loads(answer)) == (413, {"message": request_validation.TOO_MANY_ELEMENTS}), path


def test_a_header_that_fails_the_identity_validation_expression_is_refused_before_the_authorizer(deployed):
    api, base, log, _ = deployed
    assert call(base + "/authorized", headers={"Authorization": "Bearer a.b.c"})[0] == 200
    for header in ("Bearer  a.b.c", "Basic dXNlcg==", "Bearer a.b.c "):
        status, body, _ = call(base + "/authorized", headers={"Authorization": header})
        assert (status, json.loads(body)) == (401, {"message": "Unauthorized"}), header
    assert "identity validation expression" in log.read_text()


def test_a_burst_past_capacity_is_answered_429_never_reset(deployed, tmp_path):
    _, _, _, gateway = deployed
    with (tmp_path / "log").open("w") as log:
        server = local_gateway.make_server(gateway, 0, log, workers=2, waiting=2)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_address[1]}/{STAGE}"
        request = f"POST /{STAGE}/size HTTP/1.1\r\nContent-Length: 65536\r\nConnection: close\r\n\r\n"
        outcomes: list[bytes] = []

        def one() -> None:
            try:
                outcomes.append(raw_exchange(base, request.encode() + b"x" * 65536, timeout=20))
            except ConnectionResetError:
                outcomes.append(b"reset")

        threads = [threading.Thread(target=one) for _ in range(60)]
        try:
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        finally:
            server.shutdown()
            server.server_close()
    statuses = sorted({answer.split(b"\r\n")[0] for answer in outcomes})
    assert statuses == [b"HTTP/1.1 200 OK", b"HTTP/1.1 429 Too Many Requests"], statuses
    assert all(answer.endswith((b"65536", b'{"message": "Too Many Requests"}')) for answer in outcomes)


def throttle(api, method_path: str, rate: float, burst: int) -> None:
    """As Terraform's aws_api_gateway_method_settings sets them: UpdateStage patch operations."""
    api.apigateway.update_stage(
        restApiId=api.id,
        stageName=STAGE,
        patchOperations=[
            {"op": "replace", "path": f"/{method_path}/throttling/rateLimit", "value": str(rate)},
            {"op": "replace", "path": f"/{method_path}/throttling/burstLimit", "value": str(burst)},
        ],
    )


def test_the_deployed_stage_and_method_throttles_answer_429(deployed):
    api, base, _, _ = deployed
    throttle(api, "~1throttled/GET", 0.001, 2)
    statuses = [call(base + "/throttled")[0] for _ in range(3)]
    status, body, headers = call(base + "/throttled")
    assert statuses[:2] == [200, 200] and (status, json.loads(body)) == (429, {"message": "Too Many Requests"})
    assert headers["x-amzn-ErrorType"] == "TooManyRequestsException"
    try:
        throttle(api, "*/*", 0.001, 1)  # the stage's default, for every method without its own
        assert [call(base + "/default-throttled")[0] for _ in range(2)] == [200, 429]
        assert call(base + "/items/special")[0] == 200  # its own bucket
    finally:
        throttle(api, "*/*", 10000, 5000)
        throttle(api, "~1throttled/GET", 10000, 5000)
    assert call(base + "/default-throttled")[0] == 200 and call(base + "/throttled")[0] == 200


def waf_rule(name: str, priority: int, statement: dict, action: dict | None = None) -> dict:
    visibility = {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": name}
    rule = {"Name": name, "Priority": priority, "Statement": statement, "VisibilityConfig": visibility}
    if "ManagedRuleGroupStatement" in statement:
        return {**rule, "OverrideAction": {"None": {}}}
    return {**rule, "Action": action or {"Block": {}}}


def text_match(kind: str, field: dict, **match) -> dict:
    return {kind: {"FieldToMatch": field, "TextTransformations": [{"Priority": 0, "Type": "LOWERCASE"}], **match}}


WAF_RULES = [
    waf_rule(
        "rate-limit-per-ip",
        0,
        {
            "RateBasedStatement": {
                "Limit": 10,
                "AggregateKeyType": "IP",
                "EvaluationWindowSec": 300,
                "ScopeDownStatement": {
                    "NotStatement": {
                        "Statement": text_match(
                            "ByteMatchStatement",
                            {"UriPath": {}},
                            SearchString=b"/v1/items/special",
                            PositionalConstraint="EXACTLY",
                        )
                    }
                },
            }
        },
        {"Block": {"CustomResponse": {"ResponseCode": 429, "CustomResponseBodyKey": "rate-limited"}}},
    ),
    waf_rule(
        "declared-length",
        1,
        text_match("RegexMatchStatement", {"SingleHeader": {"Name": "content-length"}}, RegexString=r"^[0-9]{4,}$"),
        {"Block": {"CustomResponse": {"ResponseCode": 413}}},
    ),
    waf_rule(
        "no-scanners",
        2,
        text_match(
            "ByteMatchStatement",
            {"SingleHeader": {"Name": "user-agent"}},
            SearchString=b"sqlmap",
            PositionalConstraint="CONTAINS",
        ),
    ),
    waf_rule(
        "count-big-bodies",
        3,
        text_match("SizeConstraintStatement", {"Body": {}}, ComparisonOperator="GT", Size=100),
        {"Count": {}},
    ),
    waf_rule(
        "aws-common", 4, {"ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": "AWSManagedRulesCommonRuleSet"}}
    ),
]


@pytest.fixture
def web_acl(deployed):
    """A web ACL with the stack's kinds of rules, associated with the stage while the test runs."""
    api, _, _, gateway = deployed
    wafv2 = aws_client("wafv2", REGION, api.apigateway.meta.endpoint_url)
    acl = wafv2.create_web_acl(
        Name=f"api-{time.time_ns()}",
        Scope="REGIONAL",
        DefaultAction={"Allow": {}},
        Rules=WAF_RULES,
        VisibilityConfig={"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": "api"},
        CustomResponseBodies={
            "rate-limited": {"ContentType": "APPLICATION_JSON", "Content": '{"message":"Too Many Requests"}'}
        },
    )["Summary"]
    stage = f"arn:aws:apigateway:{REGION}::/restapis/{api.id}/stages/{STAGE}"
    wafv2.associate_web_acl(WebACLArn=acl["ARN"], ResourceArn=stage)
    gateway.waf.refresh_s = 0  # read the association on every request
    try:
        yield
    finally:
        wafv2.disassociate_web_acl(ResourceArn=stage)


def test_the_web_acl_on_the_stage_applies_its_own_rules_with_their_actions(deployed, web_acl):
    _, base, log, _ = deployed
    assert call(base + "/items/1", headers={"User-Agent": "SQLMap/1.7"})[0] == 403  # lowercased, then matched
    status, body, _ = call(base + "/size", "POST", b"x" * 1000)  # Content-Length: 1000
    assert (status, body) == (413, b"")
    assert call(base + "/size", "POST", b"x" * 200)[:2] == (200, b"200")  # counted, not blocked
    for _ in range(3):
        assert call(base + "/items/special")[0] == 200  # outside the rate rule's scope-down
    statuses = [call(base + "/items/1")[0] for _ in range(8)]
    # the three requests above count too (blocked by a later rule or not): 10 pass, then 429
    assert statuses[:7] == [200] * 7 and statuses[7:] == [429], statuses
    status, body, _ = call(base + "/items/1")
    assert (status, json.loads(body)) == (429, {"message": "Too Many Requests"})
    assert call(base + "/items/special")[0] == 200
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    assert {
        "waf": "rule not evaluated",
        "rule": "aws-common",
        "why": "rule groups cannot be evaluated offline",
    } in lines
    assert any(line.get("waf_counted") == ["count-big-bodies"] for line in lines)
