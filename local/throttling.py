"""API Gateway's stage and method throttling, from the deployed stage's method settings
(GetStage ``methodSettings``): ``*/*`` is the stage's default for every method, and
``<resource path>/<METHOD>`` (the path with ``/`` written ``~1``, as the settings' patch
paths spell it) overrides it for one method. Each method has its own token bucket: it holds
at most ``throttlingBurstLimit`` requests and refills at ``throttlingRateLimit`` per second;
a request finding it empty is answered 429 ``{"message":"Too Many Requests"}``. Settings
apply at once, without a new deployment, as stage settings do. Not emulated: the account's
regional limit (10,000 requests/s) and usage plans.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable


@dataclass(frozen=True)
class Limit:
    rate_per_s: float
    burst: int


def method_key(resource_path: str, http_method: str) -> str:
    """``/items/{item_id}`` GET -> ``items/{item_id}/GET``."""
    return f"{resource_path.strip('/')}/{http_method}"


def limits(method_settings: dict) -> dict[str, Limit]:
    """The throttles a stage's ``methodSettings`` set, by ``method_key`` (``*/*``: default)."""
    found = {}
    for key, settings in (method_settings or {}).items():
        rate, burst = settings.get("throttlingRateLimit"), settings.get("throttlingBurstLimit")
        if rate is None or burst is None:
            continue
        normalized = "*/*" if key == "*/*" else key.replace("~1", "/").lstrip("/")
        found[normalized] = Limit(float(rate), int(burst))
    return found


def limit_for(throttles: dict[str, Limit], resource_path: str, http_method: str) -> Limit | None:
    return throttles.get(method_key(resource_path, http_method)) or throttles.get("*/*")


class Buckets:
    """One token bucket per method; a changed limit starts that method's bucket full."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._buckets: dict[str, tuple[Limit, float, float]] = {}  # key -> limit, tokens, updated
        self._lock = threading.Lock()

    def take(self, key: str, limit: Limit) -> bool:
        """True when the request may pass (one token taken), False when it is throttled."""
        now = self.clock()
        with self._lock:
            known, tokens, updated = self._buckets.get(key, (limit, float(limit.burst), now))
            if known != limit:
                tokens = float(limit.burst)
            tokens = min(float(limit.burst), tokens + (now - updated) * limit.rate_per_s)
            allowed = tokens >= 1.0
            self._buckets[key] = (limit, tokens - 1.0 if allowed else tokens, now)
            return allowed
