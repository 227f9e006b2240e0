"""IAM enforced by the emulator for every call signed with an assumed role's credentials.

``install()`` replaces moto's own check (``ActionAuthenticatorMixin``, which moto runs before
each action it dispatches and which evaluates only the action against ``*``) with local.iam:
the role's identity policies and permissions boundary from moto's IAM, the resources of the
action from the Service Authorization Reference filled from the call (local/iam/calls.py), the
condition keys the call carries. A refusal is the service's own AccessDenied, naming the
session, the action and the resource, as AWS words it. Calls signed with anything else (the
emulator's root ``test`` keys: bootstrap apply, test set-up) are not checked, and neither are
roles that do not exist in the emulator's IAM (moto lets anyone assume any ARN: the bootstrap
reaches each account through such a role, as Organizations' OrganizationAccountAccessRole).

It also checks ``AssumeRoleWithWebIdentity`` (local/iam/web_identity.py), which moto grants
to any token.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse
from xml.sax.saxutils import escape

from moto.core.authorization import ActionAuthenticatorMixin
from moto.core.exceptions import JsonRESTError
from moto.core.exceptions import _RESTError as RESTError
from moto.core.utils import get_service_model
from moto.iam.access_control import IAMRequest
from moto.iam.models import iam_backends
from moto.sts.models import AssumedRole, sts_backends
from moto.sts.responses import TokenResponse

from local.iam import Verdict, evaluate
from local.iam import web_identity as web
from local.iam.calls import Call, Unmappable, requests_for
from local.iam.moto_state import MotoState, principal

if TYPE_CHECKING:
    from moto.core.responses import BaseResponse

    from local.iam.model import Decision, Principal

log = logging.getLogger(__name__)
_INSTALLED = "_items_iam_enforced"
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/[^/]+/([^/]+)/([^/]+)/")
# "No permissions are required to perform this operation" (STS API reference), even under a Deny.
ALWAYS_ALLOWED = frozenset({"sts:GetCallerIdentity"})
# moto's own check, as it was before install() (benchmarks/iam_enforce.py compares against it).
MOTO_CHECK = ActionAuthenticatorMixin._authenticate_and_authorize_normal_action
_JSON_AUTH_ERRORS = {
    "SignatureDoesNotMatch": "InvalidSignatureException",
    "InvalidClientTokenId": "UnrecognizedClientException",
}
_MEMBER = re.compile(r"^(\w+)\.member\.(\d+)\.(\w+)$")


class JsonAccessDenied(JsonRESTError):
    code = 400


class XmlAccessDenied(RESTError):
    code = 403


class RestJsonAccessDenied(JsonRESTError):
    code = 403


class RestXmlAccessDenied(XmlAccessDenied):
    """REST-XML services (Route53, ...) answer ``<ErrorResponse><Error>``, without ``Errors``."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(error_type, message)
        self.description = (
            '<?xml version="1.0" encoding="utf-8"?>\n<ErrorResponse><Error><Type>Sender</Type>'
            f"<Code>{escape(error_type)}</Code><Message>{escape(message)}</Message></Error></ErrorResponse>"
        )


def _protocol(handler: BaseResponse) -> str:
    try:
        declared = str(get_service_model(handler.boto3_service_name).metadata["protocol"])
    except Exception:
        return "query"
    if declared in ("query", "json", "rest-json", "rest-xml"):
        return declared
    # A service that speaks several (CloudWatch: CBOR, JSON, query): the one the request used.
    return "json" if handler.headers.get("X-Amz-Target") else "query"


def _denied(handler: BaseResponse, message: str) -> RESTError:
    """AccessDenied in the service's protocol: JSON services name it AccessDeniedException."""
    protocol = _protocol(handler)
    if protocol == "json":
        return JsonAccessDenied("AccessDeniedException", message)
    if protocol == "rest-json":
        return RestJsonAccessDenied("AccessDeniedException", message)
    # Query services (IAM, SNS, STS) answer like REST-XML ones: AWS's SDKs for Go read nothing else.
    if protocol in ("rest-xml", "query"):
        return RestXmlAccessDenied("AccessDenied", message)
    return XmlAccessDenied("AccessDenied", message)


def _query_params(querystring: Mapping[str, list[str]]) -> dict[str, Any]:
    """Query-protocol parameters, with ``Tags.member.N.Key`` lists as lists of dicts."""
    params: dict[str, Any] = {}
    members: dict[str, dict[int, dict[str, str]]] = {}
    for name, values in querystring.items():
        match = _MEMBER.match(name)
        if match:
            members.setdefault(match[1], {}).setdefault(int(match[2]), {})[match[3]] = values[0]
        else:
            params[name] = values[0]
    params.update({name: [entries[i] for i in sorted(entries)] for name, entries in members.items()})
    return params


def _body_params(handler: BaseResponse) -> dict[str, Any]:
    parsed = getattr(handler, "params", None)
    if isinstance(parsed, Mapping) and parsed:
        return dict(parsed)
    if handler.headers.get("X-Amz-Target") or _protocol(handler) == "rest-json":
        try:
            body = json.loads(handler.body or "{}")
        except ValueError:
            return {}
        return body if isinstance(body, dict) else {}
    return _query_params(handler.querystring)


def _invalid_token(handler: BaseResponse) -> RESTError:
    message = "The security token included in the request is invalid."
    protocol = _protocol(handler)
    if protocol == "json":
        return JsonAccessDenied("UnrecognizedClientException", message)
    if protocol == "rest-json":
        return RestJsonAccessDenied("UnrecognizedClientException", message)
    denied = RestXmlAccessDenied if protocol in ("rest-xml", "query") else XmlAccessDenied
    return denied("InvalidClientTokenId", message)


def call_params(handler: BaseResponse) -> dict[str, Any]:
    """The call's parameters in botocore's shapes, with those in a REST path (``FunctionName``)
    as moto's router matched them (call after ``_get_action``, which matches them)."""
    params = _body_params(handler)
    for name, value in (getattr(handler, "uri_match", None) or {}).items():
        params.setdefault(name, value)
    return params


def _session(handler: BaseResponse) -> tuple[AssumedRole, str, str] | None:
    """The assumed role that signed the call, with the credential scope's region and service."""
    match = _CREDENTIAL.search(handler.headers.get("Authorization", ""))
    if not match or not match[1].startswith("ASIA"):  # moto's session keys, as AWS's, say ASIA
        return None
    for backend in sts_backends[handler.current_account].values():
        for assumed in backend.assumed_roles:
            if assumed.access_key_id == match[1]:
                return assumed, match[2], match[3]
    return None


def _message(assumed: AssumedRole, action: str, resource: str, decision: Decision) -> str:
    because = {
        Verdict.EXPLICIT_DENY: "with an explicit deny in an identity-based policy",
        Verdict.IMPLICIT_DENY: f"because no identity-based policy allows the {action} action",
    }[decision.verdict]
    if "permissions boundary" in decision.reason:
        because = f"because no permissions boundary allows the {action} action"
    return f"User: {assumed.arn} is not authorized to perform: {action} on resource: {resource} {because}"


def authorize(handler: BaseResponse, resource: str = "*") -> None:
    """moto's hook before each action: raise the service's AccessDenied when IAM refuses."""
    session = _session(handler)
    if session is None:
        return
    assumed, region, service = session
    role_account, role_name = assumed.role_arn.split(":")[4], assumed.role_arn.rsplit("/", 1)[-1]
    role = principal(role_account, role_name)
    if role is None:
        return
    if handler.headers.get("X-Amz-Security-Token") != assumed.session_token:
        raise _invalid_token(handler)
    if handler.headers.get("X-Amz-Target") or "Action" in handler.querystring:
        # moto recomputes JSON and query signatures right, not those of REST paths (Lambda, ...).
        _check_signature(handler)
    operation = handler._get_action()
    if service == "apigateway":  # its IAM actions are the HTTP methods of its paths
        operation = handler.method
    call = Call(service, operation, call_params(handler), region, role_account, path=handler.path)
    if call.action in ALWAYS_ALLOWED:
        return
    _decide(handler, assumed, role, call)


def _check_signature(handler: BaseResponse) -> None:
    """The session token and SigV4 signature, checked as moto checks them when its auth is on."""
    parsed_url = urlparse(handler.uri)
    path = handler.raw_path + (f"?{parsed_url.query}" if parsed_url.query else "")
    try:
        IAMRequest(
            account_id=handler.current_account,
            method=handler.method,
            path=path,
            data=handler.data,
            body=handler.raw_body,
            headers=handler.headers,
            action=handler._get_action(),
        ).check_signature()
    except RESTError as error:
        if not handler.headers.get("X-Amz-Target"):
            raise
        # JSON services answer in JSON, with their own names for these errors.
        code = _JSON_AUTH_ERRORS.get(error.error_type, error.error_type)
        raise JsonAccessDenied(code, error.message) from error


def _decide(handler: BaseResponse, assumed: AssumedRole, role: Principal, call: Call) -> None:
    try:
        requests = requests_for(call, MotoState(call.account))
    except Unmappable as error:
        log.warning("IAM: refusing %s for %s: %s", call.action, assumed.arn, error)
        message = f"User: {assumed.arn} is not authorized to perform: {call.action} (resource unknown: {error})"
        raise _denied(handler, message) from error
    for request in requests:
        decision = evaluate(role, request)
        # One line per decision, the allowed ones too: ops/iam_report.py reads what each role used.
        level = logging.INFO if decision.allowed else logging.WARNING
        log.log(level, "IAM: %s %s on %s: %s", assumed.arn, request.action, request.resource, decision.reason)
        if not decision.allowed:
            raise _denied(handler, _message(assumed, request.action, request.resource, decision))


def _assume_role_with_web_identity(original: Any) -> Any:
    @functools.wraps(original)
    def checked(self: TokenResponse) -> Any:
        role_arn, token = self._get_param("RoleArn"), self._get_param("WebIdentityToken") or ""
        backend = iam_backends[role_arn.split(":")[4]]["aws"]
        role = next((role for role in backend.get_roles() if role.arn == role_arn), None)
        if role is None:
            raise XmlAccessDenied("AccessDenied", f"Not authorized to perform {web.ACTION} on {role_arn}")
        providers = [web.Provider(p.url, p.arn, tuple(p.client_id_list)) for p in backend.open_id_providers.values()]
        try:
            web.check(role_arn, role.assume_role_policy_document, token, providers)
        except web.WebIdentityRefused as error:
            log.info("IAM: AssumeRoleWithWebIdentity of %s refused: %s", role_arn, error)
            raise XmlAccessDenied(error.code, str(error)) from error
        return original(self)

    return checked


def install() -> None:
    """Switches enforcement on in this process (idempotent)."""
    if getattr(ActionAuthenticatorMixin, _INSTALLED, False):
        return
    setattr(ActionAuthenticatorMixin, _INSTALLED, True)
    ActionAuthenticatorMixin._authenticate_and_authorize_normal_action = authorize  # type: ignore[method-assign, assignment]
    TokenResponse.assume_role_with_web_identity = _assume_role_with_web_identity(  # type: ignore[method-assign]
        TokenResponse.assume_role_with_web_identity
    )
