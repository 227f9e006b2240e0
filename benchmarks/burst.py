"""A burst through the local deployment's global URL: ``--clients`` clients at once (200 by
default), each creating ``--rounds`` items and reading each back, every request on its own
connection, with a token from the local issuer. Prints requests/s, a count of each outcome
(2xx; 404, the read of an item whose write was refused; 429; 503; reset; other), latency
p50/p99/max of all requests, of the admitted ones (all but the 429 and 503 refusals) and of
the refusals, then reads every acknowledged write
(201) back through the global URL once replication had its bound, and counts the ones that
are not there: acknowledged writes lost. Bounded: at most clients x rounds x 2 requests,
each with a 30 s timeout, on loopback only. Run after `make deploy`:

    .venv/bin/python -m benchmarks.burst [--deployment .emulator/deployment.json] [--clients 200] [--rounds 2]
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from local import deployment_file
from local import issuer as local_issuer

REQUEST_TIMEOUT_S = 30.0
REPLICATION_WAIT_S = 3.0  # the replication bound (2 s) and a margin
READ_BACK_ATTEMPTS = 5


@dataclass
class Tally:
    outcomes: Counter = field(default_factory=Counter)
    latencies_ms: list[tuple[str, float]] = field(default_factory=list)  # (outcome, ms) per request
    acknowledged: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def outcome_of(status: int | None) -> str:
    if status is None:
        return "reset"
    if 200 <= status < 300:
        return "2xx"
    return str(status) if status in (404, 429, 503) else "other"


def send(base: str, method: str, path: str, token: str, body: bytes | None = None) -> int | None:
    """One request on a new connection: its status, or None when the connection was reset
    or closed without an answer."""
    split = urlsplit(base)
    connection = http.client.HTTPConnection(split.hostname or "127.0.0.1", split.port, timeout=REQUEST_TIMEOUT_S)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Connection": "close"}
    try:
        connection.request(method, split.path + path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    except (ConnectionError, http.client.RemoteDisconnected, http.client.BadStatusLine):
        return None
    except OSError:  # a timeout: counted as "other" by its status 0
        return 0
    finally:
        connection.close()


def client(base: str, token: str, rounds: int, start: threading.Barrier, tally: Tally) -> None:
    start.wait()
    for _ in range(rounds):
        item_id = f"burst-{uuid.uuid4()}"
        body = json.dumps({"item_id": item_id, "note": "burst"}).encode()
        written = one(base, "POST", "/items", token, body, tally) == 201
        if written:
            tally.acknowledged.append(item_id)  # list.append is atomic
        one(base, "GET", f"/items/{item_id}", token, None, tally, refused_write=not written)


def one(
    base: str, method: str, path: str, token: str, body: bytes | None, tally: Tally, refused_write: bool = True
) -> int | None:
    """One request, tallied; a 404 counts as "404" only after a refused write (a read that
    misses an acknowledged write is "other": never expected)."""
    started = time.perf_counter()
    status = send(base, method, path, token, body)
    elapsed = (time.perf_counter() - started) * 1000
    outcome = outcome_of(status) if status != 404 or refused_write else "other"
    with tally.lock:
        tally.latencies_ms.append((outcome, elapsed))
        tally.outcomes[outcome] += 1
    return status


def lost_writes(base: str, token: str, item_ids: list[str]) -> list[str]:
    """The acknowledged items no read finds (429/503 answers are retried, a few times)."""
    lost = []
    for item_id in item_ids:
        for attempt in range(READ_BACK_ATTEMPTS):
            status = send(base, "GET", f"/items/{item_id}", token)
            if status not in (429, 503, None):
                break
            time.sleep(0.2 * (attempt + 1))
        if status != 200:
            lost.append(item_id)
    return lost


REFUSALS = ("429", "503")


def percentiles(latencies_ms: list[float]) -> str:
    if not latencies_ms:
        return "none"
    ordered = sorted(latencies_ms)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"p50 {statistics.median(ordered):.0f} ms  p99 {p99:.0f} ms  max {ordered[-1]:.0f} ms"


def report(tally: Tally, seconds: float, lost: list[str]) -> None:
    total = len(tally.latencies_ms)
    admitted = [ms for outcome, ms in tally.latencies_ms if outcome not in REFUSALS]
    refused = [ms for outcome, ms in tally.latencies_ms if outcome in REFUSALS]
    print(
        f"{total} requests in {seconds:.1f} s: {total / seconds:.1f} requests/s,"
        f" {len(admitted) / seconds:.1f} admitted/s"
    )
    print(
        "outcomes: "
        + "  ".join(f"{name} {tally.outcomes[name]}" for name in ("2xx", "404", "429", "503", "reset", "other"))
    )
    print(f"latency, all requests:      {percentiles([ms for _, ms in tally.latencies_ms])}")
    print(f"latency, admitted requests: {percentiles(admitted)}")
    print(f"latency, refusals:          {percentiles(refused)}")
    print(f"acknowledged writes {len(tally.acknowledged)}, lost {len(lost)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deployment", type=Path, default=Path(".emulator/deployment.json"))
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    if not (1 <= args.clients <= 500 and 1 <= args.rounds <= 20):
        parser.error("--clients must be within 1..500 and --rounds within 1..20 (the burst is bounded)")
    deployment = deployment_file.load(args.deployment)
    base = deployment.needed(deployment.global_url, "global_url", "the burst benchmark")
    if urlsplit(base).hostname not in ("127.0.0.1", "localhost"):
        parser.error(f"{base} is not on loopback: this benchmark runs against the local deployment only")
    token = local_issuer.mint(local_issuer.from_deployment(deployment), "items:read items:write")
    tally, start = Tally(), threading.Barrier(args.clients)
    threads = [
        threading.Thread(target=client, args=(base, token, args.rounds, start, tally)) for _ in range(args.clients)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    time.sleep(REPLICATION_WAIT_S)
    report(tally, seconds, lost_writes(base, token, tally.acknowledged))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
