"""The PNG timeline of a chaos run (matplotlib, Agg): requests/s by serving region, errors,
each region's health as the router saw it, each region's replication lag, fault window
shaded."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from ops.chaos_verdict import lag_series

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

    from matplotlib.axes import Axes

    from ops.chaos_load import Run


def _per_second(run: Run, start: float) -> tuple[dict[str, Counter], Counter]:
    served: dict[str, Counter] = {}
    errors: Counter = Counter()
    for request in list(run.requests):
        if request.kind == "conflict":
            continue
        second = int(request.started - start)
        if request.error:
            errors[second] += 1
        else:
            served.setdefault(request.region, Counter())[second] += 1
    return served, errors


def _shade(axes: Iterable[Axes], run: Run, start: float) -> None:
    for window in run.faults:
        for ax in axes:
            ax.axvspan(window.started - start, window.ended - start, color="tab:red", alpha=0.12, lw=0)


def timeline(run: Run, path: Path, title: str) -> Path:
    # Imported here, not at the top: matplotlib costs ~0.5 s, and every pytest worker and
    # `make chaos` import this module, while only a finished run draws.
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    start = min((request.started for request in run.requests), default=0.0)
    figure, (traffic, health, lag) = plt.subplots(3, 1, figsize=(8, 6.4), sharex=True, dpi=80)
    served, errors = _per_second(run, start)
    seconds = list(range(int(max((r.started - start for r in run.requests), default=0)) + 2))
    for region, counts in sorted(served.items()):
        traffic.plot(seconds, [counts[s] for s in seconds], drawstyle="steps-post", label=f"served by {region}")
    traffic.plot(seconds, [errors[s] for s in seconds], drawstyle="steps-post", color="black", label="errors")
    traffic.set_ylabel("requests/s")
    traffic.legend(loc="upper right", fontsize=7)
    ticks, labels = [], []
    for offset, region in enumerate(run.regions):
        base = 1.5 * offset
        points = [(moment - start, states.get(region)) for moment, states in run.health if region in states]
        levels = [base + (1.0 if healthy else 0.0) for _, healthy in points]
        health.plot([moment for moment, _ in points], levels, drawstyle="steps-post", label=region)
        ticks += [base, base + 1.0]
        labels += [f"{region} unhealthy", f"{region} healthy"]
    health.set_yticks(ticks, labels, fontsize=7)
    health.set_ylabel("router's health")
    for region in run.regions:
        times, lags = lag_series(run, region)
        lag.plot([moment - start for moment in times], lags, label=f"into {region}")
    lag.set_ylabel("replication lag (s)")
    lag.set_xlabel("seconds since the load started")
    lag.legend(loc="upper right", fontsize=7)
    _shade((traffic, health, lag), run, start)
    figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    plt.close(figure)
    return path
