"""GET /health: is this region able to serve?

200 ``{"status": "ok", "region", "latency_ms", "forced": false}`` when a strongly consistent
GetItem of the health sentinel (``functions.schema.HEALTH_SENTINEL_ID``) finds it in this
region's table within the health client's bounds (1 s connect, 1 s read, one attempt);
otherwise 503 ``{"status": "unhealthy", "region", "reason", "forced": false}``. A read of a
real item rather than DescribeTable: DescribeTable answers from metadata, so a region whose
partitions or table key cannot serve a read would still look healthy. The function's role
may read that one key and no other (modules/routes.py), with the table key through
DynamoDB only.

``STATUS`` (environment) forces the answer for failover drills: an HTTP status from 200 to
599 (e.g. "503") is returned as is, without touching DynamoDB, with ``"forced": true``.
Any other non-empty value is ignored with a warning in the log and the real check runs:
a typo must neither take a healthy region out of DNS nor crash the check (a 500 would do
the former too).
"""

from __future__ import annotations

import os
import time

from botocore.exceptions import BotoCoreError, ClientError

from . import _aws, _store
from ._errors import error_code, from_aws
from ._http import ProxyEvent, ProxyResponse, handle, logger, response


def check(event: ProxyEvent, context: object = None) -> ProxyResponse:
    """The Lambda entry point for GET /health."""
    return handle("GET /health", report, event, context)


def report(event: ProxyEvent) -> ProxyResponse:
    forced = forced_status()
    if forced is not None:
        healthy = forced < 400
        body: dict[str, object] = {
            "status": "ok" if healthy else "unhealthy",
            "region": _region_or_none(),
            "forced": True,
        }
        if not healthy:
            body["reason"] = f"forced by STATUS={forced}"
        return response(forced, body)
    started = time.perf_counter()
    reason = probe()
    region = _region_or_none()
    if reason is not None:
        return response(503, {"status": "unhealthy", "region": region, "reason": reason, "forced": False})
    latency_ms = round((time.perf_counter() - started) * 1000, 1)
    return response(200, {"status": "ok", "region": region, "latency_ms": latency_ms, "forced": False})


def forced_status() -> int | None:
    """The status forced by ``STATUS``, or None (unset, empty or invalid: see module doc)."""
    value = os.environ.get("STATUS", "").strip()
    if not value:
        return None
    if value.isascii() and value.isdigit() and 200 <= int(value) <= 599:
        return int(value)
    logger.warning("STATUS is not an HTTP status (200-599); ignoring it", extra={"reason": f"STATUS={value[:20]!r}"})
    return None


def probe() -> str | None:
    """None when the sentinel reads back, else why not (no secrets, no stack traces)."""
    try:
        present = _store.sentinel_present(_aws.table("health"))
    except _aws.ConfigurationError as exc:
        return str(exc)
    except ClientError as exc:
        code = error_code(exc)
        if code == "ResourceNotFoundException":
            return "the table does not exist in this region"
        return f"DynamoDB answered {code or 'an error'}"
    except BotoCoreError as exc:
        if from_aws(exc) is not None:
            return "DynamoDB is unreachable or did not answer in time"
        logger.error("health probe failed", exc_info=True)
        return f"DynamoDB client error ({type(exc).__name__})"
    except Exception:
        logger.error("health probe failed", exc_info=True)
        return "unexpected error (see the logs)"
    if not present:
        return "the health sentinel item is missing from this region's table"
    return None


def _region_or_none() -> str | None:
    try:
        return _aws.region()
    except _aws.ConfigurationError:
        return None
