"""The client load of a chaos run and what it observed (docs/chaos.md).

- **Load:** writes (``POST /items`` with a fresh ``item_id``) and reads of acknowledged items
  (``GET /items/{id}``) through the global URL, each at a steady rate, on loopback, with a
  token of the local issuer; bounded in time and in count.
- **Observer:** every ``OBSERVE_S`` it reads every acknowledged write from every region's
  table (the emulator's DynamoDB, directly: a measurement, not client traffic) and notes
  when each first became readable there; and it samples the router's health status file.

A run is in one process (Chaos Toolkit runs the Python providers in-process): ``current()``
is the run the probes and actions of ops/chaos_probes.py and ops/chaos_actions.py see.
"""

from __future__ import annotations

import http.client
import json
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, TypeVar
from urllib.parse import urlsplit

from local.deployment_file import Deployment
from local.emulator import aws_client
from ops.smoke import smoke_token

if TYPE_CHECKING:
    from collections.abc import Collection
    from pathlib import Path

T = TypeVar("T")
READER = "a chaos run"

OBSERVE_S = 0.25
REQUEST_TIMEOUT_S = 10.0
MAX_REQUESTS = 20_000  # a bound whatever the rates and duration
SERVED_BY = "X-Served-By-Region"


@dataclass(frozen=True)
class Request:
    started: float  # time.time()
    kind: str  # write | read | conflict
    status: int  # 0: no answer
    region: str  # the serving region ("none" without an answer)
    latency_s: float
    item_id: str

    @property
    def error(self) -> bool:
        """What a client counts as a failure: no answer, 5xx, throttled, refused auth. A 404
        on a read of an acknowledged item is a stale read, counted apart."""
        return self.status == 0 or self.status >= 500 or self.status in (401, 403, 429)


class Served(Protocol):
    """What the load and the observer read of what was deployed: the local deployment file's
    ``Deployment``, or a real environment's (ops/chaos_aws.py's ``AwsEndpoints``)."""

    @property
    def global_url(self) -> str | None: ...

    @property
    def regions(self) -> Collection[str]: ...

    @property
    def table_name(self) -> str | None: ...


@dataclass
class Window:
    kind: str
    started: float
    ended: float
    region: str | None = None


@dataclass
class Run:
    """Everything one chaos run recorded; lists only grow (read without a lock is safe)."""

    deployment: Served
    state_dir: Path
    time_scale: float
    token: str | None
    # > 0: a fresh token every this many wall seconds (new clients keep arriving), so the
    # authorizer runs instead of API Gateway's per-token result cache answering.
    token_refresh_s: float = 0.0
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    requests: list[Request] = field(default_factory=list)
    acked: dict[str, tuple[float, str]] = field(default_factory=dict)  # item -> (time, region)
    seen: dict[tuple[str, str], float] = field(default_factory=dict)  # (item, region) -> first seen
    health: list[tuple[float, dict[str, bool]]] = field(default_factory=list)
    faults: list[Window] = field(default_factory=list)
    conflicts: dict[str, list[tuple[float, str, str]]] = field(default_factory=dict)  # item -> (t, region, value)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _minted: float = field(default_factory=time.time)

    @property
    def regions(self) -> list[str]:
        return list(self.deployment.regions)

    @property
    def global_url(self) -> str:
        return self._needed(self.deployment.global_url, "global_url")

    @property
    def table_name(self) -> str:
        return self._needed(self.deployment.table_name, "table_name")

    def local(self) -> Deployment:
        """The local deployment, for the faults only the emulator can inject."""
        if not isinstance(self.deployment, Deployment):
            raise SystemExit(f"{READER} on a real environment cannot do this (it needs the local deployment)")
        return self.deployment

    def _needed(self, value: T | None, name: str) -> T:
        if isinstance(self.deployment, Deployment):
            return self.deployment.needed(value, name, READER)
        if value is None:
            raise SystemExit(f"{READER} needs {name}")
        return value

    def scaled(self, seconds: float) -> float:
        return float(seconds) * self.time_scale

    def bearer(self) -> str | None:
        if self.token_refresh_s > 0 and time.time() - self._minted > self.token_refresh_s:
            with self.lock:
                local = self.deployment if isinstance(self.deployment, Deployment) else None
                self.token, self._minted = smoke_token(local), time.time()
        return self.token

    def record(self, request: Request) -> None:
        with self.lock:
            self.requests.append(request)

    def window(self) -> tuple[float, float] | None:
        """The fault window: from the first fault's start to the last one's end."""
        if not self.faults:
            return None
        return min(w.started for w in self.faults), max(w.ended for w in self.faults)

    def down_regions(self, at: float) -> set[str]:
        return {w.region for w in self.faults if w.kind == "region-outage" and w.started <= at < w.ended and w.region}


_current: Run | None = None


def current() -> Run:
    if _current is None:
        raise RuntimeError("no chaos run in this process (the providers run under ops/chaos.py)")
    return _current


def set_current(run: Run | None) -> None:
    global _current
    _current = run


def call(url: str, method: str, path: str, token: str | None, body: dict | None = None) -> tuple[int, str, bytes]:
    """(status, serving region, body); status 0 when nothing answered."""
    parts = urlsplit(url)
    # https: a real environment's global name (make chaos ENV=<env>, ops/chaos_aws.py)
    kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = kind(parts.hostname or "127.0.0.1", parts.port, timeout=REQUEST_TIMEOUT_S)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        connection.request(method, parts.path.rstrip("/") + path, json.dumps(body) if body else None, headers)
        answer = connection.getresponse()
        return answer.status, answer.getheader(SERVED_BY) or "", answer.read()
    except (OSError, http.client.HTTPException):
        return 0, "none", b""
    finally:
        connection.close()


def timed_call(
    run: Run, kind: str, url: str, method: str, path: str, item_id: str, body: dict | None = None
) -> Request:
    started, clock = time.time(), time.monotonic()
    status, region, _ = call(url, method, path, run.bearer(), body)
    request = Request(started, kind, status, region or "none", time.monotonic() - clock, item_id)
    run.record(request)
    return request


def write_loop(run: Run, rate: float, until: float) -> None:
    url, sequence = run.global_url, 0
    while not run.stop.is_set() and time.time() < until and len(run.requests) < MAX_REQUESTS:
        item_id = f"chaos-{run.run_id}-{sequence}"
        sequence += 1
        request = timed_call(run, "write", url, "POST", "/items", item_id, {"item_id": item_id, "n": sequence})
        if request.status in (200, 201):
            with run.lock:
                run.acked[item_id] = (time.time(), request.region)
        run.stop.wait(max(0.0, 1 / rate - request.latency_s))


def read_loop(run: Run, rate: float, until: float) -> None:
    url, rng = run.global_url, random.Random(1)
    while not run.stop.is_set() and time.time() < until and len(run.requests) < MAX_REQUESTS:
        with run.lock:
            recent = list(run.acked)[-50:]
        if not recent:
            run.stop.wait(1 / rate)
            continue
        item_id = rng.choice(recent)
        request = timed_call(run, "read", url, "GET", f"/items/{item_id}", item_id)
        run.stop.wait(max(0.0, 1 / rate - request.latency_s))


def observe_loop(run: Run, clients: dict | None = None) -> None:
    """Replication as the tables hold it (``clients``: region -> DynamoDB client; default the
    emulator's), and the router's view of health."""
    if clients is None:
        clients = {region: aws_client("dynamodb", region, run.local().emulator_url) for region in run.regions}
    while not run.stop.is_set():
        observe_once(run, clients)
        run.stop.wait(OBSERVE_S)


def observe_once(run: Run, clients: dict) -> None:
    table, now = run.table_name, time.time()
    with run.lock:
        items = list(run.acked) + list(run.conflicts)
    for region, client in clients.items():
        missing = [item for item in items if (item, region) not in run.seen]
        for start in range(0, len(missing), 100):
            keys = [{"item_id": {"S": item}} for item in missing[start : start + 100]]
            try:
                found = client.batch_get_item(RequestItems={table: {"Keys": keys, "ConsistentRead": True}})
            except Exception:  # the emulator busy: the next round sees it
                continue
            for item in found["Responses"].get(table, []):
                run.seen.setdefault((item["item_id"]["S"], region), now)
    status_file = run.state_dir / "router-status.json"
    try:
        regions = json.loads(status_file.read_text())["regions"]
        run.health.append((now, {region: bool(state.get("healthy")) for region, state in regions.items()}))
    except (OSError, ValueError, KeyError, TypeError):
        pass


def start(
    run: Run, write_rps: float, read_rps: float, max_s: float, clients: dict | None = None
) -> list[threading.Thread]:
    until = time.time() + max_s
    threads = [
        threading.Thread(target=write_loop, args=(run, write_rps, until), daemon=True, name="writes"),
        threading.Thread(target=read_loop, args=(run, read_rps, until), daemon=True, name="reads"),
        threading.Thread(target=observe_loop, args=(run, clients), daemon=True, name="observer"),
    ]
    for thread in threads:
        thread.start()
    return threads
