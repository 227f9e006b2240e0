"""The numbers of a chaos run's verdict, from what ops/chaos_load.py recorded. The
definitions (docs/chaos.md, "What the numbers mean"):

- **RTO:** the time clients saw errors through the global URL: from the first failed request
  (no answer, 5xx, 429, 401/403) to the end of the last one; 0 when none failed.
- **RPO:** acknowledged writes that were not readable in another region that was serving,
  at some instant of the fault window: their count, and the age of the oldest (from its
  acknowledgement until it became readable there, or until the end of the run).
- **lost:** acknowledged writes not readable in every region after recovery.
- **conflicts:** acknowledged writes silently overwritten (last writer wins): a conflicting
  write whose value is not the one every region converged on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ops.chaos_load import Run


@dataclass(frozen=True)
class Numbers:
    rto_s: float
    rpo_s: float
    rpo_writes: int
    lost: int
    conflicts: int
    writes: int
    requests: int
    errors: int


def rto_s(run: Run) -> float:
    failed = [request for request in run.requests if request.kind != "conflict" and request.error]
    if not failed:
        return 0.0
    return max(r.started + r.latency_s for r in failed) - min(r.started for r in failed)


def rpo(run: Run, end: float) -> tuple[float, int]:
    """(age of the oldest, count) of the writes the module docstring counts toward RPO."""
    window = run.window()
    if window is None:
        return 0.0, 0
    started, ended = window
    cut_off = {w.region for w in run.faults if w.kind == "region-outage"}
    oldest, count = 0.0, 0
    for item, (acked, origin) in list(run.acked.items()):
        if acked >= ended:
            continue
        ages = [
            run.seen.get((item, other), end) - acked
            for other in run.regions
            if other != origin and other not in cut_off and run.seen.get((item, other), end) > max(acked, started)
        ]
        if ages:
            count += 1
            oldest = max(oldest, *ages)
    return oldest, count


def lost(run: Run) -> int:
    return sum(1 for item in list(run.acked) if any((item, region) not in run.seen for region in run.regions))


def numbers(run: Run, conflicts: int) -> Numbers:
    oldest, count = rpo(run, time.time())
    clients = [request for request in run.requests if request.kind != "conflict"]
    return Numbers(
        rto_s=round(rto_s(run), 2),
        rpo_s=round(oldest, 2),
        rpo_writes=count,
        lost=lost(run),
        conflicts=conflicts,
        writes=len(run.acked),
        requests=len(clients),
        errors=sum(request.error for request in clients),
    )


def line(name: str, held: bool, numbers: Numbers) -> str:
    return (
        f"{name}: steady state {'held' if held else 'broken'}, rto {numbers.rto_s:g} s, "
        f"rpo {numbers.rpo_s:g} s ({numbers.rpo_writes} writes), lost {numbers.lost}, conflicts {numbers.conflicts}"
    )


def lag_series(run: Run, region: str, step_s: float = 0.25) -> tuple[list[float], list[float]]:
    """(times, seconds): at each time, the age of the oldest acknowledged write not yet
    readable in ``region`` (0 when it holds every one): its replication lag as clients feel it."""
    if not run.requests:
        return [], []
    start, end = run.requests[0].started, max(r.started + r.latency_s for r in run.requests)
    acked = sorted(run.acked.items(), key=lambda entry: entry[1][0])
    times, lags, moment = [], [], start
    while moment <= end:
        waiting = [
            moment - when
            for item, (when, _) in acked
            if when <= moment and run.seen.get((item, region), float("inf")) > moment
        ]
        times.append(moment)
        lags.append(max(waiting, default=0.0))
        moment += step_s
    return times, lags
