"""Smoke check of a deployed environment, region by region: health, create, get (served by
that region, payload exact), delete, and get again (404). Works the same against the local
emulated APIs and a real deployment's invoke URLs.

    python -m tools.smoke --deployment .emulator/deployment.json
    SMOKE_TOKEN=<token> python -m tools.smoke --url eu-west-1=https://<id>.execute-api.eu-west-1.amazonaws.com/v1 --url ...

The item routes need a token with items:read and items:write: minted from the local issuer
for a local deployment file, else taken from SMOKE_TOKEN.

Exit status 0 only when every check in every region passed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from tools import deployment_file


@dataclass(frozen=True)
class Check:
    region: str
    name: str
    ok: bool
    detail: str
    ms: float


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body, parse_float=Decimal) if self.body else None


def request(method: str, url: str, body: object = None, timeout: float = 10.0, token: str | None = None,
            headers: dict[str, str] | None = None) -> Response:
    """One request; ``token`` goes in ``Authorization: Bearer`` (never logged)."""
    data = json.dumps(body).encode() if body is not None else None
    sent = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {}), **(headers or {})}
    req = urllib.request.Request(url, data=data, method=method, headers=sent)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - URLs come from our own outputs
            return Response(resp.status, dict(resp.headers.items()), resp.read())
    except urllib.error.HTTPError as err:
        return Response(err.code, dict(err.headers.items()), err.read())


def smoke_region(region: str, base_url: str, timeout: float = 10.0, token: str | None = None) -> list[Check]:
    """Run the checks in order; stop at the first failure (later ones depend on it). The
    item routes get ``token`` (scopes items:read and items:write); /health goes without."""
    base = base_url.rstrip("/")
    item_id = f"smoke-{uuid.uuid4()}"
    # 0.1 and a 20-digit integer catch any float round trip on the way.
    probe = {"ratio": 0.1, "big": 12345678901234567890, "tags": ["a", ""], "nested": {"none": None}}
    expected_probe = json.loads(json.dumps(probe), parse_float=Decimal)
    checks: list[Check] = []

    def step(name: str, method: str, path: str, expect: int, body=None, verify=None) -> bool:
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

    def health_ok(resp: Response):
        doc = resp.json()
        if doc.get("status") != "ok" or doc.get("region") != region:
            return f"unexpected health body {doc!r} (expected status ok, region {region})"
        return None

    def created(resp: Response):
        if not resp.headers.get("Location", "").endswith(f"/items/{item_id}"):
            return f"missing or wrong Location header: {resp.headers.get('Location')!r}"
        return None

    def fetched(resp: Response):
        doc = resp.json()
        if doc.get("served_by") != region:
            return f"served_by is {doc.get('served_by')!r} (expected {region})"
        if doc.get("probe") != expected_probe or doc.get("origin_region") != region:
            return f"item came back different: {doc!r}"
        return None

    _ = (
        step("health", "GET", "/health", 200, verify=health_ok)
        and step("create", "POST", "/items", 201, body={"item_id": item_id, "probe": probe}, verify=created)
        and step("get", "GET", f"/items/{item_id}", 200, verify=fetched)
        and step("delete", "DELETE", f"/items/{item_id}", 204)
        and step("get after delete", "GET", f"/items/{item_id}", 404)
    )
    return checks


def smoke(urls: dict[str, str], timeout: float = 10.0, token: str | None = None) -> list[Check]:
    checks: list[Check] = []
    for region, url in urls.items():
        checks += smoke_region(region, url, timeout, token)
    return checks


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
        urls.update({region: served["api_url"] for region, served in deployment["regions"].items()})
    for pair in args.url or []:
        region, sep, url = pair.partition("=")
        if not sep or not url.startswith(("http://", "https://")):
            parser.error(f"--url {pair!r} is not REGION=URL (expected e.g. eu-west-1=https://host/v1)")
        urls[region] = url
    if not urls:
        parser.error("give --deployment FILE or at least one --url REGION=URL")
    return urls


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Smoke-check every region of a deployment.")
    parser.add_argument("--deployment", type=Path, metavar="FILE",
                        help="a deployment file (.emulator/deployment.json): every region in it")
    parser.add_argument("--url", action="append", metavar="REGION=URL",
                        help="a region's base URL including the stage, e.g. eu-west-1=https://abc.execute-api.eu-west-1.amazonaws.com/v1")
    parser.add_argument("--timeout", type=float, default=10.0)
    args = parser.parse_args(argv)
    urls = urls_from_arguments(parser, args)
    deployment = deployment_file.load(args.deployment) if args.deployment else None
    from tools.deploy import smoke_token

    checks = smoke(urls, args.timeout, token=smoke_token(deployment))
    print(format_checks(checks))
    passed = sum(check.ok for check in checks)
    expected = 5 * len(urls)
    print(f"smoke: {passed} passed, {expected - passed} failed")
    return 0 if passed == expected else 1


if __name__ == "__main__":
    sys.exit(main())
