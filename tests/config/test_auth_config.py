"""[auth], [waf] and api.cors_origins: authentication unless explicitly public (never in a
protected environment), WAF by default where protected, origins without paths."""

from __future__ import annotations

import pytest

from modules.config.loader import parse_environment
from modules.config.schema import ConfigError

BASE = {"project": "items", "regions": ["eu-west-1", "eu-central-1"], "allowed_account_ids": ["111111111111"]}
AUTH = {"issuer": "https://auth.example.com/", "audience": "items"}


def parse(**sections):
    return parse_environment({**BASE, **sections}, environment="test", source="test.toml")


def problems(**sections) -> str:
    with pytest.raises(ConfigError) as raised:
        parse(**sections)
    return str(raised.value)


def test_authentication_is_required_unless_explicitly_public():
    assert (
        "auth.issuer: (not set) is missing (expected the https URL of the OpenID Connect issuer whose tokens "
        "are accepted, or public = true for no authentication)"
    ) in problems()
    assert "auth.audience: (not set) is missing" in problems(auth={"issuer": AUTH["issuer"]})
    assert parse(auth={"public": True}).auth.public is True
    assert parse(auth=AUTH).auth.public is False


def test_a_protected_environment_can_never_be_public():
    message = problems(protected=True, auth={"public": True})
    assert (
        "test.toml: auth.public: true is not allowed in a protected environment (expected an issuer and "
        "audience: every item route needs a token)"
    ) in message


def test_the_issuer_and_jwks_url_must_be_https():
    assert 'auth.issuer: "http://auth.example.com/" is not an https URL' in problems(
        auth={**AUTH, "issuer": "http://auth.example.com/"}
    )
    assert 'auth.jwks_url: "ftp://x/keys" is not an https URL' in problems(auth={**AUTH, "jwks_url": "ftp://x/keys"})


def test_emulator_mode_gets_the_local_issuer_not_a_configured_one():
    assert parse(emulator=True, auth={"audience": "items-local"}).auth.issuer == ""
    assert 'auth.issuer: "https://auth.example.com/" is not used in emulator mode' in problems(emulator=True, auth=AUTH)


@pytest.mark.parametrize(
    "key, value, expected",
    [
        ("cache_ttl", 0, "auth.cache_ttl: 0 is out of range (expected 1 to 3600)"),
        ("cache_ttl", 3601, "auth.cache_ttl: 3601 is out of range (expected 1 to 3600)"),
        ("jwks_max_age", 60, "auth.jwks_max_age: 60 is out of range (expected 300 to 86400)"),
    ],
)
def test_cache_bounds(key, value, expected):
    assert expected in problems(auth={**AUTH, key: value})


def test_waf_follows_protected_unless_set():
    assert parse(auth=AUTH).waf.enabled is False
    assert parse(auth=AUTH, protected=True).waf.enabled is True
    assert parse(auth=AUTH, protected=True, waf={"enabled": False}).waf.enabled is False
    assert parse(auth=AUTH, waf={"enabled": True}).waf.enabled is True
    assert "waf.rate_limit: 5 is out of range (expected 10 to 2e+09)" in problems(auth=AUTH, waf={"rate_limit": 5})


def test_the_waf_rate_limit_is_the_files():
    default = parse(auth=AUTH, protected=True).waf.rate_limit
    assert parse(auth=AUTH, protected=True, waf={"rate_limit": default + 1}).waf.rate_limit == default + 1


def test_cors_origins_are_scheme_host_and_port_only():
    assert parse(auth=AUTH).api.cors_origins == ()
    assert parse(
        auth=AUTH, api={"cors_origins": ["https://a.example.com", "http://localhost:3000"]}
    ).api.cors_origins == ("https://a.example.com", "http://localhost:3000")
    for bad in ("https://a.example.com/", "*", "a.example.com", "https://a.example.com/app"):
        assert f'api.cors_origins: "{bad}" is not an origin' in problems(auth=AUTH, api={"cors_origins": [bad]})
