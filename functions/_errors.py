"""Errors a client can act on, each with its HTTP status, and the mapping from AWS errors.

AWS errors map by type (and a botocore ``ClientError``'s error code), never by message text.
"""

from __future__ import annotations

from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

THROTTLING_CODES = frozenset({"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"})
# DynamoDB's own transient failures, and a table missing in this region: both mean "this
# region cannot serve you now", which is what 503 (and a failover) is for.
UNAVAILABLE_CODES = frozenset({"InternalServerError", "ServiceUnavailable", "ResourceNotFoundException"})


class ApiError(Exception):
    """An error with a status and a stable ``code`` that goes into the response body."""

    status = 500
    code = "InternalError"
    retry_after: int | None = None

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class BadRequest(ApiError):
    status = 400
    code = "BadRequest"


class NotFound(ApiError):
    status = 404
    code = "NotFound"


class PayloadTooLarge(ApiError):
    status = 413
    code = "ItemTooLarge"


class UnsupportedMediaType(ApiError):
    status = 415
    code = "UnsupportedMediaType"


class ServiceUnavailable(ApiError):
    status = 503
    code = "ServiceUnavailable"

    def __init__(self, message: str, *, code: str | None = None, retry_after: int = 1) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


def error_code(exc: ClientError) -> str:
    """The AWS error code of a botocore ``ClientError`` ("" when it has none)."""
    return exc.response.get("Error", {}).get("Code", "")


def from_aws(exc: BaseException) -> ServiceUnavailable | None:
    """The ApiError for a known botocore exception, or None when it is unexpected (a 500)."""
    if isinstance(exc, ClientError):
        code = error_code(exc)
        if code in THROTTLING_CODES:
            return ServiceUnavailable("DynamoDB is throttling requests; retry later", code="Throttled")
        if code in UNAVAILABLE_CODES:
            return ServiceUnavailable(
                "the item store is unavailable in this region", code="StoreUnavailable", retry_after=5
            )
        return None
    # EndpointConnectionError and ConnectTimeoutError are ConnectionErrors; ReadTimeoutError
    # and ConnectionClosedError are HTTPClientErrors.
    if isinstance(exc, (ConnectionError, HTTPClientError)):
        return ServiceUnavailable("the item store did not answer in time", code="StoreUnreachable", retry_after=5)
    return None
