"""Terraform Cloud: an environment with `[state] backend = "cloud"` synthesizes exactly the
`cloud` block of a CLI-driven workspace (organization, workspace name, hostname), and no
other backend. `cdktf diff/deploy backend-<env>` then upload the stack folder as the
workspace's configuration version, so the block must name the workspace by name only (no
tags, no working directory: the uploaded folder is the configuration's root)."""

from __future__ import annotations

import json

import pytest

from modules.config.loader import parse_environment

CLOUD = {"backend": "cloud", "organization": "acme-platform", "workspace": "items-qa", "hostname": "tfe.acme.example"}


@pytest.mark.parametrize("env", ["dev", "staging", "prod", "local"])
def test_cloud_block_matches_the_environment_file(env, synthesized, all_configs):
    state = all_configs[env].state
    terraform = synthesized[env]["terraform"]
    if state.backend != "cloud":
        assert "cloud" not in terraform
        return
    assert terraform["cloud"] == {
        "organization": state.organization,
        "hostname": state.hostname,
        "workspaces": {"name": state.workspace},
    }
    assert "backend" not in terraform


def test_prod_uses_its_own_workspace_on_terraform_cloud(synthesized):
    assert synthesized["prod"]["terraform"]["cloud"] == {
        "organization": "example-platform",
        "hostname": "app.terraform.io",
        "workspaces": {"name": "backend-prod"},
    }


def test_defaults_and_a_terraform_enterprise_host():
    from cdktf import Testing

    import main

    raw = {
        "project": "items",
        "regions": ["eu-west-1", "eu-central-1"],
        "allowed_account_ids": ["123456789012"],
        "auth": {"public": True},
    }
    default = parse_environment(
        {**raw, "state": {"backend": "cloud", "organization": "acme-platform"}}, environment="qa"
    )
    custom = parse_environment({**raw, "state": CLOUD}, environment="uat")
    app = main.build_app([default, custom])
    blocks = {
        name: json.loads(Testing.synth(app.node.find_child(f"backend-{name}")))["terraform"]["cloud"]
        for name in ("qa", "uat")
    }
    assert blocks["qa"] == {
        "organization": "acme-platform",
        "hostname": "app.terraform.io",
        "workspaces": {"name": "backend-qa"},
    }
    assert blocks["uat"] == {
        "organization": "acme-platform",
        "hostname": "tfe.acme.example",
        "workspaces": {"name": "items-qa"},
    }
