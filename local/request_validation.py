"""API Gateway's basic request validation for REST APIs, from the deployed validator and
models ("Request validation for REST APIs in API Gateway"):

- ``validateRequestParameters``: every required ``method.request.{path,querystring,header}.X``
  present and not blank, else 400 ``{"message": "Missing required request parameters: [X, ...]"}``;
- ``validateRequestBody``: the body validated against the method's model for the request's
  content type (``$default`` when the method maps that), as JSON schema draft 4; a body
  that is not JSON or does not conform: 400 ``{"message": "Invalid request body"}``. No
  model for the content type: no validation ("If no matching content type is found,
  request validation is not performed");
- a JSON body nested deeper than ``MAX_JSON_DEPTH`` arrays and objects: 400 ``Invalid request
  body``. API Gateway states no such limit; the stand-in's own keeps the parser and the
  schema validator from running out of stack (Python's recursion limit) on a hostile body;
- a JSON body with more than ``STAND_IN_MAX_ELEMENTS`` list and object elements: 413. Not an
  AWS limit either: the emulator's DynamoDB (moto) takes about 0.1 s per 1,000 elements to read
  an item back (measured: 10,000 elements 0.9 s, 50,000 5.2 s, 100,000 9.8 s per GetItem), so
  one such write would stall the region and hold replication far past its 2 s bound. The
  handlers' own limits (DynamoDB's 400 KB) apply below it as on AWS.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import TYPE_CHECKING

from jsonschema import Draft4Validator

if TYPE_CHECKING:
    from local.deployed_api import Method, Validator

INVALID_BODY = "Invalid request body"
MAX_JSON_DEPTH = 100
# moto serializes every response through its service model, ~0.3 ms per list element, and a
# replicated write is read from the streams twice and written once: at 2,000 elements the
# replication lag's p99 was 2.8-3.3 s (bound 2 s), at 1,000 1.5-2.2 s, at 500 1.2-1.4 s, on
# this 2-core machine at load 10-20 (docs/local-limits.md, "Large items").
STAND_IN_MAX_ELEMENTS = 500
TOO_MANY_ELEMENTS = (
    f"The local stand-in accepts at most {STAND_IN_MAX_ELEMENTS} list and object elements in a body"
    " (the emulator's DynamoDB slows down past that; AWS has no such limit: docs/local-limits.md)"
)
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"')
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")


def json_depth(text: str) -> int:
    """How deeply arrays and objects nest in ``text`` (brackets inside strings do not count)."""
    brackets = _NOT_BRACKETS.sub("", _STRINGS.sub("", text))
    return max(accumulate(1 if bracket in "[{" else -1 for bracket in brackets), default=0)


class Invalid(Exception):
    def __init__(self, message: str, cause: str, status: int = 400) -> None:
        super().__init__(cause)
        self.message, self.cause, self.status = message, cause, status


def elements(document: object, limit: int) -> int:
    """List and object elements in ``document``, counting stops past ``limit``."""
    count, pending = 0, [document]
    while pending and count <= limit:
        value = pending.pop()
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
        count += len(children)
        pending.extend(child for child in children if isinstance(child, (dict, list)))
    return count


def check_stand_in_bound(content_type: str | None, body: bytes) -> None:
    """Invalid (413) for a JSON body over STAND_IN_MAX_ELEMENTS; anything else passes here."""
    if not body or "json" not in (content_type or "").lower():
        return
    try:
        document = parse(body)
    except Invalid:
        return  # not JSON: the validator or the handler answers it, as on AWS
    if elements(document, STAND_IN_MAX_ELEMENTS) > STAND_IN_MAX_ELEMENTS:
        raise Invalid(TOO_MANY_ELEMENTS, f"over {STAND_IN_MAX_ELEMENTS} JSON elements", status=413)


def missing_parameters(method: Method, path_parameters: dict, query: dict, headers: list[tuple[str, str]]) -> list[str]:
    header_names = {name.lower(): value for name, value in headers}
    missing = []
    for key, required in sorted(method.request_parameters.items()):
        if not required:
            continue
        kind, _, name = key.removeprefix("method.request.").partition(".")
        value = {
            "path": path_parameters.get(name),
            "querystring": (query.get(name) or [None])[-1],
            "header": header_names.get(name.lower()),
        }.get(kind)
        if value is None or not str(value).strip():
            missing.append(name)
    return missing


def validate(validator: Validator | None, method: Method, models: dict, request: dict) -> None:
    """``request``: path_parameters, query (name -> values), headers, content_type, body (bytes)."""
    check_stand_in_bound(request["content_type"], request["body"])
    if validator is None:
        return
    if validator.validate_parameters:
        missing = missing_parameters(method, request["path_parameters"], request["query"], request["headers"])
        if missing:
            raise Invalid(f"Missing required request parameters: [{', '.join(missing)}]", "required parameters absent")
    if not validator.validate_body:
        return
    media_type = (request["content_type"] or "").split(";")[0].strip().lower()
    model_name = method.request_models.get(media_type) or method.request_models.get("$default")
    if model_name is None:
        return
    document = parse(request["body"])
    error = next(iter(Draft4Validator(models.get(model_name, {})).iter_errors(document)), None)
    if error is not None:
        # Which rule and where, never the value: the body may carry anything.
        raise Invalid(
            INVALID_BODY, f"model {model_name}: {error.validator} failed at /{'/'.join(map(str, error.absolute_path))}"
        )


def parse(body: bytes) -> object:
    """The body as JSON, or Invalid: not JSON, or nested deeper than MAX_JSON_DEPTH."""
    try:
        text = (body or b"null").decode("utf-8")
    except UnicodeDecodeError:
        raise Invalid(INVALID_BODY, "the body is not UTF-8") from None
    if json_depth(text) > MAX_JSON_DEPTH:
        raise Invalid(INVALID_BODY, f"the body nests deeper than {MAX_JSON_DEPTH}")
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise Invalid(INVALID_BODY, "the body is not JSON") from None
