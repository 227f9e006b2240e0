"""``authorize``: a TOKEN Lambda authorizer for JWTs from one OpenID Connect issuer.

API Gateway calls it with ``{"type": "TOKEN", "authorizationToken": "Bearer <jwt>",
"methodArn": ...}`` after checking the header against the authorizer's identity validation
expression. The token must be signed with RS256 or ES256 by a key in the issuer's JWKS
(authorizer/keys.py), name the configured issuer and audience, be unexpired (60 s of clock
skew allowed) and carry ``sub``, a non-empty string (the policy's principal). Its scopes
(``scope``, space-separated, RFC 9068; or ``scp``, a list) choose what the returned policy
allows (authorizer/policy.py).

Answers: the policy (API Gateway then allows or answers 403), or the error message
``Unauthorized`` (API Gateway answers 401) for a token that is malformed, expired, wrongly
signed, for another audience or issuer. When the signing keys cannot be had at all the
function fails (API Gateway answers 500): the token may be good, and a 401 would send the
client to get a new one for nothing. Never logs a token.

Environment (set by modules/constructs/regional_auth.py): ``ISSUER``, ``AUDIENCE``, ``JWKS_URL``
(empty: the issuer's discovery document says), ``JWKS_MAX_AGE_SECONDS``, ``ROUTE_SCOPES``
(JSON: scope -> ["GET/items/*", ...]).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any, NoReturn

import jwt

from .keys import KeyCache, log
from .policy import policy

ALGORITHMS = ("RS256", "ES256")
LEEWAY_SECONDS = 60
BEARER = "Bearer "
_cache: KeyCache | None = None


class Unauthorized(Exception):
    """API Gateway answers 401 when the authorizer fails with exactly this message."""

    def __init__(self) -> None:
        super().__init__("Unauthorized")


def settings() -> tuple[str, str, dict[str, list[str]]]:
    return os.environ["ISSUER"], os.environ["AUDIENCE"], json.loads(os.environ["ROUTE_SCOPES"])


def key_cache() -> KeyCache:
    """One cache per execution environment, made on the first request."""
    global _cache
    if _cache is None:
        _cache = KeyCache(
            os.environ["ISSUER"], os.environ.get("JWKS_URL", ""), float(os.environ.get("JWKS_MAX_AGE_SECONDS", "3600"))
        )
    return _cache


def token_scopes(claims: Mapping[str, Any]) -> set[str]:
    scope, scp = claims.get("scope"), claims.get("scp")
    found = set(scope.split()) if isinstance(scope, str) else set()
    if isinstance(scp, list):
        found |= {item for item in scp if isinstance(item, str)}
    return found


def verified_claims(token: str, issuer: str, audience: str, keys: KeyCache) -> dict[str, Any]:
    """The token's claims, or Unauthorized saying nothing about the token in the log but why."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        return _refuse("not a JWS")
    algorithm, kid = header.get("alg"), header.get("kid")
    if algorithm not in ALGORITHMS or not isinstance(kid, str):
        return _refuse(f"algorithm {str(algorithm)[:10]!r} or key id not accepted")
    key = keys.key(kid)
    if key is None or key.algorithm_name != algorithm:
        return _refuse("no signing key of the issuer with this key id and algorithm")
    try:
        return jwt.decode(
            token,
            key.key,
            algorithms=[algorithm],
            audience=audience,
            issuer=issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "iss", "aud", "sub"]},
        )
    except jwt.PyJWTError as err:
        return _refuse(type(err).__name__)


def _refuse(reason: str) -> NoReturn:
    log("token refused", reason=reason)
    raise Unauthorized()


def authorize(event: Mapping[str, Any], context: object = None) -> dict[str, Any]:
    """The Lambda entry point (see the module doc)."""
    issuer, audience, route_scopes = settings()
    header = event.get("authorizationToken") if isinstance(event, dict) else None
    if not isinstance(header, str) or not header.startswith(BEARER):
        return _refuse("no bearer token")
    claims = verified_claims(header[len(BEARER) :].strip(), issuer, audience, key_cache())
    subject = claims["sub"]
    if not isinstance(subject, str) or not subject.strip():
        # The principalId API Gateway requires: an empty one makes it answer 500, and a
        # 500 counts toward the region's evacuation alarm. A token without a subject is
        # the client's problem: 401.
        return _refuse("sub is not a non-empty string")
    scopes = token_scopes(claims)
    granted = sorted(scopes & set(route_scopes))
    log("token accepted", sub=subject[:128], scopes=granted)
    return policy(subject, event["methodArn"], scopes, route_scopes, {"sub": subject, "scope": " ".join(granted)})
