"""API Gateway's Lambda authorizers (TOKEN type), run from the deployed configuration for
the local gateway (local/gateway.py), as the API Gateway developer guide describes:

- the identity source (``method.request.header.Authorization``) absent or empty, or not
  matching the identity validation expression: 401 ``{"message":"Unauthorized"}`` without
  invoking the function;
- otherwise the result cached for that token (``authorizerResultTtlInSeconds``; 0: no
  cache) is used, whatever the method and path: the cached *policy* is evaluated against
  this request's method ARN;
- else the function is invoked (its resource policy must let apigateway.amazonaws.com
  invoke it for ``arn:aws:execute-api:<region>:<account>:<api-id>/authorizers/<id>``) with
  ``{"type": "TOKEN", "authorizationToken", "methodArn"}`` in an execution environment like
  any function; it failing with the message ``Unauthorized``: 401 (not cached); any other
  failure, a timeout or a malformed answer: 500 ``{"message": null}``;
- the policy (local/iam_policy.py, as an identity-based policy) explicitly denying
  ``execute-api:Invoke`` on the method ARN: 403 "... with an explicit deny"; not allowing
  it: 403 "User is not authorized to access this resource".
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from typing import Protocol

from local import iam_policy
from local.deployed_api import Authorizer, FunctionNotFound, FunctionReader
from local.execution_environment import CodeMismatch, EnvironmentPool
from local.function_credentials import RoleRefused


class RegionInfo(Protocol):
    """What an authorizer needs of its gateway's region (local/gateway.py's Region)."""

    @property
    def name(self) -> str: ...
    @property
    def account_id(self) -> str: ...
    @property
    def rest_api_id(self) -> str: ...


API_GATEWAY_PRINCIPAL = "apigateway.amazonaws.com"
HEADER_SOURCE = "method.request.header."
MAX_CACHED_TOKENS = 10000
EXPLICIT_DENY = "User is not authorized to access this resource with an explicit deny"
NOT_ALLOWED = "User is not authorized to access this resource"


class Refused(Exception):
    """The authorizer's answer is an error response: ``status``, ``message`` (None for
    API Gateway's ``{"message": null}``), ``error_type`` and the ``cause`` for the log."""

    def __init__(self, status: int, message: str | None, error_type: str, cause: str) -> None:
        super().__init__(cause)
        self.status, self.message, self.error_type, self.cause = status, message, error_type, cause


def unauthorized(cause: str) -> Refused:
    return Refused(401, "Unauthorized", "UnauthorizedException", cause)


def configuration_error(cause: str) -> Refused:
    return Refused(500, None, "AuthorizerConfigurationException", cause)


@dataclass(frozen=True)
class Result:
    """What a successful authorizer call returned (cached per token)."""

    principal_id: str
    policy: dict
    context: dict


def identity(headers: list[tuple[str, str]], authorizer: Authorizer) -> str:
    """The identity source's value, checked as API Gateway does before invoking anything."""
    if not authorizer.identity_source.startswith(HEADER_SOURCE):
        raise configuration_error(f"identity source {authorizer.identity_source!r} is not emulated")
    name = authorizer.identity_source[len(HEADER_SOURCE) :].lower()
    value = next((value for key, value in reversed(headers) if key.lower() == name), "")
    if not value.strip():
        raise unauthorized(f"no {name} header")
    expression = authorizer.validation_expression
    if expression and re.fullmatch(expression, value) is None:
        raise unauthorized("the header does not match the identity validation expression")
    return value


def parse_result(payload: object) -> Result:
    """A valid authorizer answer, or a configuration error (API Gateway's 500)."""
    if not isinstance(payload, dict) or not isinstance(payload.get("principalId"), str) or not payload["principalId"]:
        raise configuration_error("the authorizer's answer has no principalId")
    policy = payload.get("policyDocument")
    if not isinstance(policy, dict) or not policy.get("Statement"):
        raise configuration_error("the authorizer's answer has no policyDocument with statements")
    context = payload.get("context") or {}
    if not isinstance(context, dict) or any(isinstance(value, (dict, list)) for value in context.values()):
        raise configuration_error("the authorizer's context is not a map of strings, numbers and booleans")
    return Result(payload["principalId"], policy, context)


class LocalAuthorizers:
    """Runs a region's authorizers; caches results per (authorizer, token) for their TTL."""

    def __init__(self, region: RegionInfo, functions: FunctionReader, environments: EnvironmentPool) -> None:
        self.region, self.functions, self.environments = region, functions, environments
        self._cache: dict[tuple[str, str], tuple[float, Result]] = {}
        self._lock = threading.Lock()

    def authorize(
        self, authorizer: Authorizer, headers: list[tuple[str, str]], method_arn: str, request_id: str
    ) -> dict:
        """The ``requestContext.authorizer`` for the integration, or Refused."""
        if authorizer.type != "TOKEN" or authorizer.function_arn is None:
            raise configuration_error(f"{authorizer.type} authorizers are not emulated")
        token = identity(headers, authorizer)
        result = self._cached(authorizer, token)
        if result is None:
            result = self._invoke(authorizer, token, method_arn, request_id)
            self._store(authorizer, token, result)
        decision = iam_policy.evaluate(result.policy, iam_policy.Request(None, "execute-api:Invoke", method_arn))
        if not decision.allowed:
            explicit = decision.reason.startswith("denied explicitly")
            raise Refused(
                403,
                EXPLICIT_DENY if explicit else NOT_ALLOWED,
                "AccessDeniedException",
                f"authorizer policy: {decision.reason}",
            )
        return {"principalId": result.principal_id, **result.context}

    def _cached(self, authorizer: Authorizer, token: str) -> Result | None:
        with self._lock:
            found = self._cache.get((authorizer.id, token))
            if found is None or found[0] <= time.monotonic():
                return None
            return found[1]

    def _store(self, authorizer: Authorizer, token: str, result: Result) -> None:
        if authorizer.ttl_s <= 0:
            return
        with self._lock:
            if len(self._cache) >= MAX_CACHED_TOKENS:  # bounded: drop the expired, else the oldest
                now = time.monotonic()
                for key in [key for key, (expires, _) in self._cache.items() if expires <= now] or [
                    next(iter(self._cache))
                ]:
                    del self._cache[key]
            self._cache[(authorizer.id, token)] = (time.monotonic() + authorizer.ttl_s, result)

    def _invoke(self, authorizer: Authorizer, token: str, method_arn: str, request_id: str) -> Result:
        function_arn = authorizer.function_arn
        assert function_arn is not None  # authorize() refuses authorizers without a function
        try:
            config = self.functions.configuration(function_arn)
        except FunctionNotFound as err:
            raise configuration_error(str(err)) from None
        source_arn = (
            f"arn:aws:execute-api:{self.region.name}:{self.region.account_id}:"
            f"{self.region.rest_api_id}/authorizers/{authorizer.id}"
        )
        decision = iam_policy.evaluate(
            self.functions.policy(function_arn),
            iam_policy.Request(
                API_GATEWAY_PRINCIPAL,
                "lambda:InvokeFunction",
                config.arn,
                {"aws:SourceArn": source_arn, "aws:SourceAccount": self.region.account_id},
            ),
        )
        if not decision.allowed:
            raise configuration_error(
                f"Invalid permissions on Lambda function {config.name} for {source_arn}: {decision.reason}"
            )
        event = {"type": "TOKEN", "authorizationToken": token, "methodArn": method_arn}
        try:
            outcome = self.environments.invoke(config, event, request_id, time.monotonic() + min(config.timeout_s, 29))
        except (CodeMismatch, RoleRefused) as err:
            raise configuration_error(f"{config.name}: {err}") from None
        if (
            outcome.kind == "error"
            and isinstance(outcome.payload, dict)
            and outcome.payload.get("errorMessage") == "Unauthorized"
        ):
            raise unauthorized(f"{config.name} answered Unauthorized")
        if outcome.kind != "ok":
            raise configuration_error(f"authorizer {config.name} failed: {outcome.kind} {outcome.detail}")
        return parse_result(outcome.payload)
