"""What Terraform deployed, read back from the emulator's API Gateway and Lambda APIs.

``ApiReader`` snapshots a REST API's resources, methods and integrations once per
deployment id and re-reads them when the stage points at a new deployment, because API
Gateway serves a stage's last deployment, not the API's current methods. Limit: the
emulator keeps no copy of a deployment, so the snapshot is what the API looked like when
this process first saw that deployment id; a gateway started after a method changed
without a redeploy serves the changed method.

``FunctionReader`` reads a function's configuration and resource policy as they are now
(Lambda applies a configuration change to the next invocation).

Nothing here knows the stack's routes: it serves whatever the API holds.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from local.emulator import AwsClient

# API Gateway's Lambda integration URI: the invoke path of one function (maybe qualified).
LAMBDA_URI = re.compile(
    r"^arn:aws[a-z-]*:apigateway:[a-z0-9-]+:lambda:path/2015-03-31/functions/"
    r"(?P<function_arn>arn:aws[a-z-]*:lambda:(?P<region>[a-z0-9-]+):\d{12}:function:[^/]+)/invocations$"
)
DEFAULT_INTEGRATION_TIMEOUT_MS = 29000


@dataclass(frozen=True)
class Integration:
    type: str
    uri: str
    timeout_ms: int
    # MOCK integrations: content type -> template; status code -> its integration response.
    request_templates: dict = field(default_factory=dict)
    responses: dict = field(default_factory=dict)

    @property
    def function_arn(self) -> str | None:
        """The Lambda function an AWS_PROXY integration invokes, or None."""
        match = LAMBDA_URI.match(self.uri or "")
        return match.group("function_arn") if match else None


@dataclass(frozen=True)
class Method:
    http_method: str
    authorization_type: str
    api_key_required: bool
    integration: Integration | None
    authorizer_id: str | None = None
    request_validator_id: str | None = None
    request_models: dict = field(default_factory=dict)  # content type -> model name
    request_parameters: dict = field(default_factory=dict)  # "method.request.path.x" -> required


@dataclass(frozen=True)
class Authorizer:
    """A Lambda authorizer as GetAuthorizer describes it."""

    id: str
    type: str
    identity_source: str
    validation_expression: str | None
    ttl_s: int
    function_arn: str | None


@dataclass(frozen=True)
class Validator:
    validate_body: bool
    validate_parameters: bool


@dataclass(frozen=True)
class Resource:
    id: str
    path: str  # "/items/{item_id}"
    methods: dict[str, Method]

    @property
    def parts(self) -> list[str]:
        return [] if self.path == "/" else self.path.strip("/").split("/")


@dataclass(frozen=True)
class RouteMatch:
    resource: Resource
    method: Method
    path_parameters: dict[str, str]


@dataclass
class _Node:
    resource: Resource | None = None
    literals: dict[str, _Node] = field(default_factory=dict)
    variable: tuple[str, _Node] | None = None
    greedy: tuple[str, _Node] | None = None


@dataclass(frozen=True)
class ApiSnapshot:
    rest_api_id: str
    stage: str
    deployment_id: str
    resources: tuple[Resource, ...]
    binary_media_types: tuple[str, ...] = ()
    authorizers: dict = field(default_factory=dict)  # id -> Authorizer
    validators: dict = field(default_factory=dict)  # id -> Validator
    models: dict = field(default_factory=dict)  # name -> JSON schema (dict)
    gateway_responses: dict = field(default_factory=dict)  # response type -> {"statusCode", "responseParameters"}

    @cached_property
    def _tree(self) -> _Node:
        return _tree(self.resources)

    def match(self, http_method: str, path: str) -> RouteMatch | None:
        """The resource and method serving ``path`` (without the stage), as API Gateway
        picks them: a literal path part before a ``{variable}``, a ``{greedy+}`` last;
        the method itself, else ``ANY``. None: API Gateway's 403 Missing Authentication Token."""
        found = _walk(self._tree, _segments(path), 0, {})
        if found is None:
            return None
        resource, parameters = found
        method = resource.methods.get(http_method) or resource.methods.get("ANY")
        return RouteMatch(resource, method, parameters) if method else None


def _segments(path: str) -> list[str]:
    return [] if path in ("", "/") else path[1:].split("/") if path.startswith("/") else path.split("/")


def _tree(resources: tuple[Resource, ...]) -> _Node:
    root = _Node()
    for resource in resources:
        node = root
        for part in resource.parts:
            if part.startswith("{") and part.endswith("+}"):
                node.greedy = node.greedy or (part[1:-2], _Node())
                node = node.greedy[1]
            elif part.startswith("{") and part.endswith("}"):
                node.variable = node.variable or (part[1:-1], _Node())
                node = node.variable[1]
            else:
                node = node.literals.setdefault(part, _Node())
        node.resource = resource
    return root


def _walk(
    node: _Node, segments: list[str], index: int, params: dict[str, str]
) -> tuple[Resource, dict[str, str]] | None:
    if index == len(segments):
        return (node.resource, params) if node.resource else None
    segment = segments[index]
    if segment in node.literals:
        found = _walk(node.literals[segment], segments, index + 1, params)
        if found:
            return found
    if node.variable and segment:
        name, child = node.variable
        found = _walk(child, segments, index + 1, {**params, name: segment})
        if found:
            return found
    if node.greedy and segment:
        name, child = node.greedy
        if child.resource:
            return child.resource, {**params, name: "/".join(segments[index:])}
    return None


class StageNotFound(LookupError):
    pass


class ApiReader:
    """One REST API stage on the emulator; ``current()`` costs one GetStage per call and a
    full read only when the stage's deployment changes."""

    def __init__(self, apigateway: AwsClient, rest_api_id: str, stage: str) -> None:
        self.client, self.rest_api_id, self.stage = apigateway, rest_api_id, stage
        self._snapshots: dict[str, ApiSnapshot] = {}
        self._lock = threading.Lock()

    def current(self) -> tuple[ApiSnapshot, dict[str, str], dict]:
        """The snapshot of the stage's deployment, and the stage's variables and method
        settings (``methodSettings``: throttles) as they are now."""
        try:
            stage = self.client.get_stage(restApiId=self.rest_api_id, stageName=self.stage)
        except self.client.exceptions.NotFoundException:
            raise StageNotFound(f"no stage {self.stage!r} on REST API {self.rest_api_id}") from None
        deployment_id = stage["deploymentId"]
        with self._lock:
            if deployment_id not in self._snapshots:
                self._snapshots[deployment_id] = self._read(deployment_id)
            snapshot = self._snapshots[deployment_id]
        return snapshot, dict(stage.get("variables") or {}), dict(stage.get("methodSettings") or {})

    def _read(self, deployment_id: str) -> ApiSnapshot:
        api = self.client.get_rest_api(restApiId=self.rest_api_id)
        resources = []
        for page in self.client.get_paginator("get_resources").paginate(restApiId=self.rest_api_id, embed=["methods"]):
            for item in page["items"]:
                methods = {name: self._method(item["id"], name) for name in item.get("resourceMethods") or {}}
                resources.append(Resource(item["id"], item["path"], methods))
        return ApiSnapshot(
            self.rest_api_id,
            self.stage,
            deployment_id,
            tuple(resources),
            tuple(api.get("binaryMediaTypes") or ()),
            **self._api_settings(),
        )

    def _api_settings(self) -> dict:
        """Authorizers, request validators, models and gateway responses of the API."""
        rest_api_id = self.rest_api_id
        authorizers = {
            item["id"]: _authorizer(item)
            for item in self.client.get_authorizers(restApiId=rest_api_id).get("items") or []
        }
        validators = {
            item["id"]: Validator(bool(item.get("validateRequestBody")), bool(item.get("validateRequestParameters")))
            for item in self.client.get_request_validators(restApiId=rest_api_id).get("items") or []
        }
        models = {
            item["name"]: json.loads(item.get("schema") or "{}")
            for item in self.client.get_models(restApiId=rest_api_id).get("items") or []
        }
        responses = {
            item["responseType"]: item
            for item in self.client.get_gateway_responses(restApiId=rest_api_id).get("items") or []
        }
        return {"authorizers": authorizers, "validators": validators, "models": models, "gateway_responses": responses}

    def _method(self, resource_id: str, http_method: str) -> Method:
        method = self.client.get_method(restApiId=self.rest_api_id, resourceId=resource_id, httpMethod=http_method)
        raw = method.get("methodIntegration")
        integration = None
        if raw:
            integration = Integration(
                raw.get("type", ""),
                raw.get("uri", ""),
                int(raw.get("timeoutInMillis") or DEFAULT_INTEGRATION_TIMEOUT_MS),
                dict(raw.get("requestTemplates") or {}),
                dict(raw.get("integrationResponses") or {}),
            )
        return Method(
            http_method,
            method.get("authorizationType", "NONE"),
            bool(method.get("apiKeyRequired")),
            integration,
            method.get("authorizerId"),
            method.get("requestValidatorId"),
            dict(method.get("requestModels") or {}),
            dict(method.get("requestParameters") or {}),
        )


def _ttl(seconds: int | None) -> int:
    """API Gateway's default authorizer cache TTL is 300 s; 0 turns the cache off."""
    return 300 if seconds is None else int(seconds)


def _authorizer(item: dict) -> Authorizer:
    match = LAMBDA_URI.match(item.get("authorizerUri") or "")
    return Authorizer(
        item["id"],
        item.get("type", ""),
        item.get("identitySource", ""),
        item.get("identityValidationExpression"),
        _ttl(item.get("authorizerResultTtlInSeconds")),
        match.group("function_arn") if match else None,
    )


@dataclass(frozen=True)
class FunctionConfig:
    """The deployed settings a new execution environment is made from."""

    name: str
    arn: str
    handler: str
    runtime: str
    timeout_s: int
    memory_mb: int
    environment: dict[str, str]
    code_sha256: str
    role: str = ""  # the execution role's ARN

    @property
    def environment_key(self) -> str:
        """Equal for two configurations only if an environment made from one can serve the other."""
        return json.dumps(
            [self.handler, self.runtime, self.timeout_s, self.memory_mb, self.environment, self.code_sha256, self.role],
            sort_keys=True,
        )


class FunctionNotFound(LookupError):
    pass


class FunctionReader:
    """Lambda configuration and resource policy, read per call (``lambda_client(region)``
    gives the client for a function's region)."""

    def __init__(self, lambda_client: Callable[[str], AwsClient]) -> None:
        self.lambda_client = lambda_client

    def configuration(self, function_arn: str) -> FunctionConfig:
        client = self.lambda_client(function_arn.split(":")[3])
        try:
            raw = client.get_function_configuration(FunctionName=function_arn)
        except client.exceptions.ResourceNotFoundException:
            raise FunctionNotFound(f"function {function_arn} does not exist") from None
        return FunctionConfig(
            name=raw["FunctionName"],
            arn=raw["FunctionArn"],
            handler=raw.get("Handler", ""),
            runtime=raw.get("Runtime", ""),
            timeout_s=int(raw.get("Timeout") or 3),
            memory_mb=int(raw.get("MemorySize") or 128),
            environment=dict((raw.get("Environment") or {}).get("Variables") or {}),
            code_sha256=raw.get("CodeSha256", ""),
            role=raw.get("Role", ""),
        )

    def policy(self, function_arn: str) -> dict | None:
        """The function's resource policy, or None when it has none."""
        client = self.lambda_client(function_arn.split(":")[3])
        try:
            return json.loads(client.get_policy(FunctionName=function_arn)["Policy"])
        except client.exceptions.ResourceNotFoundException:
            return None
