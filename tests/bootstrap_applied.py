"""The bootstrap stack for dev, staging and prod, applied once per run with Terraform to moto's
server on 127.0.0.1, for the two modules that read it (tests/e2e/test_bootstrap_apply.py and
tests/local/iam/test_bootstrap_enforced.py: one work unit, tests/conftest.py). The emulator
trusts a local issuer standing in for GitHub's, whose keys sign the workflows' tokens. One
apply instead of two: each waits out the provider's fixed S3 lifecycle poll (~55 s)."""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import boto3

from local import emulator, issuer
from modules.bootstrap.delivery import DeliverySettings
from ops import terraform as tf

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

REPOSITORY = "example-org/items-backend"
ASSUME_ROLE = "OrganizationAccountAccessRole"
ENVIRONMENTS = ("dev", "staging", "prod")


@dataclass(frozen=True)
class BootstrapApplied:
    url: str
    env: dict[str, str]
    stack_dir: Path
    configs: dict
    issuer_keys: Path  # the local GitHub issuer's key directory


def client(url: str, service: str, account: str, region: str = "us-east-1"):
    """A client acting in ``account``, through the same assumed role the providers use."""
    base = dict(endpoint_url=url, region_name=region)
    creds = boto3.client("sts", aws_access_key_id="test", aws_secret_access_key="test", **base).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/{ASSUME_ROLE}", RoleSessionName="test"
    )["Credentials"]
    return boto3.client(
        service,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        **base,
    )


def synthesize(root: Path, synthesized: dict, environment_configs: dict) -> Path:
    from cdktf import App

    from modules.bootstrap.stack import BootstrapProps, BootstrapStack, EnvironmentTarget

    targets = tuple(EnvironmentTarget(config=environment_configs[name], doc=synthesized[name]) for name in ENVIRONMENTS)
    settings = DeliverySettings(github_repository=REPOSITORY, assume_role=ASSUME_ROLE)
    app = App(outdir=str(root / "cdktf.out"))
    BootstrapStack(app, BootstrapProps(targets=targets, settings=settings, project_dir=root, emulator=True))
    app.synth()
    return root / "cdktf.out" / "stacks" / "bootstrap"


@contextlib.contextmanager
def github_issuer(key_dir: Path) -> Iterator[str]:
    """The local issuer's JWKS served on loopback; yields the emulator's LOCAL_OIDC_ISSUERS."""
    issuer.create_keys(key_dir)
    server = issuer.make_server(key_dir, "http://127.0.0.1:0")
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield f"{issuer.GITHUB_ISSUER}=http://127.0.0.1:{server.server_port}/jwks.json"
    finally:
        server.shutdown()


def apply(root: Path, synthesized: dict, environment_configs: dict) -> Iterator[BootstrapApplied]:
    """Synthesize, start the emulator, create each environment's zone, init and apply; yields
    the applied bootstrap, then stops the emulator."""
    stack_dir = synthesize(root, synthesized, environment_configs)
    with github_issuer(root / "issuer") as oidc_issuers:
        proc, port = emulator.start_emulator(root / ".emulator", extra_env={"LOCAL_OIDC_ISSUERS": oidc_issuers})
        pid, url = proc.pid, f"http://{emulator.LOOPBACK}:{port}"
        env = tf.terraform_env(root / "build", {"AWS_ENDPOINT_URL": url})
        try:
            # Each environment's public zone exists before the bootstrap, which looks it up by name.
            for name in ENVIRONMENTS:
                config = environment_configs[name]
                account, domain = config.allowed_account_ids[0], config.domain
                assert domain is not None
                zones = client(url, "route53", account)
                zones.create_hosted_zone(Name=domain.zone_name, CallerReference=domain.zone_name)
            init = tf.run(["init", "-input=false", "-no-color"], stack_dir, env, timeout=300)
            assert init.returncode == 0, init.stdout[-4000:]
            started = time.monotonic()
            applied = tf.run(["apply", "-auto-approve", "-input=false", "-no-color"], stack_dir, env, timeout=600)
            assert applied.returncode == 0, applied.stdout[-6000:]
            print(f"bootstrap apply on the emulator: {time.monotonic() - started:.1f} s")
            yield BootstrapApplied(url, env, stack_dir, environment_configs, root / "issuer")
        finally:
            emulator.stop_pid(pid)
        assert not emulator.pid_alive(pid)
