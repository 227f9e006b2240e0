"""API Gateway REST (v1 proxy) plumbing: reading events, building responses, and the
``endpoint`` wrapper that turns known errors into JSON error responses and logs one line
per request."""

import binascii
import functools
import logging
import time
from base64 import b64decode

from botocore.exceptions import BotoCoreError, ClientError

from . import _json
from ._errors import ApiError, BadRequest, from_aws
from ._log import get_logger

logger = get_logger()


def response(status, body=None, headers=None):
    """A proxy integration response; ``body`` (any JSON value) is encoded, None means empty."""
    all_headers = {"Content-Type": "application/json"}
    if headers:
        all_headers.update(headers)
    return {
        "statusCode": status,
        "headers": all_headers,
        "body": "" if body is None else _json.dumps(body),
        "isBase64Encoded": False,
    }


def error_response(error, request_id):
    headers = None
    if error.retry_after is not None:
        headers = {"Retry-After": str(error.retry_after)}
    body = {"error": {"code": error.code, "message": error.message, "request_id": request_id}}
    return response(error.status, body, headers)


def json_body(event):
    """The request body parsed as JSON (numbers as Decimal), base64-decoded first when
    ``isBase64Encoded``. Raises BadRequest when absent, not base64, not UTF-8 or not JSON."""
    body = event.get("body")
    if body is None or body == "":
        raise BadRequest("a JSON body is required", code="MissingBody")
    if body.__class__ is not str:
        raise BadRequest("the body must be text", code="InvalidBody")
    if event.get("isBase64Encoded"):
        try:
            body = b64decode(body, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):  # UnicodeDecodeError is a ValueError
            raise BadRequest("the body is not valid base64-encoded UTF-8", code="InvalidBody") from None
    try:
        return _json.loads(body)
    except ValueError as exc:  # the message says what and where, never quotes the body
        raise BadRequest(f"the body is not valid JSON: {exc}", code="InvalidJson") from None


def path_parameter(event, name):
    """A path parameter as API Gateway passes it (already URL-decoded for REST APIs)."""
    parameters = event.get("pathParameters") or {}
    value = parameters.get(name)
    if value is None:
        raise BadRequest(f"the path parameter {name} is missing", code="MissingPathParameter")
    return value


def request_id(event, context):
    """API Gateway's request id (what a client sees), else Lambda's."""
    request_context = event.get("requestContext") if isinstance(event, dict) else None
    if isinstance(request_context, dict) and request_context.get("requestId"):
        return str(request_context["requestId"])
    return str(getattr(context, "aws_request_id", None) or "unknown")


def endpoint(route):
    """Wrap ``function(event) -> response`` as a Lambda handler ``(event, context)``.

    ApiError -> its status; throttling/unreachable DynamoDB -> 503 with Retry-After;
    anything else -> 500 with the request id and no detail (the traceback is only logged).
    """

    def decorate(function):
        @functools.wraps(function)
        def handler(event, context=None):
            started = time.perf_counter()
            rid = request_id(event, context)
            error = None
            try:
                if not isinstance(event, dict):
                    raise BadRequest("not an API Gateway proxy event", code="InvalidEvent")
                result = function(event)
            except ApiError as exc:
                error = exc
            except (ClientError, BotoCoreError) as exc:
                error = from_aws(exc)
                if error is None:
                    _log_unexpected(route, rid, started)
                    return _internal_error(rid)
            except Exception:
                _log_unexpected(route, rid, started)
                return _internal_error(rid)
            if error is not None:
                result = error_response(error, rid)
            status = result["statusCode"]
            logger.log(
                logging.WARNING if status >= 500 else logging.INFO,
                "request",
                extra={
                    "request_id": rid,
                    "route": route,
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                    "error_code": None if error is None else error.code,
                },
            )
            return result

        return handler

    return decorate


def _internal_error(rid):
    body = {"error": {"code": "InternalError", "message": "internal error", "request_id": rid}}
    return response(500, body)


def _log_unexpected(route, rid, started):
    logger.error(
        "unexpected error",
        exc_info=True,
        extra={
            "request_id": rid,
            "route": route,
            "status": 500,
            "duration_ms": round((time.perf_counter() - started) * 1000, 3),
            "error_code": "InternalError",
        },
    )
