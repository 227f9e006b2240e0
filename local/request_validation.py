"""API Gateway's basic request validation for REST APIs, from the deployed validator and
models ("Request validation for REST APIs in API Gateway"):

- ``validateRequestParameters``: every required ``method.request.{path,querystring,header}.X``
  present and not blank, else 400 ``{"message": "Missing required request parameters: [X, ...]"}``;
- ``validateRequestBody``: the body validated against the method's model for the request's
  content type (``$default`` when the method maps that), as JSON schema draft 4; a body
  that is not JSON or does not conform: 400 ``{"message": "Invalid request body"}``. No
  model for the content type: no validation ("If no matching content type is found,
  request validation is not performed").
"""

from __future__ import annotations

import json

from jsonschema import Draft4Validator

from local.deployed_api import Method, Validator

INVALID_BODY = "Invalid request body"


class Invalid(Exception):
    def __init__(self, message: str, cause: str) -> None:
        super().__init__(cause)
        self.message, self.cause = message, cause


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
    try:
        document = json.loads(request["body"] or b"null")
    except ValueError:
        raise Invalid(INVALID_BODY, "the body is not JSON") from None
    error = next(iter(Draft4Validator(models.get(model_name, {})).iter_errors(document)), None)
    if error is not None:
        # Which rule and where, never the value: the body may carry anything.
        raise Invalid(
            INVALID_BODY, f"model {model_name}: {error.validator} failed at /{'/'.join(map(str, error.absolute_path))}"
        )
