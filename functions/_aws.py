"""DynamoDB clients, made once per process and reused by every invocation.

Settings are read from the environment on each call (a dict lookup): Lambda sets
``AWS_REGION`` and ``TABLE_NAME`` once, but local runs and tests may call these handlers in
one process for several "regions" and endpoints. Clients are therefore cached per
(purpose, region, table, endpoint); boto3 reads ``AWS_ENDPOINT_URL`` /
``AWS_ENDPOINT_URL_DYNAMODB`` itself, and they are part of the key only so that a changed
endpoint gets a new client.
"""

from __future__ import annotations

import os
import threading
from typing import Any, Literal

import boto3
from botocore.config import Config

from ._store import Table

# Short timeouts and one retry: API Gateway gives up after 29 s, and a client is better
# served by a quick 503 (and its own retry or a failover) than by a long wait. (botocore's
# "max_attempts" counts retries only; "total_max_attempts" includes the first request.)
API_CONFIG = Config(connect_timeout=2, read_timeout=2, retries={"total_max_attempts": 2, "mode": "standard"})
# The health check must answer quickly and for certain: one attempt, 1 s to connect and
# 1 s to read. A table that does not answer within that is reported unhealthy.
HEALTH_CONFIG = Config(connect_timeout=1, read_timeout=1, retries={"total_max_attempts": 1, "mode": "standard"})
Purpose = Literal["api", "health"]
_CONFIGS: dict[Purpose, Config] = {"api": API_CONFIG, "health": HEALTH_CONFIG}

# (purpose, region, table name, AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_DYNAMODB) -> Table
_tables: dict[tuple[Purpose, str, str, str | None, str | None], Table] = {}
_lock = threading.Lock()
_session: Any = None  # a boto3 Session, made on first use


class ConfigurationError(RuntimeError):
    """A required environment variable is missing."""


def region() -> str:
    """This function's region (``AWS_REGION``, set by Lambda)."""
    value = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not value:
        raise ConfigurationError("AWS_REGION is not set")
    return value


def table_name() -> str:
    value = os.environ.get("TABLE_NAME")
    if not value:
        raise ConfigurationError("TABLE_NAME is not set")
    return value


def table(purpose: Purpose = "api") -> Table:
    """The ``Table`` for this region's ``TABLE_NAME``; ``purpose`` picks the client config
    ("api" or "health")."""
    environ = os.environ
    key = (purpose, region(), table_name(), environ.get("AWS_ENDPOINT_URL"), environ.get("AWS_ENDPOINT_URL_DYNAMODB"))
    cached = _tables.get(key)
    if cached is None:
        with _lock:  # making clients from a session is not thread-safe; using them is
            cached = _tables.get(key)
            if cached is None:
                cached = _tables[key] = Table(_client(purpose, key[1]), key[2])
    return cached


def _client(purpose: Purpose, region_name: str) -> Any:
    global _session
    if _session is None:
        _session = boto3.session.Session()
    return _session.client("dynamodb", region_name=region_name, config=_CONFIGS[purpose])
