"""The issuer's signing keys: found through its discovery document (unless a JWKS URL is
configured), fetched at run time and cached in the execution environment.

- Fresh keys are reused for ``REFRESH_SECONDS``; then the next request fetches them again.
- A token signed with a key id the cache does not have triggers one early fetch (the issuer
  rotated its keys), at most once per ``REFETCH_UNKNOWN_SECONDS``.
- **While the issuer is unreachable** the cached keys keep being used until they are
  ``max_age`` seconds old (the environment's setting ``JWKS_MAX_AGE_SECONDS``), and a failed
  fetch is not retried for ``RETRY_AFTER_FAILURE_SECONDS``, so an outage does not add a
  timeout to every request. Past ``max_age``, or in an execution environment that never got
  the keys, ``KeysUnavailable`` is raised: the authorizer fails closed.

Parsing and verification are PyJWT's (``PyJWKSet``); only the fetching and caching are here.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Callable
from typing import Any

from jwt import PyJWK, PyJWKSet
from jwt.exceptions import PyJWKSetError

REFRESH_SECONDS = 300
REFETCH_UNKNOWN_SECONDS = 60
RETRY_AFTER_FAILURE_SECONDS = 30
FETCH_TIMEOUT_SECONDS = 2.0
MAX_DOCUMENT_BYTES = 1 << 20
DISCOVERY_PATH = "/.well-known/openid-configuration"

# Fetches a JSON object from a URL (``fetch_json``; tests pass their own).
Fetch = Callable[[str], dict[str, Any]]


class KeysUnavailable(RuntimeError):
    """No usable signing keys: the issuer could not be reached and the cache is empty or too old."""


def fetch_json(url: str) -> dict[str, Any]:
    """A JSON object from ``url``, bounded in time and size."""
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT_SECONDS) as response:
        body = response.read(MAX_DOCUMENT_BYTES + 1)
    if len(body) > MAX_DOCUMENT_BYTES:
        raise ValueError(f"{url}: document larger than {MAX_DOCUMENT_BYTES} bytes")
    document = json.loads(body)
    if not isinstance(document, dict):
        raise ValueError(f"{url}: not a JSON object")
    return document


def jwks_uri(issuer: str, fetch: Fetch = fetch_json) -> str:
    """The ``jwks_uri`` of the issuer's OpenID discovery document, which must name the same
    issuer (OpenID Connect Discovery 1.0, section 4.3) and, for an https issuer, be https."""
    document = fetch(issuer.rstrip("/") + DISCOVERY_PATH)
    if document.get("issuer") != issuer:
        raise ValueError(f"the discovery document names issuer {document.get('issuer')!r}, not {issuer!r}")
    uri = document.get("jwks_uri")
    if not isinstance(uri, str) or (issuer.startswith("https://") and not uri.startswith("https://")):
        raise ValueError(f"the discovery document's jwks_uri {uri!r} is not usable")
    return uri


class KeyCache:
    """Signing keys by key id, as described in the module doc. Thread-safe."""

    def __init__(
        self,
        issuer: str,
        jwks_url: str,
        max_age: float,
        fetch: Fetch = fetch_json,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.issuer, self.jwks_url, self.max_age = issuer, jwks_url, max_age
        self.fetch, self.clock = fetch, clock
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at: float | None = None
        self._failed_at: float | None = None
        self._unknown_at = float("-inf")
        self._lock = threading.Lock()

    def key(self, kid: str) -> PyJWK | None:
        """The key with id ``kid``, or None when the issuer has no such key."""
        with self._lock:
            now = self.clock()
            if self._stale(now) or (kid not in self._keys and now - self._unknown_at >= REFETCH_UNKNOWN_SECONDS):
                if kid not in self._keys and not self._stale(now):
                    self._unknown_at = now
                self._refresh(now)
            if self._fetched_at is None or now - self._fetched_at >= self.max_age:
                raise KeysUnavailable("the issuer's signing keys could not be fetched and none are cached")
            return self._keys.get(kid)

    def _stale(self, now: float) -> bool:
        return self._fetched_at is None or now - self._fetched_at >= REFRESH_SECONDS

    def _refresh(self, now: float) -> None:
        if self._failed_at is not None and now - self._failed_at < RETRY_AFTER_FAILURE_SECONDS:
            return
        try:
            url = self.jwks_url or jwks_uri(self.issuer, self.fetch)
            keys = PyJWKSet.from_dict(self.fetch(url)).keys
        except (OSError, ValueError, PyJWKSetError) as err:  # URLError, timeouts, bad JSON, no usable key
            self._failed_at = now
            log(
                "jwks fetch failed",
                reason=f"{type(err).__name__}: {str(err)[:200]}",
                cached_age_s=None if self._fetched_at is None else round(now - self._fetched_at),
            )
            return
        self._keys = {key.key_id: key for key in keys if key.key_id and getattr(key, "public_key_use", None) != "enc"}
        self._fetched_at, self._failed_at = now, None


def log(message: str, **fields: object) -> None:
    """One JSON line with what Lambda's JSON log format reads (``level``, ``timestamp``);
    never tokens."""
    level = "WARN" if "failed" in message else "INFO"
    now = time.time()
    timestamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"
    print(json.dumps({"timestamp": timestamp, "level": level, "message": message, **fields}, default=str), flush=True)
