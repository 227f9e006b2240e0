"""What running functions as their execution roles adds per request (docs/iam-evaluation.md,
"Functions run as their roles"): two gateways for the first region of a local deployment,
made in this process as `python -m local.gateway` makes them, one as the roles (the
default) and one with the emulator's root test keys, called side by side, alternating.

- first request: a new gateway (no environment, no session) for each request: the role's
  GetRole, trust check and AssumeRole, the runtime process and the handler's import;
- warm: one gateway each, environments started and the authorizer's result cached.

Run after `make deploy`:

    .venv/bin/python -m benchmarks.function_roles [--deployment .emulator/deployment.json] [--first 10] [--warm 200]
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from benchmarks.gateway import authorization
from local import deployment_file, throttling
from local.gateway import Gateway, GatewayRequest, gateway_for

ITEM_ID = "benchmark-roles"


def gateway(deployment: deployment_file.Deployment, region: str, state_dir: Path, as_roles: bool) -> Gateway:
    made = gateway_for(deployment, region, state_dir, log=sys.stderr)
    # The stage's throttles would answer 429 to a benchmark: a clock an hour further on each
    # call keeps every bucket full (the check itself still runs).
    made.buckets = throttling.Buckets(clock=itertools.count(0, 3600).__next__)
    if not as_roles:
        made.environments.credentials = None  # the emulator's root test keys, as before
    return made


def timed(made: Gateway, request: GatewayRequest) -> float:
    started = time.perf_counter()
    response = made.handle(request)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status >= 400 and response.status != 404:
        raise RuntimeError(f"{request.method} {request.target}: {response.status} {response.log}")
    return elapsed


def first_requests(
    deployment: deployment_file.Deployment, region: str, request: GatewayRequest, count: int
) -> dict[str, float]:
    timings: dict[str, list[float]] = {"roles": [], "root": []}
    with tempfile.TemporaryDirectory() as state:
        for _ in range(count):
            for mode in timings:
                made = gateway(deployment, region, Path(state), mode == "roles")
                try:
                    timings[mode].append(timed(made, request))
                finally:
                    made.environments.close()
    return {mode: statistics.median(values) for mode, values in timings.items()}


def warm_requests(
    deployment: deployment_file.Deployment, region: str, request: GatewayRequest, count: int
) -> dict[str, float]:
    timings: dict[str, list[float]] = {"roles": [], "root": []}
    with tempfile.TemporaryDirectory() as state:
        made = {mode: gateway(deployment, region, Path(state), mode == "roles") for mode in timings}
        try:
            for mode in timings:
                timed(made[mode], request), timed(made[mode], request)  # start environments, cache the authorizer
            for _ in range(count):
                for mode in timings:
                    timings[mode].append(timed(made[mode], request))
        finally:
            for one in made.values():
                one.environments.close()
    return {mode: statistics.median(values) for mode, values in timings.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deployment", type=Path, default=Path(".emulator/deployment.json"))
    parser.add_argument("--first", type=int, default=10)
    parser.add_argument("--warm", type=int, default=200)
    args = parser.parse_args(argv)
    deployment = deployment_file.load(args.deployment)
    region, served = next(iter(deployment.regions.items()))
    stage_path = urlsplit(served.api_url).path
    headers = list(authorization(deployment).items()) + [("Host", urlsplit(served.api_url).netloc)]
    for name, path in (("GET /health", "/health"), ("GET /items/{item_id}", f"/items/{ITEM_ID}")):
        request = GatewayRequest("GET", stage_path + path, headers)
        first = first_requests(deployment, region, request, args.first)
        warm = warm_requests(deployment, region, request, args.warm)
        print(
            f"{name:<22} first request: roles {first['roles']:6.1f} ms, root {first['root']:6.1f} ms "
            f"(+{first['roles'] - first['root']:5.1f}, median of {args.first});   "
            f"warm: roles {warm['roles']:5.1f} ms, root {warm['root']:5.1f} ms "
            f"(+{warm['roles'] - warm['root']:4.1f}, median of {args.warm})"
        )


if __name__ == "__main__":
    main()
