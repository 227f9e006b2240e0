"""A local OpenID Connect issuer on 127.0.0.1 for the local deployment: a key pair per
algorithm the authorizer accepts (RS256 and ES256), the discovery document and the JWKS,
and tokens minted on demand.

``make deploy`` creates the keys under ``.emulator/issuer/`` (private keys mode 0600, made
at deploy time, never committed, removed by ``make down``), serves them on a free loopback
port and hands that URL to the deployed authorizer (ops/deploy.py). Nothing here is used
by the authorizer itself: it fetches the JWKS over HTTP like from any issuer.

    python -m local.issuer serve --dir .emulator/issuer --issuer http://127.0.0.1:PORT
    python -m local.issuer token --deployment .emulator/deployment.json --scope "items:read items:write"
    make -s token SCOPE=items:write     # the same, the token alone on stdout
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import json
import os
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias, cast
from urllib.parse import urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from local import faults
from local.emulator import LOOPBACK

if TYPE_CHECKING:
    from local.deployment_file import Deployment

SigningKey: TypeAlias = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

DISCOVERY_PATH = "/.well-known/openid-configuration"
JWKS_PATH = "/jwks.json"
KEY_FILES = {"RS256": "rs256.pem", "ES256": "es256.pem"}
DEFAULT_LIFETIME_S = 900
# What GitHub Actions' OIDC tokens say, and the audience aws-actions/configure-aws-credentials asks for.
GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
STS_AUDIENCE = "sts.amazonaws.com"


@dataclass(frozen=True)
class LocalIssuer:
    """Where the issuer's keys are, and the URL and audience its tokens name."""

    key_dir: Path
    url: str
    audience: str


def _write_private(path: Path, pem: bytes) -> None:
    """Created with mode 0600 from the start (never world-readable, not even briefly)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as stream:
        stream.write(pem)
    Path(path).chmod(0o600)


def create_keys(key_dir: Path) -> None:
    """A fresh RSA 2048 and P-256 key in ``key_dir`` (0700), replacing any there."""
    key_dir.mkdir(parents=True, exist_ok=True)
    key_dir.chmod(0o700)
    keys: dict[str, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey] = {
        "RS256": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "ES256": ec.generate_private_key(ec.SECP256R1()),
    }
    for algorithm, key in keys.items():
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        _write_private(key_dir / KEY_FILES[algorithm], pem)


def private_key(key_dir: Path, algorithm: str) -> SigningKey:
    pem = (Path(key_dir) / KEY_FILES[algorithm]).read_bytes()
    # The files write_keys made: an RSA key for RS256, an EC key for ES256.
    return cast("SigningKey", serialization.load_pem_private_key(pem, password=None))


def key_id(public_key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey) -> str:
    """A stable id for a public key: the base64url SHA-256 of its DER encoding, shortened."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()).decode().rstrip("=")[:22]


def jwks(key_dir: Path) -> dict:
    """The public keys as a JWK Set (RFC 7517), each with ``kid``, ``alg`` and ``use``."""
    keys = []
    for algorithm in KEY_FILES:
        public = private_key(key_dir, algorithm).public_key()
        if isinstance(public, rsa.RSAPublicKey):  # RS256's file
            jwk = jwt.algorithms.RSAAlgorithm.to_jwk(public, as_dict=True)
        else:
            jwk = jwt.algorithms.ECAlgorithm.to_jwk(public, as_dict=True)
        keys.append({**jwk, "kid": key_id(public), "alg": algorithm, "use": "sig"})
    return {"keys": keys}


def discovery(issuer_url: str) -> dict:
    """The subset of OpenID Provider Metadata a resource server reads."""
    return {
        "issuer": issuer_url,
        "jwks_uri": issuer_url + JWKS_PATH,
        "id_token_signing_alg_values_supported": list(KEY_FILES),
        "response_types_supported": ["token"],
        "subject_types_supported": ["public"],
    }


def mint(
    issuer: LocalIssuer, scopes: str, algorithm: str = "RS256", lifetime_s: int = DEFAULT_LIFETIME_S, **claims: object
) -> str:
    """A signed access token; ``claims`` override or add claims (tests make bad tokens this way)."""
    key = private_key(issuer.key_dir, algorithm)
    now = int(time.time())
    payload = {
        "iss": issuer.url,
        "aud": issuer.audience,
        "sub": "local-user",
        "iat": now,
        "nbf": now,
        "exp": now + lifetime_s,
        "jti": str(uuid.uuid4()),
        "scope": scopes,
        **claims,
    }
    return jwt.encode(payload, key, algorithm=algorithm, headers={"kid": key_id(key.public_key())})


def github_sub(repository: str, environment: str | None = None, event_name: str = "push") -> str:
    """The ``sub`` GitHub gives a job: its environment's, a pull request's, or its branch's."""
    if environment:
        return f"repo:{repository}:environment:{environment}"
    if event_name == "pull_request":
        return f"repo:{repository}:pull_request"
    return f"repo:{repository}:ref:refs/heads/main"


def mint_github(
    key_dir: Path, repository: str, environment: str | None = None, issuer_url: str = GITHUB_ISSUER, **claims: Any
) -> str:
    """A token shaped like the one GitHub Actions gives a job for AWS (docs.github.com, "About
    security hardening with OpenID Connect"), signed with the local RS256 key; ``claims``
    override or add claims (``event_name="pull_request"``, another ``sub``)."""
    owner = repository.split("/")[0]
    event_name = claims.get("event_name", "push")
    key = private_key(key_dir, "RS256")
    now = int(time.time())
    payload = {
        "iss": issuer_url,
        "aud": STS_AUDIENCE,
        "sub": github_sub(repository, environment, event_name),
        "jti": str(uuid.uuid4()),
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "repository": repository,
        "repository_owner": owner,
        "repository_visibility": "private",
        "environment": environment,
        "ref": "refs/heads/main",
        "ref_type": "branch",
        "sha": "0" * 40,
        "workflow": "deploy",
        "job_workflow_ref": f"{repository}/.github/workflows/deploy.yml@refs/heads/main",
        "event_name": event_name,
        "actor": "local",
        "run_id": "1",
        "run_attempt": "1",
        "runner_environment": "github-hosted",
        **claims,
    }
    payload = {name: value for name, value in payload.items() if value is not None}
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": key_id(key.public_key())})


class IssuerServer(ThreadingHTTPServer):
    """Serves the discovery document and the JWKS of the keys in ``key_dir``."""

    daemon_threads = True

    def __init__(self, port: int, key_dir: Path, issuer_url: str) -> None:
        super().__init__((LOOPBACK, port), _IssuerHandler)
        self.key_dir, self.issuer_url = key_dir, issuer_url


class _IssuerHandler(BaseHTTPRequestHandler):
    server_version = "local-issuer"
    server: IssuerServer

    def do_GET(self) -> None:
        documents = {
            DISCOVERY_PATH: lambda: discovery(self.server.issuer_url),
            JWKS_PATH: lambda: jwks(self.server.key_dir),
        }
        make = documents.get(urlsplit(self.path).path)
        body = json.dumps(make() if make else {"error": "not found"}).encode()
        self.send_response(200 if make else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # one line per request, no query strings
        sys.stderr.write(
            json.dumps({"request": self.requestline.split("?")[0], "status": args[1] if len(args) > 1 else ""}) + "\n"
        )


def make_server(key_dir: Path, issuer_url: str) -> IssuerServer:
    port = urlsplit(issuer_url).port
    return IssuerServer(port or 0, Path(key_dir), issuer_url)


def serve_keys(key_dir: Path, issuer_url: str) -> int:
    """Serves until killed (SIGTERM ends it at once); an issuer-outage fault in the faults
    file of the key folder's parent (``.emulator/faults.json``) closes the listening socket
    while it lasts."""
    switches = faults.Faults(faults.path_for(Path(key_dir).resolve().parent))
    stop = threading.Event()
    print(f"issuer: {issuer_url}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        faults.serve_with_outages(lambda: make_server(key_dir, issuer_url), switches.issuer_down, stop)
    return 0


def from_deployment(deployment: Deployment, project_dir: Path | None = None) -> LocalIssuer:
    """The local issuer a deployment file describes (its ``auth`` field)."""
    auth = deployment.auth
    if auth is None:
        raise SystemExit("this deployment has no local issuer (its environment sets [auth] public = true)")
    return LocalIssuer(auth.key_dir, auth.issuer, auth.audience)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The local deployment's OpenID Connect issuer.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the discovery document and JWKS on 127.0.0.1")
    serve.add_argument("--dir", type=Path, required=True)
    serve.add_argument("--issuer", required=True, help="http://127.0.0.1:PORT")
    token = commands.add_parser("token", help="print a token alone on stdout")
    token.add_argument("--deployment", type=Path, default=Path(".emulator/deployment.json"))
    token.add_argument("--scope", default="items:read items:write", help="space-separated scopes")
    token.add_argument("--alg", choices=sorted(KEY_FILES), default="RS256")
    token.add_argument("--lifetime", type=int, default=DEFAULT_LIFETIME_S, help="seconds until it expires")
    args = parser.parse_args(argv)
    if args.command == "serve":
        return serve_keys(args.dir, args.issuer)
    from local import deployment_file

    issuer = from_deployment(deployment_file.load(args.deployment))
    print(mint(issuer, args.scope, args.alg, args.lifetime))
    return 0


if __name__ == "__main__":
    sys.exit(main())
