"""Fault switches for the local deployment, flipped at run time from outside its processes
(docs/chaos.md): a control file, ``faults.json`` next to the deployment file, that the
gateways, the replicator and the issuer poll. Each fault is a JSON object with a ``kind``,
its parameters, and ``expires_at`` (epoch seconds): a fault always ends by itself, even
when whoever injected it died before its rollback.

- ``region-outage`` {region}: that region's gateway closes its listening socket (clients
  get connection refused, so the router's health check fails), and the replicator holds
  every record to and from that region until it recovers;
- ``replication-pause`` {regions: [a, b]}: no record is applied between a and b (both
  directions) until it ends; the records are held, not dropped;
- ``lambda-errors`` {region, percentage, functions, prevent_execution} and
  ``lambda-latency`` {region, percentage, delay_ms, functions}: the runtime side of a
  region's functions fails or delays that share of invocations, as FIS's Lambda extension
  does for ``aws:lambda:invocation-error`` / ``aws:lambda:invocation-add-delay``
  (``functions``: fnmatch patterns of function names, default every function);
- ``issuer-outage`` {}: the issuer closes its listening socket (its JWKS is unreachable).

Writers replace the file atomically; readers re-read it when its modification time changes.
"""

from __future__ import annotations

import fnmatch
import json
import os
import random
import threading
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

FILE_NAME = "faults.json"
POLL_S = 0.1
KINDS = ("region-outage", "replication-pause", "lambda-errors", "lambda-latency", "issuer-outage")


def path_for(state_dir: Path) -> Path:
    return Path(state_dir) / FILE_NAME


class Faults:
    """The faults in force, read from ``path`` (absent: none)."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.time, rng: random.Random | None = None) -> None:
        self.path, self.clock = Path(path), clock
        self.rng = rng or random.Random()
        self._stamp: tuple[int, int] | None = None
        self._faults: list[dict] = []
        self._lock = threading.Lock()

    def active(self, kind: str) -> list[dict]:
        with self._lock:
            self._reload()
            now = self.clock()
            return [fault for fault in self._faults if fault.get("kind") == kind and fault.get("expires_at", 0) > now]

    def _reload(self) -> None:
        try:
            stat = self.path.stat()
        except OSError:
            self._stamp, self._faults = None, []
            return
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp == self._stamp:
            return
        try:
            faults = json.loads(self.path.read_text()).get("faults", [])
        except (OSError, ValueError):
            return  # a torn read cannot happen (atomic replace); keep the last good state
        self._stamp, self._faults = stamp, [fault for fault in faults if isinstance(fault, dict)]

    def region_down(self, region: str) -> bool:
        return any(fault.get("region") == region for fault in self.active("region-outage"))

    def issuer_down(self) -> bool:
        return bool(self.active("issuer-outage"))

    def replication_blocked(self, source: str, target: str) -> bool:
        """Whether a record from ``source`` may not be applied in ``target`` now."""
        if source == target:
            return False
        if self.region_down(source) or self.region_down(target):
            return True
        return any({source, target} <= set(fault.get("regions", ())) for fault in self.active("replication-pause"))

    def invocation(self, region: str, function_name: str) -> tuple[bool, float]:
        """(fail this invocation?, seconds to add before it), each drawn per invocation
        with the fault's percentage."""
        fail, delay_s = False, 0.0
        for fault in self._for_function("lambda-errors", region, function_name):
            if self.rng.uniform(0, 100) < float(fault.get("percentage", 100)):
                fail = True
        for fault in self._for_function("lambda-latency", region, function_name):
            if self.rng.uniform(0, 100) < float(fault.get("percentage", 100)):
                delay_s += float(fault.get("delay_ms", 0)) / 1000
        return fail, delay_s

    def _for_function(self, kind: str, region: str, function_name: str) -> list[dict]:
        return [
            fault
            for fault in self.active(kind)
            if fault.get("region") == region
            and any(fnmatch.fnmatchcase(function_name, pattern) for pattern in fault.get("functions") or ["*"])
        ]


# --- writing the control file (the chaos experiments' actions and rollbacks) -------------


def _read(path: Path) -> list[dict]:
    try:
        return list(json.loads(path.read_text()).get("faults", []))
    except (OSError, ValueError):
        return []


def _write(path: Path, faults: list[dict]) -> None:
    partial = path.with_suffix(f".{os.getpid()}.partial")
    partial.write_text(json.dumps({"faults": faults}, indent=2) + "\n")
    partial.replace(path)


def inject(state_dir: Path, kind: str, duration_s: float, **parameters: object) -> str:
    """Adds a fault for ``duration_s``; returns its id."""
    if kind not in KINDS:
        raise ValueError(f"fault kind {kind!r} is not one of {', '.join(KINDS)}")
    if duration_s <= 0:
        raise ValueError(f"a fault lasts a positive number of seconds (got {duration_s})")
    path = path_for(state_dir)
    fault_id = uuid.uuid4().hex[:12]
    fault = {"id": fault_id, "kind": kind, "expires_at": time.time() + duration_s, **parameters}
    _write(path, [*_read(path), fault])
    return fault_id


def clear(state_dir: Path, fault_id: str | None = None) -> int:
    """Removes one fault (or every one); returns how many were removed."""
    path = path_for(state_dir)
    faults = _read(path)
    kept = [fault for fault in faults if fault_id is not None and fault.get("id") != fault_id]
    _write(path, kept)
    return len(faults) - len(kept)


# --- a server that stops accepting during an outage -----------------------------------------


def serve_with_outages(make_server: Callable[[], object], down: Callable[[], bool], stop: threading.Event) -> None:
    """Serves ``make_server()`` until ``stop``; while ``down()`` the listening socket is
    closed (connection refused), then a new server binds the same address."""
    while not stop.is_set():
        server = make_server()
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)  # type: ignore[attr-defined]
        thread.start()
        while not stop.is_set() and not down():
            stop.wait(POLL_S)
        server.shutdown()  # type: ignore[attr-defined]
        server.server_close()  # type: ignore[attr-defined]
        thread.join()
        while not stop.is_set() and down():
            stop.wait(POLL_S)
