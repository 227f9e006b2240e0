"""Who may call the deployed local API: tokens from the local issuer through the local
gateway running the deployed authorizer, validators, CORS preflights; and schemathesis
against the OpenAPI document, bounded in examples and time."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from local import issuer as local_issuer
from ops import openapi, smoke
from ops import terraform as tf

pytestmark = [pytest.mark.e2e, pytest.mark.terraform, pytest.mark.timeout(900)]
SCHEMATHESIS_BUDGET_S = 240


@pytest.fixture(scope="module")
def issuer(described):
    return local_issuer.from_deployment(described)


def test_the_plan_after_apply_stays_empty_with_the_issuer_variable(local):
    result = tf.run(
        ["plan", "-detailed-exitcode", "-input=false", "-no-color"], local.deployment.stack_dir, local.env, timeout=300
    )
    assert result.returncode == 0, result.stdout[-4000:]


def test_every_item_route_refuses_missing_expired_forged_and_foreign_tokens(described, issuer, tmp_path):
    foreign = local_issuer.LocalIssuer(tmp_path / "other", issuer.url, issuer.audience)
    local_issuer.create_keys(foreign.key_dir)
    bad = {
        None: 401,
        local_issuer.mint(issuer, "items:read items:write", lifetime_s=-3600): 401,  # expired
        local_issuer.mint(foreign, "items:read items:write"): 401,  # signed by another key
        local_issuer.mint(issuer, "items:read items:write", aud="someone-else"): 401,
        local_issuer.mint(issuer, "items:read items:write", "ES256")[:-6] + "AAAAAA": 401,  # bad signature
    }
    for served in described.regions.values():
        for method, path in (("POST", "/items"), ("GET", "/items/x"), ("DELETE", "/items/x")):
            for token, status in bad.items():
                answer = smoke.request(method, served.api_url + path, {} if method == "POST" else None, token=token)
                assert (answer.status, answer.json()) == (status, {"message": "Unauthorized"}), (method, path)


def test_each_route_needs_its_scope_and_one_token_serves_every_route_it_allows(described, issuer):
    reader = local_issuer.mint(issuer, "items:read", "ES256")
    writer = local_issuer.mint(issuer, "items:write")
    for region, served in described.regions.items():
        # One id per region: the replicator copies each write to the other region, where the
        # same id would then be a replacement (200), not a creation (201).
        base, item = served.api_url, f"scoped-{region}-{time.time_ns()}"
        denied = smoke.request("POST", base + "/items", {"item_id": item}, token=reader)
        assert (denied.status, denied.json()) == (403, {"message": "User is not authorized to access this resource"})
        assert smoke.request("POST", base + "/items", {"item_id": item}, token=writer).status == 201
        assert smoke.request("GET", f"{base}/items/{item}", token=writer).status == 403  # cached policy, other method
        assert smoke.request("GET", f"{base}/items/{item}", token=reader).status == 200
        assert smoke.request("DELETE", f"{base}/items/{item}", token=reader).status == 403
        assert smoke.request("DELETE", f"{base}/items/{item}", token=writer).status == 204
        assert smoke.request("GET", base + "/health").status == 200  # open: Route53 cannot sign


def test_results_are_cached_per_token_for_the_ttl(local, described, issuer):
    """A second request with the same token does not invoke the authorizer (its log says so)."""
    region = local.config.regions[0]
    token = local_issuer.mint(issuer, "items:read")
    base = described.regions[region].api_url
    log = local.state_dir / f"gateway-{region}.log"
    before = log.read_text().count("token accepted")
    assert smoke.request("GET", base + "/items/cached", token=token).status == 404
    assert smoke.request("GET", base + "/items/cached", token=token).status == 404
    assert log.read_text().count("token accepted") == before + 1


def test_validation_and_cors_answer_as_api_gateway(described, issuer):
    writer = local_issuer.mint(issuer, "items:write")
    for served in described.regions.values():
        base = served.api_url
        invalid = smoke.request("POST", base + "/items", {"item_id": 7}, token=writer)
        assert (invalid.status, invalid.json()) == (400, {"message": "Invalid request body"})
        reserved = smoke.request("POST", base + "/items", {"served_by": "x"}, token=writer)
        assert reserved.status == 400
        preflight = smoke.request("OPTIONS", base + "/items/x", headers={"Origin": "http://localhost:3000"})
        assert preflight.status == 204
        assert preflight.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
        assert preflight.headers["Access-Control-Allow-Methods"] == "OPTIONS,GET,DELETE"
        refused = smoke.request("GET", base + "/items/x", headers={"Origin": "http://localhost:3000"})
        assert refused.status == 401 and refused.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"


ALLOWED_ORIGIN, OTHER_ORIGIN = "http://localhost:3000", "https://evil.example.com"


def test_cors_headers_of_get_post_404_and_403_for_an_allowed_and_another_origin(described, issuer):
    """What a browser reads, through the deployed gateway running the deployed handlers (issue 19):
    the handlers' answers echo an allowed Origin and never another; API Gateway's own 403 carries
    its gateway response's static header, which never names another origin either."""
    writer, reader = local_issuer.mint(issuer, "items:write items:read"), local_issuer.mint(issuer, "items:read")
    for region, served in described.regions.items():
        base, item = served.api_url, f"cors-{region}-{time.time_ns()}"
        for origin in (ALLOWED_ORIGIN, OTHER_ORIGIN):
            headers = {"Origin": origin}
            answers = {
                "POST": smoke.request("POST", base + "/items", {"item_id": item}, token=writer, headers=headers),
                "GET": smoke.request("GET", f"{base}/items/{item}", token=reader, headers=headers),
                "404": smoke.request("GET", f"{base}/items/{item}-absent", token=reader, headers=headers),
                "403": smoke.request("DELETE", f"{base}/items/{item}", token=reader, headers=headers),
            }
            statuses = {name: answer.status for name, answer in answers.items()}
            assert statuses["POST"] in (200, 201) and statuses["GET"] == 200, statuses
            assert (statuses["404"], statuses["403"]) == (404, 403), statuses
            for name, answer in answers.items():
                allowed = answer.headers.get("Access-Control-Allow-Origin")
                if origin == ALLOWED_ORIGIN:
                    assert allowed == ALLOWED_ORIGIN, (region, name, dict(answer.headers))
                else:
                    assert allowed != OTHER_ORIGIN, (region, name, dict(answer.headers))
            handler_answers = [answers[name] for name in ("POST", "GET", "404")]
            assert all("Origin" in answer.headers.get("Vary", "") for answer in handler_answers)


def test_schemathesis_finds_no_5xx_and_only_documented_answers(local, described, issuer, tmp_path):
    region = local.config.regions[0]
    schema = tmp_path / "openapi.json"
    schema.write_text(openapi.rendered())
    token = local_issuer.mint(issuer, "items:read items:write", lifetime_s=3600)
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "run",
        str(schema),
        "--url",
        described.regions[region].api_url,
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        "not_a_server_error,status_code_conformance,response_schema_conformance,content_type_conformance",
        "--max-examples",
        "25",
        "--seed",
        "1",
        "--request-timeout",
        "20",
        "--no-color",
    ]
    started = time.monotonic()
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=SCHEMATHESIS_BUDGET_S,
        env={**os.environ, "SCHEMATHESIS_HOOKS": ""},
        stdin=subprocess.DEVNULL,
    )
    print(f"schemathesis: {time.monotonic() - started:.1f} s\n{result.stdout[-3000:]}")
    assert result.returncode == 0, (result.stdout + result.stderr)[-6000:]
