"""Session-wide fixtures. The provider binding is expensive to load, so one synthesized
app (every environment file plus a few variants built from dicts) is shared by all tests."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from modules.config.loader import load_environments, parse_environment

PROJECT_DIR = Path(__file__).resolve().parent.parent

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

# The e2e modules that share one deployment (tests/e2e/conftest.py's session-scoped ``local``):
# they only read it, or put back what they change.
SHARED_DEPLOYMENT = {
    "test_add_region.py",
    "test_api_security_deployed.py",
    "test_gateway_deployed.py",
    "test_pipeline_smoke_deployed.py",
}


def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """make test's two workers: each test module runs whole on one worker (a module-scoped
    deployment, emulator or bootstrap apply is made once, wherever the module lives), and the
    SHARED_DEPLOYMENT modules together on one. (xdist's own ``loadgroup`` renames node ids,
    which pytest 9 no longer lets a plugin do.)"""
    from xdist.scheduler import LoadScopeScheduling

    class DeploymentScopes(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return "shared_deployment" if path.rsplit("/", 1)[-1] in SHARED_DEPLOYMENT else path

    return DeploymentScopes(config, log)


# Variants that the environment files do not cover: weighted routing, no domain, three
# regions with failover rejected elsewhere, AWS-owned encryption, us-east-1 not a region, and
# API Gateway's account settings left to another environment; a Route53 traffic policy over three
# regions with failover inside each region's rule.
VARIANTS = {
    "weighted": {
        "project": "items",
        "regions": ["eu-west-1", "us-west-2", "ap-northeast-1"],
        "allowed_account_ids": ["444444444444"],
        "domain": {"zone_name": "example.org", "record_name": "api.weighted.example.org"},
        "routing": {"mode": "weighted", "weights": {"eu-west-1": 50, "us-west-2": 30, "ap-northeast-1": 20}},
        "table": {"encryption": "aws_owned"},
        "auth": {
            "issuer": "https://login.example.org/tenant/v2.0",
            "audience": "api://items",
            "jwks_url": "https://login.example.org/tenant/keys",
        },
        "waf": {"enabled": True, "rate_limit": 500},
        "api": {"cors_origins": ["https://a.example.org", "https://b.example.org"]},
    },
    "trafficpolicy": {
        "project": "items",
        "regions": ["eu-west-1", "us-west-2", "ap-southeast-2"],
        "allowed_account_ids": ["666666666666"],
        "domain": {"zone_name": "example.net", "record_name": "api.flow.example.net"},
        "routing": {"mode": "traffic-policy", "failover_within_region": True},
        "auth": {
            "issuer": "https://login.example.net/tenant/v2.0",
            "audience": "api://items",
            "jwks_url": "https://login.example.net/tenant/keys",
        },
    },
    "nodomain": {
        "project": "items",
        "regions": ["eu-west-1", "eu-central-1"],
        "allowed_account_ids": ["555555555555"],
        "table": {"encryption": "aws_managed"},
        "auth": {"public": True},
        # Another environment of the account sets API Gateway's CloudWatch role.
        "api": {"manage_account_settings": False},
    },
}


def variant_configs():
    return [parse_environment(raw, environment=name, source=f"<variant {name}>") for name, raw in VARIANTS.items()]


@pytest.fixture(scope="session")
def environment_configs():
    return {c.environment: c for c in load_environments(PROJECT_DIR / "environments")}


@pytest.fixture(scope="session")
def all_configs(environment_configs):
    return {**environment_configs, **{c.environment: c for c in variant_configs()}}


@pytest.fixture(scope="session")
def app(all_configs, tmp_path_factory):
    """One cdktf App with a stack per environment and variant, for the whole session."""
    import main

    return main.build_app(list(all_configs.values()), outdir=str(tmp_path_factory.mktemp("cdktf.out")))


@pytest.fixture(scope="session")
def synthesized_dir(app):
    """The app synthesized to disk (its ``stacks/<name>/cdk.tf.json``), once per session."""
    app.synth()
    return Path(app.outdir)


@pytest.fixture(scope="session")
def synthesized(app, all_configs):
    """environment name -> parsed Terraform JSON of its stack (Testing.synth)."""
    from cdktf import Testing

    return {
        name: json.loads(Testing.synth(app.node.find_child(config.stack_name))) for name, config in all_configs.items()
    }


@pytest.fixture(scope="session")
def terraform_bin():
    binary = shutil.which("terraform")
    if binary is None:
        from ops.terraform import INSTALL_HINT

        if IN_CI:
            pytest.fail(f"terraform not found on PATH and CI is set: {INSTALL_HINT}")
        pytest.skip(f"terraform not found on PATH. {INSTALL_HINT}")
    return binary
