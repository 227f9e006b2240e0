"""The JWT authorizer against a real issuer on 127.0.0.1 (local/issuer.py serving
its discovery document and JWKS over HTTP) with real RS256 and ES256 keys: what it accepts,
what it refuses, the policy it returns, and its key cache when the issuer goes away."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import re
import threading
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from authorizer import handler, keys
from authorizer.policy import api_stage_arn
from local import issuer as local_issuer
from local.emulator import free_port

AUDIENCE = "items-test"
ROUTE_SCOPES = {"items:read": ["GET/items/*"], "items:write": ["POST/items", "DELETE/items/*"]}
EVENTS = Path(__file__).parent / "events"
# The TOKEN input AWS documents, and that event for GET /items/42 (events/README.md).
AWS_TOKEN_INPUT = json.loads((EVENTS / "aws_token_input.json").read_text())
GET_ITEM_EVENT = json.loads((EVENTS / "get_item.json").read_text())
API = "arn:aws:execute-api:eu-west-1:123456789012:abc123/v1"
GET_ITEM = f"{API}/GET/items/42"


@pytest.fixture()
def issuer(tmp_path, monkeypatch):
    """A running local issuer and the authorizer's environment pointing at it."""
    local_issuer.create_keys(tmp_path / "keys")
    url = f"http://127.0.0.1:{free_port()}"
    server = local_issuer.make_server(tmp_path / "keys", url)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    monkeypatch.setenv("ISSUER", url)
    monkeypatch.setenv("AUDIENCE", AUDIENCE)
    monkeypatch.setenv("ROUTE_SCOPES", json.dumps(ROUTE_SCOPES))
    monkeypatch.setenv("JWKS_URL", "")
    monkeypatch.setattr(handler, "_cache", None)
    try:
        yield local_issuer.LocalIssuer(tmp_path / "keys", url, AUDIENCE), server
    finally:
        server.shutdown()
        server.server_close()


def token_event(authorization: object, method_arn: str = GET_ITEM) -> dict:
    """The fixture TOKEN event with this Authorization header value and method ARN."""
    event = copy.deepcopy(GET_ITEM_EVENT)
    event["authorizationToken"], event["methodArn"] = authorization, method_arn
    return event


def authorize(token: str, method_arn: str = GET_ITEM) -> dict:
    return handler.authorize(token_event(f"Bearer {token}", method_arn))


def test_the_fixture_event_is_the_documented_token_input_filled_in():
    assert set(GET_ITEM_EVENT) == set(AWS_TOKEN_INPUT) == {"type", "authorizationToken", "methodArn"}
    assert GET_ITEM_EVENT["type"] == AWS_TOKEN_INPUT["type"] == "TOKEN"
    assert GET_ITEM_EVENT["methodArn"] == GET_ITEM
    # arn:aws:execute-api:{regionId}:{accountId}:{apiId}/{stage}/{httpVerb}/[{resource}/[{child-resources}]]
    placeholders = {
        "{regionId}": r"[a-z]{2}(-[a-z]+)+-\d",
        "{accountId}": r"\d{12}",
        "{apiId}": r"[a-z0-9]+",
        "{stage}": r"[^/]+",
        "{httpVerb}": r"[A-Z]+",
        "[{resource}/[{child-resources}]]": r"[^/]+(/[^/]+)*",
    }
    pieces = re.split(r"(\[\{resource\}/\[\{child-resources\}\]\]|\{\w+\})", AWS_TOKEN_INPUT["methodArn"])
    template = "".join(placeholders.get(piece, re.escape(piece)) for piece in pieces)
    assert re.fullmatch(template, GET_ITEM_EVENT["methodArn"]), template


def refused(token: str) -> bool:
    with pytest.raises(handler.Unauthorized) as raised:
        authorize(token)
    return str(raised.value) == "Unauthorized"


def statement(result: dict) -> dict:
    (only,) = result["policyDocument"]["Statement"]
    return only


def test_the_key_files_are_private(issuer):
    local, _ = issuer
    for name in local_issuer.KEY_FILES.values():
        assert (local.key_dir / name).stat().st_mode & 0o777 == 0o600
    assert local.key_dir.stat().st_mode & 0o777 == 0o700


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
def test_a_valid_token_of_either_algorithm_is_allowed_its_scopes_routes(issuer, algorithm):
    local, _ = issuer
    result = authorize(local_issuer.mint(local, "items:read", algorithm))
    assert result["principalId"] == "local-user"
    assert statement(result) == {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": [f"{API}/GET/items/*"]}
    assert result["context"] == {"sub": "local-user", "scope": "items:read"}


def test_the_policy_covers_every_method_the_scopes_allow_not_just_the_method_arn(issuer):
    """API Gateway reuses the cached policy for the token's next requests to other routes."""
    local, _ = issuer
    result = authorize(local_issuer.mint(local, "items:read items:write openid"), GET_ITEM)
    assert statement(result)["Resource"] == [f"{API}/DELETE/items/*", f"{API}/GET/items/*", f"{API}/POST/items"]
    write_only = authorize(local_issuer.mint(local, "items:write"), f"{API}/POST/items")
    assert statement(write_only)["Resource"] == [f"{API}/DELETE/items/*", f"{API}/POST/items"]


def test_scp_lists_are_read_like_scope_strings(issuer):
    local, _ = issuer
    token = local_issuer.mint(local, "", scp=["items:write"])
    assert statement(authorize(token))["Resource"] == [f"{API}/DELETE/items/*", f"{API}/POST/items"]


def test_a_token_without_route_scopes_gets_an_explicit_deny(issuer):
    local, _ = issuer
    assert statement(authorize(local_issuer.mint(local, "openid profile"))) == {
        "Effect": "Deny",
        "Action": "execute-api:Invoke",
        "Resource": f"{API}/*/*",
    }


@pytest.mark.parametrize("header", [None, "", "Basic dXNlcjpwYXNz", "Bearer", "bearer abc.def.ghi", "Bearer not-a-jwt"])
def test_no_bearer_token_is_unauthorized(issuer, header):
    with pytest.raises(handler.Unauthorized, match="^Unauthorized$"):
        handler.authorize(token_event(header))


@pytest.mark.parametrize(
    "claims",
    [
        {"exp": 1_000_000_000},  # expired in 2001
        {"aud": "someone-else"},
        {"iss": "https://issuer.example.com"},
        {"nbf": 4_000_000_000},  # not valid before 2096
        {"sub": None},
    ],
    ids=["expired", "audience", "issuer", "not-yet-valid", "no-subject"],
)
def test_tokens_with_a_bad_claim_are_unauthorized(issuer, claims):
    local, _ = issuer
    token = local_issuer.mint(local, "items:read", **{k: v for k, v in claims.items() if v is not None})
    if claims.get("sub", "") is None:
        payload = jwt.decode(token, options={"verify_signature": False})
        del payload["sub"]
        header = jwt.get_unverified_header(token)
        token = jwt.encode(
            payload, local_issuer.private_key(local.key_dir, "RS256"), "RS256", headers={"kid": header["kid"]}
        )
    assert refused(token)


@pytest.mark.parametrize("subject", ["", "   ", 42, ["local-user"], {"id": "local-user"}, True])
def test_a_token_whose_subject_is_empty_or_not_a_string_is_401_not_500(issuer, subject):
    """The subject becomes the policy's principalId; API Gateway answers 500 to an authorizer
    that returns an empty one (and 500s feed the evacuation alarm), 401 to Unauthorized."""
    local, _ = issuer
    for algorithm in ("RS256", "ES256"):
        assert refused(local_issuer.mint(local, "items:read", algorithm, sub=subject))


def test_expiry_allows_sixty_seconds_of_clock_skew_and_no_more(issuer):
    local, _ = issuer
    assert authorize(local_issuer.mint(local, "items:read", lifetime_s=-30))["principalId"] == "local-user"
    assert refused(local_issuer.mint(local, "items:read", lifetime_s=-90))


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
def test_a_token_signed_by_another_key_with_the_issuers_key_id_is_unauthorized(issuer, algorithm):
    local, _ = issuer
    good = local_issuer.mint(local, "items:read", algorithm)
    stranger = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if algorithm == "RS256"
        else ec.generate_private_key(ec.SECP256R1())
    )
    forged = jwt.encode(
        jwt.decode(good, options={"verify_signature": False}),
        stranger,
        algorithm,
        headers={"kid": jwt.get_unverified_header(good)["kid"]},
    )
    assert refused(forged)


def test_algorithm_confusion_and_none_are_unauthorized(issuer):
    local, _ = issuer
    good = local_issuer.mint(local, "items:read", "RS256")
    payload, kid = jwt.decode(good, options={"verify_signature": False}), jwt.get_unverified_header(good)["kid"]
    public_pem = (
        local_issuer.private_key(local.key_dir, "RS256")
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    hs256 = hmac_signed({"alg": "HS256", "typ": "JWT", "kid": kid}, payload, public_pem)  # PyJWT refuses to make it
    unsigned = jwt.encode(payload, None, "none", headers={"kid": kid})
    es_kid = next(key["kid"] for key in local_issuer.jwks(local.key_dir)["keys"] if key["alg"] == "ES256")
    swapped = jwt.encode(payload, local_issuer.private_key(local.key_dir, "RS256"), "RS256", headers={"kid": es_kid})
    assert refused(hs256) and refused(unsigned) and refused(swapped)


def hmac_signed(header: dict, payload: dict, secret: bytes) -> str:
    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    signing_input = f"{part(json.dumps(header).encode())}.{part(json.dumps(payload).encode())}"
    return f"{signing_input}.{part(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())}"


def test_a_token_is_never_logged(issuer, capsys):
    local, _ = issuer
    token = local_issuer.mint(local, "items:read")
    authorize(token)
    refused(token[:-4] + "AAAA")
    logged = capsys.readouterr().out
    assert "token accepted" in logged and "token refused" in logged
    assert token.split(".")[2][:20] not in logged and token.split(".")[1][:20] not in logged


def test_keys_come_from_the_discovery_document_which_must_name_the_issuer(issuer):
    local, server = issuer
    assert keys.jwks_uri(local.url) == local.url + local_issuer.JWKS_PATH
    server.issuer_url = "https://impostor.example.com"  # a document for another issuer
    with pytest.raises(ValueError, match="names issuer"):
        keys.jwks_uri(local.url)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_cached_keys_serve_while_the_issuer_is_down_until_max_age(issuer):
    """The offline bound: keys fetched before the outage are used for max_age seconds."""
    local, server = issuer
    clock = Clock()
    cache = keys.KeyCache(local.url, "", max_age=3600, clock=clock)
    kid = jwt.get_unverified_header(local_issuer.mint(local, ""))["kid"]
    assert cache.key(kid) is not None
    server.shutdown()
    server.server_close()
    clock.now += keys.REFRESH_SECONDS + 1  # time to refresh: the fetch fails, the old keys serve
    assert cache.key(kid) is not None
    clock.now += 3600 - keys.REFRESH_SECONDS - 2
    assert cache.key(kid) is not None
    clock.now += 2  # now older than max_age
    with pytest.raises(keys.KeysUnavailable):
        cache.key(kid)


def test_a_new_environment_without_the_issuer_fails_closed(issuer, monkeypatch):
    local, server = issuer
    token = local_issuer.mint(local, "items:read")
    server.shutdown()
    server.server_close()
    with pytest.raises(keys.KeysUnavailable):
        authorize(token)


def test_an_unknown_key_id_fetches_the_keys_again_once_a_minute(issuer):
    """Key rotation: a new kid is looked up at once; a made-up kid does not hammer the issuer."""
    local, _ = issuer
    clock, fetched = Clock(), []

    def counting_fetch(url):
        fetched.append(url)
        return keys.fetch_json(url)

    cache = keys.KeyCache(
        local.url, local.url + local_issuer.JWKS_PATH, max_age=3600, fetch=counting_fetch, clock=clock
    )
    kid = jwt.get_unverified_header(local_issuer.mint(local, ""))["kid"]
    assert cache.key(kid) is not None and len(fetched) == 1
    local_issuer.create_keys(local.key_dir)  # the issuer rotates
    rotated = jwt.get_unverified_header(local_issuer.mint(local, ""))["kid"]
    clock.now += 1
    assert cache.key(rotated) is not None and len(fetched) == 2
    assert cache.key("made-up") is None and cache.key("made-up") is None and len(fetched) == 2
    clock.now += keys.REFETCH_UNKNOWN_SECONDS
    assert cache.key("made-up") is None and len(fetched) == 3


def test_the_api_stage_of_a_method_arn():
    assert api_stage_arn(GET_ITEM) == API
    with pytest.raises(ValueError):
        api_stage_arn("arn:aws:execute-api:eu-west-1:123456789012:abc123")
