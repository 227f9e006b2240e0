"""What the local gateway costs per request: GET /health and GET /items/{id} (warm) through
a deployed region's gateway, against the same handlers called directly in this process
with the same table on the same emulator. Prints medians; run after `make deploy`.

    .venv/bin/python -m benchmarks.gateway [--deployment .emulator/deployment.json] [--requests 200]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

from local import deployment_file
from local.emulator import aws_client

if TYPE_CHECKING:
    from collections.abc import Callable

    from local.deployment_file import Deployment

ITEM_ID = "benchmark-item"


def authorization(deployment: Deployment) -> dict[str, str]:
    """A bearer token from the local issuer (the item routes answer 401 without one); none
    when the environment is public."""
    if deployment.auth is None:
        return {}
    from local import issuer

    return {"Authorization": "Bearer " + issuer.mint(issuer.from_deployment(deployment), "items:read items:write")}


def through_gateway(url: str, requests: int, headers: dict[str, str]) -> list[float]:
    timings = []
    for _ in range(requests):
        started = time.perf_counter()
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as response:
            response.read()
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def direct(handler: Callable[[dict, None], dict], event: dict, requests: int) -> list[float]:
    timings = []
    for _ in range(requests):
        started = time.perf_counter()
        handler(event, None)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deployment", type=Path, default=Path(".emulator/deployment.json"))
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args(argv)
    deployment = deployment_file.load(args.deployment)
    region, served = next(iter(deployment.regions.items()))
    base = served.api_url
    headers = authorization(deployment)
    create = urllib.request.Request(
        base + "/items",
        data=json.dumps({"item_id": ITEM_ID}).encode(),
        method="POST",
        headers={**headers, "Content-Type": "application/json"},
    )
    urllib.request.urlopen(create, timeout=30).read()
    configuration = aws_client("lambda", region, deployment.emulator_url).get_function_configuration(
        FunctionName=served.functions["health"]
    )
    os.environ.update(
        {
            **configuration["Environment"]["Variables"],
            "AWS_REGION": region,
            "AWS_ENDPOINT_URL": deployment.emulator_url,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
        }
    )
    from functions import health, items

    cases: dict[str, tuple[str, Callable[[dict, None], dict], dict]] = {
        "GET /health": (base + "/health", health.check, {"httpMethod": "GET", "path": "/health"}),
        "GET /items/{item_id}": (
            f"{base}/items/{ITEM_ID}",
            items.get_item,
            {"httpMethod": "GET", "pathParameters": {"item_id": ITEM_ID}},
        ),
    }
    for name, (url, handler, event) in cases.items():
        through_gateway(url, 5, headers), direct(handler, event, 5)  # warm both: environments, clients
        gateway_ms = statistics.median(through_gateway(url, args.requests, headers))
        direct_ms = statistics.median(direct(handler, event, args.requests))
        print(
            f"{name:<22} gateway {gateway_ms:6.1f} ms   handler alone {direct_ms:6.1f} ms   "
            f"overhead {gateway_ms - direct_ms:6.1f} ms per request (median of {args.requests})"
        )
    delete = urllib.request.Request(f"{base}/items/{ITEM_ID}", method="DELETE", headers=headers)
    urllib.request.urlopen(delete, timeout=30).read()


if __name__ == "__main__":
    main()
