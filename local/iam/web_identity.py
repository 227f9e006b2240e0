"""``AssumeRoleWithWebIdentity`` checked as STS checks it: the token's issuer must be an OpenID
Connect provider registered in the role's account, the token must be signed by a key of that
issuer's JWKS and name one of the provider's client ids as its audience, and the role's trust
policy must allow ``sts:AssumeRoleWithWebIdentity`` for that provider with conditions that hold
on the token's claims (``<provider host>:aud``, ``:sub``, ...).

The emulator never reaches the internet: an issuer's JWKS is fetched from the URL registered
for it (``register_issuer``: the local issuer standing in for GitHub's), or from the issuer
itself when it is on 127.0.0.1.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import jwt

from local.iam.conditions import conditions_hold, normalize
from local.iam_policy import string_like

ACTION = "sts:AssumeRoleWithWebIdentity"
ALGORITHMS = ["RS256", "ES256"]
JWKS_PATH = "/jwks.json"
# issuer URL -> the JWKS URL of the local issuer that stands in for it
ISSUERS: dict[str, str] = {}


class WebIdentityRefused(Exception):
    """The token or the trust policy refuses the call; ``code`` is STS's error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Provider:
    """An OpenID Connect provider as IAM registers it: URL without scheme, ARN, audiences."""

    url: str
    arn: str
    client_ids: tuple[str, ...]


def register_issuer(issuer: str, jwks_url: str) -> None:
    ISSUERS[issuer.rstrip("/")] = jwks_url


def register_from_env(value: str) -> None:
    """``ISSUER=JWKS_URL`` pairs, comma-separated (the emulator's LOCAL_OIDC_ISSUERS)."""
    for pair in filter(None, (item.strip() for item in value.split(","))):
        issuer, _, jwks_url = pair.partition("=")
        register_issuer(issuer, jwks_url)


def _jwks_url(issuer: str) -> str:
    if issuer in ISSUERS:
        return ISSUERS[issuer]
    if urlsplit(issuer).hostname == "127.0.0.1":
        return issuer + JWKS_PATH
    raise WebIdentityRefused("InvalidIdentityToken", f"the emulator knows no JWKS for the issuer {issuer}")


@lru_cache(maxsize=16)
def _jwk_client(jwks_url: str) -> jwt.PyJWKClient:
    return jwt.PyJWKClient(jwks_url, cache_keys=True, timeout=5)


def verified_claims(token: str, provider: Provider) -> dict[str, Any]:
    """The token's claims once its signature, expiry, issuer and audience check out."""
    try:
        issuer = str(jwt.decode(token, options={"verify_signature": False})["iss"]).rstrip("/")
        key = _jwk_client(_jwks_url(issuer)).get_signing_key_from_jwt(token).key
        return dict(jwt.decode(token, key, algorithms=ALGORITHMS, audience=list(provider.client_ids), issuer=issuer))
    except (jwt.PyJWTError, KeyError) as error:
        raise WebIdentityRefused("InvalidIdentityToken", f"the web identity token is not valid: {error}") from error


def provider_for(token: str, providers: Iterable[Provider]) -> Provider:
    try:
        issuer = str(jwt.decode(token, options={"verify_signature": False})["iss"])
    except (jwt.PyJWTError, KeyError) as error:
        raise WebIdentityRefused("InvalidIdentityToken", f"the web identity token is not a JWT: {error}") from error
    host = issuer.split("://", 1)[-1].rstrip("/")
    for provider in providers:
        if provider.url.rstrip("/") == host:
            return provider
    raise WebIdentityRefused("InvalidIdentityToken", f"No OpenIDConnect provider found in your account for {issuer}")


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _names(statement: Mapping[str, Any], provider: Provider) -> bool:
    actions = _as_list(statement.get("Action", []))
    principal = statement.get("Principal") or {}
    federated = _as_list(principal.get("Federated", [])) if isinstance(principal, Mapping) else []
    return any(string_like(action.lower(), ACTION.lower()) for action in actions) and provider.arn in federated


def trust_allows(trust_policy: str | Mapping[str, Any], provider: Provider, claims: Mapping[str, Any]) -> bool:
    """Whether the trust policy allows the provider's token with these claims (a Deny that
    applies wins; a condition on a key the token lacks does not hold)."""
    document = json.loads(trust_policy) if isinstance(trust_policy, str) else trust_policy
    context = normalize({f"{provider.url}:{name}": value for name, value in claims.items() if value is not None})
    keys = frozenset(context)
    verdicts = []
    for statement in _as_list(document.get("Statement", [])):
        if not _names(statement, provider):
            continue
        holds, unevaluable = conditions_hold(statement.get("Condition") or {}, context, keys)
        deny = statement.get("Effect") == "Deny"  # fails closed: an unevaluable Deny applies
        verdicts.append((statement.get("Effect"), holds and (deny or not unevaluable)))
    return ("Allow", True) in verdicts and ("Deny", True) not in verdicts


def check(role_arn: str, trust_policy: str | Mapping[str, Any], token: str, providers: Iterable[Provider]) -> None:
    """Raises WebIdentityRefused unless the token may assume the role."""
    provider = provider_for(token, providers)
    claims = verified_claims(token, provider)
    if not trust_allows(trust_policy, provider, claims):
        raise WebIdentityRefused(
            "AccessDenied", f"Not authorized to perform {ACTION} on {role_arn} with sub {claims.get('sub')}"
        )
