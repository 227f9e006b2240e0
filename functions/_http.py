"""API Gateway REST (v1 proxy) plumbing: reading events, building responses, and ``handle``,
which runs a handler's logic, turns known errors into JSON error responses and logs one line
per request.

A body is checked cheapest first and never decoded or parsed beyond what its limits allow:
Content-Type (415), size in bytes before any decoding (413), base64 and UTF-8 (400), then
JSON with a bound on the number of values it may build (413) and no repeated keys (400).
"""

from __future__ import annotations

import binascii
import os
import time
from base64 import b64decode
from collections.abc import Callable, Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from . import _json
from ._errors import ApiError, BadRequest, PayloadTooLarge, UnsupportedMediaType, from_aws
from ._log import get_logger

logger = get_logger()
JSON_MEDIA_TYPE = "application/json"
# What a browser script may read besides the simple headers (modules/api_contract.py says the same).
CORS_EXPOSE_HEADERS = "Location,Retry-After,x-amzn-RequestId"

# A REST API (v1) proxy event, as API Gateway sends it (JSON: header, path parameter and
# body values are strings), and the response a proxy integration returns (``response``).
ProxyEvent = Mapping[str, Any]
ProxyResponse = dict[str, Any]
Handler = Callable[[ProxyEvent], ProxyResponse]


def response(status: int, body: object = None, headers: Mapping[str, str] | None = None) -> ProxyResponse:
    """A proxy integration response; ``body`` (any JSON value) is encoded, None means empty."""
    all_headers = {"Content-Type": JSON_MEDIA_TYPE}
    if headers:
        all_headers.update(headers)
    return {
        "statusCode": status,
        "headers": all_headers,
        "body": "" if body is None else _json.dumps(body),
        "isBase64Encoded": False,
    }


def error_response(error: ApiError, request_id: str) -> ProxyResponse:
    headers = None
    if error.retry_after is not None:
        headers = {"Retry-After": str(error.retry_after)}
    body = {"error": {"code": error.code, "message": error.message, "request_id": request_id}}
    return response(error.status, body, headers)


def header_values(event: ProxyEvent, name: str) -> list[str]:
    """Every value of header ``name`` (any case), as API Gateway passes them.

    API Gateway fills both maps for every request: ``multiValueHeaders`` holds every value of
    a header and ``headers`` only its last one, so a header sent once is in each. The multi-value
    map is read when it names the header; ``headers`` only when it does not (an event from a
    caller that fills one map). Reading both would count one ``Origin`` twice.
    """
    name = name.lower()
    values: list[str] = []
    for key, value in (event.get("multiValueHeaders") or {}).items():
        if key.lower() == name:
            values.extend(value if isinstance(value, list) else [value])
    if values:
        return values
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name:
            values.append(value)
    return values


def require_json(event: ProxyEvent) -> None:
    """Raise UnsupportedMediaType unless every Content-Type is application/json (parameters
    allowed, but a charset other than UTF-8 is not: JSON between systems is UTF-8)."""
    values = header_values(event, "Content-Type")
    if not values:
        raise UnsupportedMediaType(f"Content-Type: {JSON_MEDIA_TYPE} is required")
    for value in values:
        media_type, *parameters = str(value).split(";")
        media_type = media_type.strip().lower()
        if media_type != JSON_MEDIA_TYPE:
            raise UnsupportedMediaType(f"Content-Type must be {JSON_MEDIA_TYPE}, not {media_type[:64]!r}")
        for parameter in parameters:
            key, _, charset = parameter.partition("=")
            if key.strip().lower() == "charset" and charset.strip().strip('"').lower() != "utf-8":
                raise UnsupportedMediaType("the only charset accepted for JSON is utf-8")


def exceeds(text: str, limit: int) -> bool:
    """Whether ``text`` is more than ``limit`` bytes as UTF-8, encoding it only when needed."""
    if len(text) > limit:  # every character is at least one byte
        return True
    if text.isascii():  # O(1) in CPython; then characters are bytes
        return False
    return len(text.encode("utf-8", "surrogatepass")) > limit


def json_body(event: ProxyEvent, *, max_bytes: int, max_values: int) -> Any:
    """The request body parsed as JSON (numbers as Decimal), base64-decoded first when
    ``isBase64Encoded``. Raises UnsupportedMediaType, PayloadTooLarge (over ``max_bytes``
    before decoding, or over ``max_values`` numbers and objects) or BadRequest (absent, not
    base64, not UTF-8, not JSON, a repeated key)."""
    require_json(event)
    body = event.get("body")
    if body is None or body == "":
        raise BadRequest("a JSON body is required", code="MissingBody")
    if body.__class__ is not str:
        raise BadRequest("the body must be text", code="InvalidBody")
    encoded = bool(event.get("isBase64Encoded"))
    limit = -(-max_bytes // 3) * 4 if encoded else max_bytes  # base64: 4 characters per 3 bytes
    if exceeds(body, limit):
        raise PayloadTooLarge(
            f"the body is over {limit} bytes, more than any storable item takes as JSON", code="BodyTooLarge"
        )
    if encoded:
        try:
            body = b64decode(body, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):  # UnicodeDecodeError is a ValueError
            raise BadRequest("the body is not valid base64-encoded UTF-8", code="InvalidBody") from None
    return parse_json(body, max_values)


def parse_json(text: str, max_values: int) -> Any:
    try:
        return _json.loads(text, max_values)
    except _json.DuplicateKey as exc:
        raise BadRequest(str(exc), code="DuplicateKey") from None
    except _json.TooManyValues:
        raise PayloadTooLarge(
            f"the body has over {max_values} numbers and objects; no item that large can be stored"
        ) from None
    except ValueError as exc:  # the message says what and where, never quotes the body
        raise BadRequest(f"the body is not valid JSON: {exc}", code="InvalidJson") from None


def path_parameter(event: ProxyEvent, name: str) -> str:
    """A path parameter as API Gateway passes it (already URL-decoded for REST APIs)."""
    parameters = event.get("pathParameters") or {}
    value = parameters.get(name)
    if value is None:
        raise BadRequest(f"the path parameter {name} is missing", code="MissingPathParameter")
    return value


def request_id(event: object, context: object) -> str:
    """API Gateway's request id (what a client sees), else Lambda's."""
    request_context = event.get("requestContext") if isinstance(event, dict) else None
    if isinstance(request_context, dict) and request_context.get("requestId"):
        return str(request_context["requestId"])
    return str(getattr(context, "aws_request_id", None) or "unknown")


def handle(route: str, function: Handler, event: object, context: object) -> ProxyResponse:
    """Run ``function(event) -> response`` for the Lambda handler of ``route`` ("GET /x").

    ApiError -> its status; throttling/unreachable DynamoDB -> 503 with Retry-After;
    anything else -> 500 with the request id and no detail (the traceback is only logged).
    ``event`` is whatever Lambda was given: anything but a JSON object is a 400.
    """
    started = time.perf_counter()
    rid = request_id(event, context)
    error: ApiError | None = None
    try:
        if not isinstance(event, dict):
            raise BadRequest("not an API Gateway proxy event", code="InvalidEvent")
        result = function(event)
    except ApiError as exc:
        error = exc
    except (ClientError, BotoCoreError) as exc:
        error = from_aws(exc)
        if error is None:
            return with_cors(event, _internal_error(route, rid, started))
    except Exception:
        return with_cors(event, _internal_error(route, rid, started))
    if error is not None:
        result = error_response(error, rid)
    status = result["statusCode"]
    log_request(route, rid, started, status, None if error is None else error.code)
    return with_cors(event, result)


def cors_headers(event: object) -> dict[str, str]:
    """CORS headers for a request whose one ``Origin`` is in ``CORS_ORIGINS`` (the deployed,
    comma-separated list): that origin echoed, as a static header cannot do for several.
    ``Vary: Origin`` whenever CORS is on, so caches keep answers per origin."""
    allowed = os.environ.get("CORS_ORIGINS", "")
    if not allowed:
        return {}
    origins = header_values(event, "Origin") if isinstance(event, dict) else []
    if len(origins) != 1 or origins[0] not in allowed.split(","):
        return {"Vary": "Origin"}
    return {
        "Access-Control-Allow-Origin": origins[0],
        "Access-Control-Expose-Headers": CORS_EXPOSE_HEADERS,
        "Vary": "Origin",
    }


def with_cors(event: object, result: ProxyResponse) -> ProxyResponse:
    headers = cors_headers(event)
    if headers:
        result["headers"] = {**result["headers"], **headers}
    return result


def log_request(
    route: str, rid: str, started: float, status: int, error_code: str | None, *, exc_info: bool = False
) -> None:
    """One line per request: WARN for a 5xx, ERROR with the traceback for the unexpected."""
    level = "error" if exc_info else ("warning" if status >= 500 else "info")
    getattr(logger, level)(
        "unexpected error" if exc_info else "request",
        exc_info=exc_info,
        extra={
            "request_id": rid,
            "route": route,
            "status": status,
            "duration_ms": round((time.perf_counter() - started) * 1000, 3),
            "error_code": error_code,
        },
    )


def _internal_error(route: str, rid: str, started: float) -> ProxyResponse:
    log_request(route, rid, started, 500, "InternalError", exc_info=True)
    body = {"error": {"code": "InternalError", "message": "internal error", "request_id": rid}}
    return response(500, body)
