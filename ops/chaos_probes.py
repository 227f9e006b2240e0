"""Chaos Toolkit probes (Python providers) of the steady-state hypothesis, over the run in
this process (ops/chaos_load.py). Windows are in seconds at TIME_SCALE 1."""

from __future__ import annotations

import time

from local.emulator import aws_client
from local.replicator import LAG_BOUND_S
from ops.chaos_load import Request, Run, current


def _recent(run: Run, window_s: float) -> list[Request]:
    since = time.time() - run.scaled(window_s)
    return [request for request in list(run.requests) if request.kind != "conflict" and request.started >= since]


def error_percent(window_s: float = 150) -> float:
    """Failed requests through the global URL in the last window, in percent (100 when none
    completed: a load that cannot get through is not a steady state)."""
    recent = _recent(current(), window_s)
    if not recent:
        return 100.0
    return round(100.0 * sum(request.error for request in recent) / len(recent), 2)


def at_most(limit: float, value: float | None = None) -> bool:
    """The tolerance of the error-rate and p99 probes: ``limit`` is the environment's
    ``[chaos]`` threshold, which Chaos Toolkit substitutes into a tolerance probe's arguments
    (it does not into a ``range``); ``value``, the probe's result, is added by Chaos Toolkit
    when it checks (its validation wants every argument without a default in the file)."""
    return value is not None and float(value) <= float(limit)


def p99_ms(window_s: float = 150) -> float:
    latencies = sorted(request.latency_s for request in _recent(current(), window_s))
    if not latencies:
        return float("inf")
    return round(1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))], 1)


def regions_agree(within_s: float = LAG_BOUND_S) -> bool:
    """Every region that is not cut off by a region outage holds every write acknowledged
    more than ``within_s`` (wall seconds: the replicator's bound) ago, and every conflicting
    item has one value everywhere."""
    run = current()
    now = time.time()
    serving = [region for region in run.regions if region not in run.down_regions(now)]
    deadline = now + within_s
    while True:
        old = [item for item, (when, _) in list(run.acked.items()) if when < now - within_s]
        missing = [(item, region) for item in old for region in serving if (item, region) not in run.seen]
        if not missing and _conflicts_converged(run, serving):
            return True
        if time.time() > deadline:
            return False
        time.sleep(0.25)


def _conflicts_converged(run: Run, regions: list[str]) -> bool:
    return all(len(set(values.values())) == 1 for values in conflict_values(run, regions).values())


def conflict_values(run: Run, regions: list[str]) -> dict[str, dict[str, str | None]]:
    """item -> region -> the value its table holds now."""
    if not run.conflicts:
        return {}  # nothing to read (and on AWS no emulator to read it from)
    table = run.table_name
    values: dict[str, dict[str, str | None]] = {}
    for region in regions:
        client = aws_client("dynamodb", region, run.local().emulator_url)
        for item in list(run.conflicts):
            found = client.get_item(TableName=table, Key={"item_id": {"S": item}}, ConsistentRead=True).get("Item")
            values.setdefault(item, {})[region] = found["value"]["S"] if found and "value" in found else None
    return values
