"""A local API Gateway for one region, driven by what Terraform deployed to the emulator.

moto's API Gateway stores REST APIs but does not route requests, and its Lambda needs
Docker to invoke. This process does both from the deployed state, never from the stack's
source (it imports nothing from ``modules/``): per request it reads the stage's deployment
(re-reading resources, methods and integrations when the deployment changes), the target
function's configuration and its resource policy, and answers the way API Gateway does:

- no such resource or method: 403 ``{"message":"Missing Authentication Token"}``;
- the web ACL associated with the stage blocks the request (its own rules; managed rule
  groups are logged as not evaluated): the rule's answer (local/waf.py);
- the stage's default or the method's own throttle (the stage's method settings) has no
  token left: 429 ``{"message":"Too Many Requests"}`` (local/throttling.py);
- the function's resource policy does not let apigateway.amazonaws.com invoke it for
  ``arn:aws:execute-api:<region>:<account>:<api-id>/<stage>/<METHOD>/<path>``: 500
  ``{"message": "Internal server error"}`` and the cause in the log;
- a method with a Lambda authorizer: the authorizer runs as API Gateway runs it
  (local/authorizer_runner.py: 401, 403, 500, results cached per token for the TTL);
- a method with a request validator: required parameters and the body against its model
  (local/request_validation.py: 400 with API Gateway's messages);
- a MOCK integration (CORS preflights): the status its request template names and the
  static headers of that status's integration response (templates are not evaluated);
- API Gateway's own error answers carry the static headers of the API's DEFAULT_4XX /
  DEFAULT_5XX gateway responses (CORS);
- otherwise the deployed handler runs in an execution environment made from the
  function's deployed configuration and code (local/execution_environment.py), as its
  execution role (local/function_credentials.py: a role Lambda cannot assume is a 500),
  and its proxy response is returned; a function error, crash, timeout or malformed response is a
  502, the integration's own timeout a 504.

    python -m local.gateway --deployment .emulator/deployment.json --region eu-west-1
"""

from __future__ import annotations

import argparse
import base64
import fnmatch
import json
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO, Unpack
from urllib.parse import parse_qs, unquote, urlsplit

from local import deployment_file, faults, front_door, iam_policy, request_validation, throttling
from local import waf as waf_rules
from local.authorizer_runner import LocalAuthorizers, Refused
from local.deployed_api import (
    ApiReader,
    ApiSnapshot,
    FunctionConfig,
    FunctionNotFound,
    FunctionReader,
    RouteMatch,
    StageNotFound,
)
from local.emulator import LOOPBACK, aws_client
from local.execution_environment import CodeMismatch, CodeStore, EnvironmentPool, Outcome
from local.function_credentials import RoleCredentials, RoleRefused
from local.shared_reads import SharedReads

if TYPE_CHECKING:
    from local.deployed_api import Integration
    from local.deployment_file import Deployment
    from local.emulator import AwsClient

API_GATEWAY_PRINCIPAL = "apigateway.amazonaws.com"
INVOKE_ACTION = "lambda:InvokeFunction"
INVALID_PERMISSIONS = "Execution failed due to configuration error: Invalid permissions on Lambda function"
MALFORMED_RESPONSE = "Execution failed due to configuration error: Malformed Lambda proxy response"


@dataclass(frozen=True)
class GatewayRequest:
    method: str
    target: str  # path and query as sent: "/v1/items/a%20b?x=1"
    headers: list[tuple[str, str]]
    body: bytes = b""
    source_ip: str = LOOPBACK


@dataclass
class GatewayResponse:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    log: dict = field(default_factory=dict)  # what the access log line says about this request
    from_gateway: bool = False  # one of API Gateway's own answers (gets the gateway responses' headers)


def gateway_error(status: int, message: str, error_type: str, cause: str | None = None) -> GatewayResponse:
    """One of API Gateway's own responses (a "gateway response", not the function's)."""
    body = json.dumps({"message": message}).encode()
    headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", error_type)]
    return GatewayResponse(status, body, headers, {"error": cause or message}, from_gateway=True)


def gateway_response_headers(snapshot: ApiSnapshot, status: int) -> list[tuple[str, str]]:
    """The static headers of the API's DEFAULT_4XX or DEFAULT_5XX gateway response (values
    quoted like '...'); mapped values (request parameters, context) are not emulated."""
    configured = snapshot.gateway_responses.get("DEFAULT_4XX" if status < 500 else "DEFAULT_5XX") or {}
    prefix = "gatewayresponse.header."
    return [
        (key[len(prefix) :], value[1:-1])
        for key, value in (configured.get("responseParameters") or {}).items()
        if key.startswith(prefix) and len(value) >= 2 and value[0] == value[-1] == "'"
    ]


def missing_token() -> GatewayResponse:
    return gateway_error(403, "Missing Authentication Token", "MissingAuthenticationTokenException")


def too_many_requests() -> GatewayResponse:
    return gateway_error(429, "Too Many Requests", "TooManyRequestsException", "throttled by the stage's settings")


def internal_error(cause: str) -> GatewayResponse:
    return gateway_error(500, "Internal server error", "InternalServerErrorException", cause)


def bad_gateway(cause: str) -> GatewayResponse:
    return gateway_error(502, "Internal server error", "InternalServerErrorException", cause)


@dataclass(frozen=True)
class Region:
    """What the gateway serves: one region's REST API stage, from deployment.json."""

    name: str
    account_id: str
    rest_api_id: str
    stage: str

    def source_arn(self, http_method: str, path: str) -> str:
        """The ARN API Gateway invokes Lambda with: the actual path, without its leading /."""
        api = f"arn:aws:execute-api:{self.name}:{self.account_id}:{self.rest_api_id}"
        return f"{api}/{self.stage}/{http_method}/{path[1:]}"


def build_event(
    request: GatewayRequest,
    region: Region,
    route: RouteMatch,
    snapshot: ApiSnapshot,
    stage_variables: dict | None,
    request_id: str,
    now: float,
) -> dict:
    """A REST API (v1) proxy event, shaped as in "Input format of a Lambda function for
    proxy integration"."""
    split = urlsplit(request.target)
    query = parse_qs(split.query, keep_blank_values=True)
    headers = _forwarded_headers(request)
    body, is_base64 = _event_body(request.body, _header(headers, "content-type"), snapshot.binary_media_types)
    single = {name: value for name, value in headers}
    multi: dict[str, list[str]] = {}
    for name, value in headers:
        multi.setdefault(name, []).append(value)
    return {
        "resource": route.resource.path,
        "path": split.path[len(region.stage) + 1 :] or "/",
        "httpMethod": request.method,
        "headers": single or None,
        "multiValueHeaders": multi or None,
        "queryStringParameters": {name: values[-1] for name, values in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": {name: unquote(value) for name, value in route.path_parameters.items()} or None,
        "stageVariables": stage_variables or None,
        "requestContext": _request_context(request, region, route, split.path, request_id, now, single),
        "body": body,
        "isBase64Encoded": is_base64,
    }


def _request_context(
    request: GatewayRequest,
    region: Region,
    route: RouteMatch,
    full_path: str,
    request_id: str,
    now: float,
    headers: dict[str, str],
) -> dict:
    host = _header(list(headers.items()), "host") or ""
    return {
        "accountId": region.account_id,
        "apiId": region.rest_api_id,
        "resourceId": route.resource.id,
        "resourcePath": route.resource.path,
        "httpMethod": request.method,
        "path": full_path,
        "stage": region.stage,
        "requestId": request_id,
        "extendedRequestId": request_id,
        "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
        "requestTimeEpoch": int(now * 1000),
        "protocol": "HTTP/1.1",
        "domainName": host,
        "domainPrefix": host.split(".")[0],
        "identity": {
            "sourceIp": request.source_ip,
            "userAgent": _header(list(headers.items()), "user-agent"),
            "accessKey": None,
            "accountId": None,
            "caller": None,
            "user": None,
            "userArn": None,
            "cognitoAuthenticationProvider": None,
            "cognitoAuthenticationType": None,
            "cognitoIdentityId": None,
            "cognitoIdentityPoolId": None,
            "principalOrgId": None,
        },
    }


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    return next((value for key, value in reversed(headers) if key.lower() == name), None)


def _forwarded_headers(request: GatewayRequest) -> list[tuple[str, str]]:
    """The client's headers plus the ones API Gateway adds on the way to the integration."""
    headers = list(request.headers)
    present = {name.lower() for name, _ in headers}
    added = {
        "X-Forwarded-For": request.source_ip,
        "X-Forwarded-Proto": "http",
        "X-Amzn-Trace-Id": f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}",
    }
    headers += [(name, value) for name, value in added.items() if name.lower() not in present]
    return headers


def _event_body(body: bytes, content_type: str | None, binary_media_types: tuple[str, ...]) -> tuple[str | None, bool]:
    """Text unless the content type is one of the API's binary media types (base64 then).
    Without binary media types API Gateway passes the payload as text: bytes that are not
    UTF-8 become U+FFFD here."""
    if not body:
        return None, False
    media_type = (content_type or "").split(";")[0].strip().lower()
    if any(fnmatch.fnmatch(media_type, pattern.lower()) for pattern in binary_media_types):
        return base64.b64encode(body).decode("ascii"), True
    return body.decode("utf-8", errors="replace"), False


def mock_response(integration: Integration, content_type: str | None) -> GatewayResponse:
    """A MOCK integration's answer: the ``statusCode`` its request template names (a plain
    JSON template; VTL is not evaluated: 500), that status's integration response with its
    static header values; response templates are not evaluated, so the body is empty."""
    templates = integration.request_templates
    media_type = (content_type or "application/json").split(";")[0].strip().lower()
    template = templates.get(media_type) or templates.get("application/json")
    try:
        status = str(int(json.loads(template or "")["statusCode"]))
    except (TypeError, ValueError, KeyError):
        return internal_error("the MOCK integration's request template is not plain JSON with a statusCode")
    configured = integration.responses.get(status)
    if configured is None:
        return internal_error(f"the MOCK integration has no integration response for {status}")
    prefix = "method.response.header."
    headers = [
        (key[len(prefix) :], value[1:-1])
        for key, value in (configured.get("responseParameters") or {}).items()
        if key.startswith(prefix) and len(value) >= 2 and value[0] == value[-1] == "'"
    ]
    return GatewayResponse(int(status), b"", headers, {"integration": "MOCK"})


def proxy_response(result: object) -> GatewayResponse:
    """The function's proxy result as an HTTP response; anything malformed is a 502."""
    if not isinstance(result, dict):
        return bad_gateway(f"{MALFORMED_RESPONSE} (not an object)")
    try:
        status = int(result.get("statusCode", 200))
        headers = [(str(name), str(value)) for name, value in (result.get("headers") or {}).items()]
        for name, values in (result.get("multiValueHeaders") or {}).items():
            headers += [(str(name), str(value)) for value in values if (str(name), str(value)) not in headers]
        raw = result.get("body")
        if raw is not None and not isinstance(raw, str):
            raise TypeError("body is not a string")
        body = base64.b64decode(raw or "", validate=True) if result.get("isBase64Encoded") else (raw or "").encode()
    except (TypeError, ValueError, AttributeError) as err:
        return bad_gateway(f"{MALFORMED_RESPONSE} ({err})")
    if not 100 <= status <= 599:
        return bad_gateway(f"{MALFORMED_RESPONSE} (statusCode {status})")
    return GatewayResponse(status, body, headers)


class Gateway:
    """Answers one region's requests from the deployed configuration (no HTTP here)."""

    def __init__(
        self,
        region: Region,
        api: ApiReader,
        functions: FunctionReader,
        environments: EnvironmentPool,
        waf: waf_rules.WafReader | None = None,
    ) -> None:
        self.region, self.api, self.functions, self.environments = region, api, functions, environments
        self.waf = waf
        self.authorizers = LocalAuthorizers(region, functions, environments)
        self.buckets = throttling.Buckets()
        # A burst's requests share their emulator reads (each still sees what was deployed
        # when it arrived): local/shared_reads.py.
        self.reads = SharedReads()

    def handle(self, request: GatewayRequest) -> GatewayResponse:
        started, request_id = time.time(), str(uuid.uuid4())
        response = self._route(request, request_id, started)
        response.headers += [("x-amzn-RequestId", request_id), ("x-amz-apigw-id", request_id[:16])]
        response.log.update(
            {"requestId": request_id, "status": response.status, "latency_ms": round((time.time() - started) * 1000, 1)}
        )
        response.log.setdefault("route", f"{request.method} {urlsplit(request.target).path}")
        return response

    def _route(self, request: GatewayRequest, request_id: str, started: float) -> GatewayResponse:
        path = urlsplit(request.target).path
        prefix = f"/{self.region.stage}"
        if not (path == prefix or path.startswith(prefix + "/")):
            return gateway_error(403, "Forbidden", "ForbiddenException", f"no stage in {path!r}")
        verdict = self._web_acl(request)
        if verdict is not None and verdict.blocked:
            headers = [("Content-Type", verdict.content_type)]
            return GatewayResponse(verdict.status, verdict.body, headers, verdict.log)
        response = self._serve(request, path[len(prefix) :] or "/", request_id, started)
        response.log.update(verdict.log if verdict else {})
        return response

    def _serve(self, request: GatewayRequest, path: str, request_id: str, started: float) -> GatewayResponse:
        """The stage's answer to a request WAF let through (``path`` without the stage)."""
        try:
            snapshot, stage_variables, method_settings = self.reads.get("stage", self.api.current)
        except StageNotFound as err:
            return gateway_error(403, "Forbidden", "ForbiddenException", str(err))
        route = snapshot.match(request.method, path)
        if route is None:
            return self._with_gateway_headers(snapshot, missing_token())
        if self._throttled(route, method_settings):
            return self._with_gateway_headers(snapshot, too_many_requests())
        authorized = self._authorize(request, route, snapshot, request_id)
        if isinstance(authorized, GatewayResponse):
            return self._with_gateway_headers(snapshot, authorized)
        invalid = self._validate(request, route, snapshot)
        if invalid is not None:
            return self._with_gateway_headers(snapshot, invalid)
        response = self._integrate(request, route, snapshot, stage_variables, request_id, started, authorized or None)
        response.log.setdefault("route", f"{request.method} {route.resource.path}")
        return self._with_gateway_headers(snapshot, response)

    def _web_acl(self, request: GatewayRequest) -> waf_rules.Verdict | None:
        """WAF decides first, as for API Gateway (local/waf.py); None without a web ACL."""
        acl = self.waf.current() if self.waf else None
        if acl is None:
            return None
        return acl.evaluate(
            waf_rules.WafRequest(request.method, request.target, request.headers, request.body, request.source_ip)
        )

    def _throttled(self, route: RouteMatch, method_settings: dict) -> bool:
        """The stage's or the method's throttle (local/throttling.py) has no token left."""
        limit = throttling.limit_for(throttling.limits(method_settings), route.resource.path, route.method.http_method)
        key = throttling.method_key(route.resource.path, route.method.http_method)
        return limit is not None and not self.buckets.take(key, limit)

    @staticmethod
    def _with_gateway_headers(snapshot: ApiSnapshot, response: GatewayResponse) -> GatewayResponse:
        if response.from_gateway:
            present = {name.lower() for name, _ in response.headers}
            response.headers += [
                (name, value)
                for name, value in gateway_response_headers(snapshot, response.status)
                if name.lower() not in present
            ]
        return response

    def _authorize(
        self, request: GatewayRequest, route: RouteMatch, snapshot: ApiSnapshot, request_id: str
    ) -> GatewayResponse | dict | None:
        """NONE and Lambda (CUSTOM) authorizers are emulated; the authorizer's context is
        returned for the event. Every other kind fails closed, with the reason logged."""
        kind = route.method.authorization_type
        if route.method.api_key_required:
            return gateway_error(403, "Forbidden", "ForbiddenException", "API keys are not emulated")
        if kind == "NONE":
            return None
        if kind == "CUSTOM":
            return self._custom(request, route, snapshot, request_id)
        if kind == "AWS_IAM" and _header(request.headers, "authorization") is None:
            return missing_token()
        if kind == "AWS_IAM":
            return gateway_error(403, "Forbidden", "IncompleteSignatureException", "SigV4 is not verified locally")
        return gateway_error(401, "Unauthorized", "UnauthorizedException", f"{kind} authorizers are not emulated")

    def _custom(
        self, request: GatewayRequest, route: RouteMatch, snapshot: ApiSnapshot, request_id: str
    ) -> GatewayResponse | dict | None:
        authorizer = snapshot.authorizers.get(route.method.authorizer_id)
        if authorizer is None:
            return internal_error(f"the method's authorizer {route.method.authorizer_id!r} does not exist")
        method_arn = self.region.source_arn(request.method, urlsplit(request.target).path[len(self.region.stage) + 1 :])
        try:
            context = self.authorizers.authorize(authorizer, request.headers, method_arn, request_id)
        except Refused as refused:
            body = json.dumps({"message": refused.message}).encode()
            return GatewayResponse(
                refused.status,
                body,
                [("Content-Type", "application/json"), ("x-amzn-ErrorType", refused.error_type)],
                {"error": refused.cause},
                from_gateway=True,
            )
        return context

    def _validate(self, request: GatewayRequest, route: RouteMatch, snapshot: ApiSnapshot) -> GatewayResponse | None:
        validator = snapshot.validators.get(route.method.request_validator_id)
        if route.method.request_validator_id and validator is None:
            return internal_error(
                f"the method's request validator {route.method.request_validator_id!r} does not exist"
            )
        split = urlsplit(request.target)
        try:
            request_validation.validate(
                validator,
                route.method,
                snapshot.models,
                {
                    "path_parameters": route.path_parameters,
                    "query": parse_qs(split.query, keep_blank_values=True),
                    "headers": request.headers,
                    "content_type": _header(request.headers, "content-type"),
                    "body": request.body,
                },
            )
        except request_validation.Invalid as invalid:
            error_type = "BadRequestException" if invalid.status == 400 else "RequestTooLargeException"
            return gateway_error(invalid.status, invalid.message, error_type, invalid.cause)
        return None

    def _integrate(
        self,
        request: GatewayRequest,
        route: RouteMatch,
        snapshot: ApiSnapshot,
        stage_variables: dict | None,
        request_id: str,
        started: float,
        authorizer_context: dict | None = None,
    ) -> GatewayResponse:
        integration = route.method.integration
        if integration is not None and integration.type == "MOCK":
            return mock_response(integration, _header(request.headers, "content-type"))
        function_arn = integration.function_arn if integration else None
        if integration is None or integration.type != "AWS_PROXY" or function_arn is None:
            kind = integration.type if integration else "no"
            return internal_error(f"{kind} integration to {integration.uri if integration else '-'} is not emulated")
        try:
            config = self.reads.get(("configuration", function_arn), lambda: self.functions.configuration(function_arn))
        except FunctionNotFound as err:
            return internal_error(f"Execution failed due to configuration error: {err}")
        source_arn = self.region.source_arn(request.method, urlsplit(request.target).path[len(self.region.stage) + 1 :])
        decision = iam_policy.evaluate(
            self.reads.get(("policy", function_arn), lambda: self.functions.policy(function_arn)),
            iam_policy.Request(
                API_GATEWAY_PRINCIPAL,
                INVOKE_ACTION,
                config.arn,
                {"aws:SourceArn": source_arn, "aws:SourceAccount": self.region.account_id},
            ),
        )
        if not decision.allowed:
            return internal_error(f"{INVALID_PERMISSIONS} {config.name} for {source_arn}: {decision.reason}")
        event = build_event(request, self.region, route, snapshot, stage_variables, request_id, started)
        if authorizer_context:
            event["requestContext"]["authorizer"] = authorizer_context
        return self._invoke(config, event, request_id, integration.timeout_ms / 1000)

    def _invoke(
        self, config: FunctionConfig, event: dict, request_id: str, integration_timeout_s: float
    ) -> GatewayResponse:
        """The function's deadline or the integration's, whichever comes first, decides
        between Lambda's timeout (502) and API Gateway's (504)."""
        function_first = config.timeout_s <= integration_timeout_s
        deadline = time.monotonic() + min(config.timeout_s, integration_timeout_s)
        try:
            outcome: Outcome = self.environments.invoke(config, event, request_id, deadline)
        except (CodeMismatch, RoleRefused) as err:
            return internal_error(f"{config.name}: {err}")
        if outcome.kind == "ok":
            return proxy_response(outcome.payload)
        if outcome.kind == "timeout" and not function_first:
            return gateway_error(
                504,
                "Endpoint request timed out",
                "InternalServerErrorException",
                f"integration timed out after {integration_timeout_s:g} s",
            )
        if outcome.kind == "timeout":
            return bad_gateway(f"Lambda: {config.name} task timed out after {config.timeout_s} s")
        if outcome.kind == "error":
            error_type = outcome.payload.get("errorType") if isinstance(outcome.payload, dict) else "?"
            return bad_gateway(f"Lambda execution failed due to a function error in {config.name}: {error_type}")
        return bad_gateway(f"Lambda: {config.name} execution environment failed: {outcome.detail}")


class GatewayHandler(front_door.FrontDoorHandler):
    """One connection: requests read within the bounds, answered by ``server.gateway``."""

    server_version = "local-api-gateway"
    server: GatewayServer

    def serve(self, body: bytes) -> None:
        request = GatewayRequest(self.command, self.path, list(self.headers.items()), body, self.client_address[0])
        try:
            response = self.server.gateway.handle(request)
        except Exception as err:  # an answer, never a dropped connection; the cause in the log
            self.close_connection = True
            response = internal_error(f"the local gateway failed: {type(err).__name__}: {err}")
        self._write(response)

    def refuse(self, refused: front_door.Refused) -> None:
        self._write(gateway_error(refused.status, refused.message, refused.error_type, refused.cause))

    def _write(self, response: GatewayResponse) -> None:
        # Logged before the answer leaves, so whoever reads the answer can find its line.
        log = self.server.log
        log.write(json.dumps({"region": self.server.gateway.region.name, **response.log}) + "\n")
        log.flush()
        self.send_response_only(response.status)
        for name, value in response.headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)
        self.wfile.flush()


class GatewayServer(front_door.FrontDoorServer):
    """An HTTP server on 127.0.0.1 answering with ``gateway`` within the front door's
    bounds; past its workers and queue, or past the queue deadline, API Gateway's throttling
    answer (429, with ``Retry-After``)."""

    busy = front_door.json_error(429, "Too Many Requests", "Retry-After: 1\r\n")

    def __init__(self, gateway: Gateway, port: int, log: TextIO, **capacity: Unpack[front_door.Capacity]) -> None:
        super().__init__((LOOPBACK, port), GatewayHandler, **capacity)
        self.gateway, self.log = gateway, log


def make_server(
    gateway: Gateway, port: int = 0, log: TextIO | None = None, **capacity: Unpack[front_door.Capacity]
) -> GatewayServer:
    """``capacity``: ``workers``, ``waiting``, ``queue_deadline_s`` (local/front_door.py's defaults)."""
    return GatewayServer(gateway, port, log if log is not None else sys.stderr, **capacity)


def gateway_for(deployment: Deployment, region: str, state_dir: Path, log: TextIO | None = None) -> Gateway:
    """The gateway of one region of a deployment file (docs/local-stand-in.md, "The deployment file")."""
    served = deployment.regions[region]
    endpoint = deployment.emulator_url
    clients = {region: aws_client("lambda", region, endpoint)}
    creating = threading.Lock()  # making boto3 clients is not thread-safe; using them is

    def lambda_client(function_region: str) -> AwsClient:
        with creating:
            if function_region not in clients:
                clients[function_region] = aws_client("lambda", function_region, endpoint)
            return clients[function_region]

    code = CodeStore(deployment.stack_dir, state_dir / "code")
    # Root clients of the emulator: each function runs as its execution role, assumed with them.
    credentials = RoleCredentials(aws_client("iam", region, endpoint), aws_client("sts", region, endpoint))
    web_acl = waf_rules.stage_arn(region, served.rest_api_id, served.stage)
    return Gateway(
        Region(region, deployment.account_id, served.rest_api_id, served.stage),
        ApiReader(aws_client("apigateway", region, endpoint), served.rest_api_id, served.stage),
        FunctionReader(lambda_client),
        EnvironmentPool(
            code, region, endpoint, log, faults=faults.Faults(faults.path_for(state_dir)), credentials=credentials
        ),
        waf_rules.WafReader(aws_client("wafv2", region, endpoint), web_acl, log if log is not None else sys.stderr),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve one region of a local deployment like API Gateway.")
    parser.add_argument(
        "--deployment", required=True, type=Path, help="the deployment file, e.g. .emulator/deployment.json"
    )
    parser.add_argument("--region", required=True)
    args = parser.parse_args(argv)
    deployment = deployment_file.load(args.deployment)
    if args.region not in deployment.regions:
        parser.error(f"--region {args.region!r} is not in {args.deployment} (has {', '.join(deployment.regions)})")
    gateway = gateway_for(deployment, args.region, args.deployment.parent)
    api_url = deployment.regions[args.region].api_url
    port = deployment_file.port(api_url, f"regions.{args.region}.api_url")
    switches = faults.Faults(faults.path_for(args.deployment.parent))
    stop = threading.Event()
    print(f"{args.region}: {api_url}", flush=True)
    try:
        # A region-outage fault closes the listening socket until it ends (local/faults.py).
        faults.serve_with_outages(lambda: make_server(gateway, port), lambda: switches.region_down(args.region), stop)
    except KeyboardInterrupt:
        pass
    finally:
        gateway.environments.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
