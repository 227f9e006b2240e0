"""The provider settings of an emulator environment, shared by the backend stacks and the
bootstrap stack."""

from __future__ import annotations

from typing import Any

# Nothing listens on port 1: in emulator mode, anything not bound for loopback fails here.
EMULATOR_DEAD_PROXY = "http://127.0.0.1:1"


def emulator_provider_settings() -> dict[str, Any]:
    """Only emulator environments get these (tested): no metadata lookups, and every request
    that is not for loopback sent to a dead proxy, so a run without the
    emulator fails instead of reaching AWS. The account id is still requested (from the
    emulator): without it every execution_arn, and so every Lambda permission's source ARN,
    has an empty account field that no real request ARN matches. The emulator's URL comes from
    AWS_ENDPOINT_URL, set by ops/deploy.py: an `endpoints` block costs each provider ~5
    CPU-seconds per Terraform command. No credentials here: a key in the provider block would
    beat a role's web identity, so ops/terraform.py gives root runs the emulator's keys and role
    runs AWS_ROLE_ARN and a token file, both through the environment, to one stack JSON."""
    return dict(
        skip_credentials_validation=True,
        skip_metadata_api_check="true",
        skip_region_validation=True,
        http_proxy=EMULATOR_DEAD_PROXY,
        https_proxy=EMULATOR_DEAD_PROXY,
        no_proxy="127.0.0.1,localhost",
    )
