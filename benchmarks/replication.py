"""Replication lag of the local environment as a client sees it: write an item through one
region's gateway, then read another region's gateway until the item is there; the same for
its deletion. Sources alternate between the regions; the count is bounded and every item is
deleted again. Prints p50, p99 and the maximum, and the documented bound. Run after
`make deploy` (the replicator must be running). ``--elements N`` makes every item carry a list of
N empty strings (up to the local stand-in's bound, local/request_validation.py): the lag while
large items are written.

    .venv/bin/python -m benchmarks.replication [--deployment .emulator/deployment.json] [--writes 50] [--elements 0]
"""

from __future__ import annotations

import argparse
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from local import deployment_file
from local.replicator import LAG_BOUND_S
from local.request_validation import STAND_IN_MAX_ELEMENTS
from ops import smoke
from ops.smoke import smoke_token

if TYPE_CHECKING:
    from local.deployment_file import Deployment

MAX_WRITES = 500
POLL_S = 0.01


def visible_after(url: str, wanted_status: int, deadline_s: float, token: str | None) -> float:
    """Seconds until GET ``url`` answers ``wanted_status`` (inf after the deadline)."""
    started = time.monotonic()
    while time.monotonic() - started < deadline_s:
        if smoke.request("GET", url, token=token).status == wanted_status:
            return time.monotonic() - started
        time.sleep(POLL_S)
    return float("inf")


def measure(deployment: Deployment, writes: int, elements: int = 0) -> tuple[list[float], list[float]]:
    """(lags of writes, lags of deletes) in ms."""
    regions = list(deployment.regions)
    token = smoke_token(deployment)
    put_lags, delete_lags = [], []
    for index in range(writes):
        source, target = regions[index % len(regions)], regions[(index + 1) % len(regions)]
        item_id = f"bench-replication-{uuid.uuid4()}"
        source_url, target_url = deployment.regions[source].api_url, deployment.regions[target].api_url
        assert smoke.request("POST", f"{source_url}/items", item(item_id, index, elements), token=token).status == 201
        put_lags.append(visible_after(f"{target_url}/items/{item_id}", 200, LAG_BOUND_S * 5, token) * 1000)
        assert smoke.request("DELETE", f"{source_url}/items/{item_id}", token=token).status == 204
        delete_lags.append(visible_after(f"{target_url}/items/{item_id}", 404, LAG_BOUND_S * 5, token) * 1000)
    return put_lags, delete_lags


def item(item_id: str, index: int, elements: int) -> dict:
    return {"item_id": item_id, "n": index, **({"padding": [""] * elements} if elements else {})}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deployment", type=Path, default=Path(".emulator/deployment.json"))
    parser.add_argument("--writes", type=int, default=50)
    parser.add_argument("--elements", type=int, default=0, help="empty strings in a list on every item")
    args = parser.parse_args(argv)
    if not 0 <= args.elements <= STAND_IN_MAX_ELEMENTS - len(item("", 0, 1)):
        # the item's own attributes count too (local/request_validation.py)
        parser.error(
            f"--elements must be within 0..{STAND_IN_MAX_ELEMENTS - len(item('', 0, 1))} (the stand-in's bound)"
        )
    deployment = deployment_file.load(args.deployment)
    writes = min(args.writes, MAX_WRITES)
    put_lags, delete_lags = measure(deployment, writes, args.elements)
    for name, lags in (("write", put_lags), ("delete", delete_lags)):
        print(
            f"{name:<6} readable in the other region: p50 {smoke.percentile(lags, 0.5):6.0f} ms, "
            f"p99 {smoke.percentile(lags, 0.99):6.0f} ms, max {max(lags):6.0f} ms over {len(lags)} "
            f"(bound {LAG_BOUND_S * 1000:.0f} ms; {args.elements} list elements per item)"
        )
    return 0 if max(put_lags + delete_lags) <= LAG_BOUND_S * 1000 else 1


if __name__ == "__main__":
    raise SystemExit(main())
