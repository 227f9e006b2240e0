"""Smoke check of a deployed environment, region by region: health, create, get (served by
that region, payload exact), the item readable in every other region (replication), delete,
the delete seen in every other region, and get again (404); then the same through the
global URL, checking that every answer comes from one region. Works the same against the
local emulated APIs and a real deployment's invoke URLs and global name. The time each
write took to become readable elsewhere is the replication lag the summary reports.

    python -m ops.smoke --deployment .emulator/deployment.json
    SMOKE_TOKEN=<token> python -m ops.smoke \
        --url eu-west-1=https://<id>.execute-api.eu-west-1.amazonaws.com/v1 --url ...

The item routes need a token with items:read and items:write: minted from the local issuer
for a local deployment file, else taken from SMOKE_TOKEN.

Exit status 0 only when every check passed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from local import deployment_file

if TYPE_CHECKING:
    from local.deployment_file import Deployment

# How long a real deployment's replication may take before the smoke check fails: global
# tables replicate within about a second, usually; a smoke check is no latency test.
REAL_REPLICATION_WAIT_S = 10.0
REPLICATION_POLL_S = 0.02
GLOBAL = "global"
SERVED_BY_HEADER = "X-Served-By-Region"  # the local router's (local/router.py)


@dataclass(frozen=True)
class Check:
    region: str
    name: str
    ok: bool
    detail: str
    ms: float
    lags_ms: tuple[float, ...] = ()  # replication checks: per other region, until readable there


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:  # a JSON document: any of its types
        return json.loads(self.body, parse_float=Decimal) if self.body else None


# A check on a response: the problem, or None.
Verify = Callable[[Response], str | None]


class Step(Protocol):
    def __call__(
        self, name: str, method: str, path: str, expect: int, body: object = None, verify: Verify | None = None
    ) -> bool: ...


def request(
    method: str,
    url: str,
    body: object = None,
    timeout: float = 10.0,
    token: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """One request; ``token`` goes in ``Authorization: Bearer`` (never logged)."""
    data = json.dumps(body).encode() if body is not None else None
    sent = {
        "Content-Type": "application/json",
        **({"Authorization": f"Bearer {token}"} if token else {}),
        **(headers or {}),
    }
    req = urllib.request.Request(url, data=data, method=method, headers=sent)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return Response(resp.status, dict(resp.headers.items()), resp.read())
    except urllib.error.HTTPError as err:
        return Response(err.code, dict(err.headers.items()), err.read())


def smoke_region(
    region: str,
    base_url: str,
    timeout: float = 10.0,
    others: dict[str, str] | None = None,
    replication_bound_s: float | None = None,
    token: str | None = None,
) -> list[Check]:
    """Run the checks in order; stop at the first failure (later ones depend on it).
    ``others`` (region -> base URL) with ``replication_bound_s``: also check that the item,
    then its deletion, reach every other region within that bound. The item routes get
    ``token`` (scopes items:read and items:write); /health goes without."""
    base = base_url.rstrip("/")
    item_id = f"smoke-{uuid.uuid4()}"
    # 0.1 and a 20-digit integer catch any float round trip on the way.
    probe = {"ratio": 0.1, "big": 12345678901234567890, "tags": ["a", ""], "nested": {"none": None}}
    expected_probe = json.loads(json.dumps(probe), parse_float=Decimal)
    checks: list[Check] = []
    step = _stepper(region, base, timeout, checks, token)

    def health_ok(resp: Response) -> str | None:
        doc = resp.json()
        if doc.get("status") != "ok" or doc.get("region") != region:
            return f"unexpected health body {doc!r} (expected status ok, region {region})"
        return None

    def created(resp: Response) -> str | None:
        if not resp.headers.get("Location", "").endswith(f"/items/{item_id}"):
            return f"missing or wrong Location header: {resp.headers.get('Location')!r}"
        return None

    def fetched(resp: Response) -> str | None:
        doc = resp.json()
        if doc.get("served_by") != region:
            return f"served_by is {doc.get('served_by')!r} (expected {region})"
        if doc.get("probe") != expected_probe or doc.get("origin_region") != region:
            return f"item came back different: {doc!r}"
        return None

    def replicated(origin: str | None) -> bool:
        if not others or replication_bound_s is None:
            return True
        return _replicated(checks, region, others, item_id, origin, replication_bound_s, timeout, token)

    _ = (
        step("health", "GET", "/health", 200, verify=health_ok)
        and step("create", "POST", "/items", 201, body={"item_id": item_id, "probe": probe}, verify=created)
        and step("get", "GET", f"/items/{item_id}", 200, verify=fetched)
        and replicated(region)
        and step("delete", "DELETE", f"/items/{item_id}", 204)
        and replicated(None)
        and step("get after delete", "GET", f"/items/{item_id}", 404)
    )
    return checks


def _stepper(region: str, base: str, timeout: float, checks: list[Check], token: str | None = None) -> Step:
    """``step(name, method, path, expect, body, verify)``: one request, one Check; True if it
    passed. Every route but /health gets ``token``."""

    def step(name: str, method: str, path: str, expect: int, body: object = None, verify: Verify | None = None) -> bool:
        started = time.monotonic()
        try:
            resp = request(method, base + path, body, timeout, token=None if path == "/health" else token)
            problem = None if resp.status == expect else f"HTTP {resp.status} (expected {expect}): {resp.body[:200]!r}"
            if problem is None and verify is not None:
                problem = verify(resp)
        except (OSError, ValueError) as err:
            problem = f"{type(err).__name__}: {err}"
        ms = (time.monotonic() - started) * 1000
        checks.append(Check(region, name, problem is None, problem or f"HTTP {expect}", ms))
        return problem is None

    return step


def _replicated(
    checks: list[Check],
    region: str,
    others: dict[str, str],
    item_id: str,
    origin: str | None,
    bound_s: float,
    timeout: float,
    token: str | None = None,
) -> bool:
    """Poll every other region until the item (``origin`` set) or its absence (None) shows;
    one Check with the lag to each region."""
    started = time.monotonic()
    pending = {other: url.rstrip("/") + f"/items/{item_id}" for other, url in others.items() if other != region}
    lags, problem = {}, None
    while pending and problem is None:
        for other, url in list(pending.items()):
            try:
                resp = request("GET", url, timeout=timeout, token=token)
            except (OSError, ValueError) as err:
                problem = f"{other}: {type(err).__name__}: {err}"
                break
            seen = resp.status == 200 and resp.json().get("origin_region") == origin if origin else resp.status == 404
            if seen:
                lags[other] = (time.monotonic() - started) * 1000
                del pending[other]
        if pending and time.monotonic() - started > bound_s:
            problem = f"not in {', '.join(sorted(pending))} after {bound_s:g} s"
        elif pending:
            time.sleep(REPLICATION_POLL_S)
    name = "replicated" if origin else "delete replicated"
    detail = problem or ", ".join(f"{other} {lag:.0f} ms" for other, lag in sorted(lags.items()))
    checks.append(
        Check(region, name, problem is None, detail, (time.monotonic() - started) * 1000, tuple(lags.values()))
    )
    return problem is None


def smoke_global(global_url: str, regions: list[str], timeout: float = 10.0, token: str | None = None) -> list[Check]:
    """Health, create, get, delete and get-after-delete through the global URL: each answer
    must come from one of ``regions``, the same one the router's header names when it is
    there, and the item must come back as it was written."""
    base = global_url.rstrip("/")
    item_id = f"smoke-global-{uuid.uuid4()}"
    checks: list[Check] = []
    step = _stepper(GLOBAL, base, timeout, checks, token)

    def from_a_region(field_name: str, expected: int) -> Verify:
        def verify(resp: Response) -> str | None:
            doc = resp.json() if expected != 204 else {}
            served = resp.headers.get(SERVED_BY_HEADER)
            region = doc.get(field_name, served) if field_name else served
            if region not in regions or (served is not None and served != region):
                return f"answered by {region!r} (header {served!r}), expected one region of {regions}"
            return None

        return verify

    _ = (
        step("health", "GET", "/health", 200, verify=from_a_region("region", 200))
        and step(
            "create",
            "POST",
            "/items",
            201,
            body={"item_id": item_id, "via": "global"},
            verify=from_a_region("origin_region", 201),
        )
        and step("get", "GET", f"/items/{item_id}", 200, verify=from_a_region("served_by", 200))
        and step("delete", "DELETE", f"/items/{item_id}", 204)
        and step("get after delete", "GET", f"/items/{item_id}", 404)
    )
    return checks


def smoke(
    urls: dict[str, str],
    timeout: float = 10.0,
    token: str | None = None,
    global_url: str | None = None,
    replication_bound_s: float | None = None,
) -> list[Check]:
    """Every region (with replication to the others when ``replication_bound_s`` is given
    and there are several), then the global URL when there is one."""
    checks: list[Check] = []
    if replication_bound_s is not None:
        _warm_reads(urls, timeout, token)
    for region, url in urls.items():
        checks += smoke_region(region, url, timeout, urls if len(urls) > 1 else None, replication_bound_s, token)
    if global_url:
        checks += smoke_global(global_url, list(urls), timeout, token)
    return checks


def _warm_reads(urls: dict[str, str], timeout: float, token: str | None = None) -> None:
    """One GET of a missing item per region before anything is measured, so the first
    replication sample measures replication, not the read function's first start (a Lambda
    cold start; locally a new execution environment, 0.3-0.9 s)."""
    for url in urls.values():
        with contextlib.suppress(OSError):  # the checks that follow say what is wrong
            request("GET", url.rstrip("/") + f"/items/smoke-warm-{uuid.uuid4()}", timeout=timeout, token=token)


def percentile(samples: list[float], fraction: float) -> float:
    """Nearest rank: the smallest sample with at least ``fraction`` of the samples at or below it."""
    ordered = sorted(samples)
    rank = math.ceil(round(fraction * len(ordered), 9))  # round: 0.99 * 100 is 98.99999999999999
    return ordered[min(len(ordered), max(rank, 1)) - 1]


def lag_summary(checks: list[Check]) -> str:
    """``lag p50 .. ms, p99 .. ms over N replicated writes`` from the replication checks."""
    lags = [lag for check in checks if check.name in ("replicated", "delete replicated") for lag in check.lags_ms]
    if not lags:
        return "lag not measured (one region, or replication not checked)"
    return (
        f"lag p50 {percentile(lags, 0.50):.0f} ms, p99 {percentile(lags, 0.99):.0f} ms over {len(lags)} writes "
        "and deletes readable in another region (smoke run)"
    )


def format_checks(checks: list[Check]) -> str:
    lines = []
    for check in checks:
        mark = "ok  " if check.ok else "FAIL"
        detail = "" if check.ok else check.detail
        lines.append(f"  {mark} {check.region:<16} {check.name:<17} {check.ms:7.1f} ms  {detail}".rstrip())
    return "\n".join(lines)


def urls_from_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> dict[str, str]:
    """region -> base URL, from ``--url`` pairs and/or a deployment file."""
    urls = {}
    if args.deployment:
        try:
            deployment = deployment_file.load(args.deployment)
        except deployment_file.DeploymentFileError as err:
            parser.error(str(err))
        urls.update({region: served.api_url for region, served in deployment.regions.items()})
    for pair in args.url or []:
        region, sep, url = pair.partition("=")
        if not sep or not url.startswith(("http://", "https://")):
            parser.error(f"--url {pair!r} is not REGION=URL (expected e.g. eu-west-1=https://host/v1)")
        urls[region] = url
    if not urls:
        parser.error("give --deployment FILE or at least one --url REGION=URL")
    return urls


def smoke_token(deployment: Deployment | None) -> str | None:
    """A token with every route scope from the local issuer, or SMOKE_TOKEN for a real
    environment (a client-credentials token of its issuer; never printed)."""
    if deployment is not None and deployment.auth is not None:
        from local import issuer as local_issuer

        return local_issuer.mint(local_issuer.from_deployment(deployment), "items:read items:write")
    return os.environ.get("SMOKE_TOKEN") or None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Smoke-check every region of a deployment.")
    parser.add_argument(
        "--deployment",
        type=Path,
        metavar="FILE",
        help="a deployment file (.emulator/deployment.json): every region in it",
    )
    parser.add_argument(
        "--url",
        action="append",
        metavar="REGION=URL",
        help="a region's base URL including the stage, e.g. eu-west-1=https://abc.execute-api.eu-west-1.amazonaws.com/v1",
    )
    parser.add_argument(
        "--global-url",
        metavar="URL",
        help="also check through the global name (a deployment file's global_url by default)",
    )
    parser.add_argument(
        "--replication-bound",
        type=float,
        metavar="SECONDS",
        help="also check that writes and deletes reach every other region within SECONDS",
    )
    parser.add_argument("--timeout", type=float, default=10.0)
    args = parser.parse_args(argv)
    urls = urls_from_arguments(parser, args)
    deployment = deployment_file.load(args.deployment) if args.deployment else None

    global_url = args.global_url or (deployment.global_url if deployment else None)
    checks = smoke(urls, args.timeout, smoke_token(deployment), global_url, args.replication_bound)
    print(format_checks(checks))
    passed = sum(check.ok for check in checks)
    print(f"smoke: {passed} passed, {len(checks) - passed} failed")
    if args.replication_bound is not None:
        print(f"replication: {lag_summary(checks)}")
    return 0 if checks and passed == len(checks) else 1


if __name__ == "__main__":
    sys.exit(main())
