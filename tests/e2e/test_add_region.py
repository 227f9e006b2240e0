"""Adding a region to an applied environment (README, "Adding or removing a region"): apply
the `local` environment to the emulator, append a region to its file, synthesize it again
and plan against the same state. The plan (``terraform show -json``) may only create the new
region's resources (its key, API, functions, table, topic and alarms; its health check,
records and health alarm in us-east-1) and change the outputs that list regions; nothing in
the regions already there may be created, changed, replaced or destroyed.

Every process the test starts is stopped at the end; the plan is never applied.
"""

from __future__ import annotations

import json
import re
import tomllib
from typing import TYPE_CHECKING

import pytest

from modules.naming import provider_alias
from ops import deploy
from ops import terraform as tf

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = [pytest.mark.e2e, pytest.mark.terraform, pytest.mark.timeout(900)]

NEW_REGION = "us-west-2"
GLOBAL_REGION = "us-east-1"  # Route53's health checks, records and their alarms live here


def with_region_added(state_dir: Path) -> Path:
    """The `local` environment file with NEW_REGION appended to ``regions``, in a folder of
    its own (the environment keeps its name, so its stack and state are the same)."""
    source = (deploy.PROJECT_DIR / "environments" / "local.toml").read_text()
    regions = tomllib.loads(source)["regions"]
    assert NEW_REGION not in regions and GLOBAL_REGION not in regions
    added = [*regions, NEW_REGION]
    text, count = re.subn(r"(?m)^regions = \[.*\]$", "regions = " + json.dumps(added), source)
    assert count == 1
    folder = state_dir.parent / "environments-added"
    folder.mkdir()
    (folder / "local.toml").write_text(text)
    return folder


@pytest.fixture(scope="module")
def plan(local, tmp_path_factory):
    """``terraform show -json`` of the plan that adds NEW_REGION to the applied stack."""
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("BACKEND_ENVIRONMENTS_DIR", str(with_region_added(local.state_dir)))
    try:
        # Beside the applied stack's output folder: the local backend's relative path then
        # leads to the same state file.
        outdir = local.deployment.stack_dir.parent.parent.parent / "cdktf.out-added"
        stack_dir = deploy.synth(local.config, outdir)
    finally:
        monkeypatch.undo()
    deploy.init(stack_dir, local.env, local.state_dir)
    plan_file = stack_dir / "add-region.tfplan"
    planned = tf.run(["plan", "-input=false", "-no-color", f"-out={plan_file}"], stack_dir, local.env, timeout=300)
    assert planned.returncode == 0, planned.stdout[-6000:]
    shown = tf.run(["show", "-json", "-no-color", str(plan_file)], stack_dir, local.env, timeout=120)
    assert shown.returncode == 0, shown.stdout[-2000:]
    return json.loads(shown.stdout), json.loads((stack_dir / "cdk.tf.json").read_text())


def changes(shown: dict) -> dict[str, dict]:
    """address -> change, for every resource the plan does something to."""
    return {
        change["address"]: change
        for change in shown["resource_changes"]
        if change["change"]["actions"] not in (["no-op"], ["read"])
    }


def is_new_regions(address: str) -> bool:
    """Resources in the new region's scope, its Route53 pieces and health alarm in us-east-1,
    and the alarm on each existing region's replication latency to it (ReplicationLatency is
    published in the sending region, per receiving region)."""
    name = address.split(".", 1)[1]
    return (
        name.startswith(f"{NEW_REGION}_")
        or name.startswith((f"routing_{NEW_REGION}_", f"health_alarms_{NEW_REGION}_", f"global_table_{NEW_REGION}_"))
        or f"_alarms_replication_{NEW_REGION}_" in name
    )


def expected_provider_region(address: str) -> str:
    """The region whose provider makes a resource of the new region."""
    name = address.split(".", 1)[1]
    if name.startswith(("routing_", "health_alarms_")):
        return GLOBAL_REGION
    if f"_alarms_replication_{NEW_REGION}_" in name:
        return name.split("_alarms_replication_", 1)[0]  # the sending region
    return NEW_REGION


def test_the_plan_only_creates(plan):
    shown, _ = plan
    actions = {address: change["change"]["actions"] for address, change in changes(shown).items()}
    assert actions, "the plan adds nothing"
    assert {tuple(action) for action in actions.values()} == {("create",)}, {
        address: action for address, action in actions.items() if action != ["create"]
    }


def test_everything_it_creates_belongs_to_the_new_region(plan):
    shown, _ = plan
    created = changes(shown)
    assert not [address for address in created if not is_new_regions(address)]
    providers = {r["address"]: r["provider_config_key"] for r in shown["configuration"]["root_module"]["resources"]}
    for address in created:
        assert providers[address] == f"aws.{provider_alias(expected_provider_region(address))}", address


def test_it_creates_every_resource_the_new_region_has(plan):
    """Nothing of the new region is left out of the plan (a resource that already existed
    under its address would show as no-op, or worse, as a change)."""
    shown, synthesized = plan
    expected = sorted(
        f"{rtype}.{name}"
        for rtype, items in synthesized["resource"].items()
        for name in items
        if is_new_regions(f"{rtype}.{name}")
    )
    assert sorted(changes(shown)) == expected
    kinds = {address.split(".")[0] for address in expected}
    assert {
        "aws_kms_key",
        "aws_dynamodb_table_replica",
        "aws_lambda_function",
        "aws_api_gateway_rest_api",
        "aws_route53_health_check",
        "aws_route53_record",
        "aws_cloudwatch_metric_alarm",
    } <= kinds


def test_nothing_in_the_existing_regions_is_touched(plan, local):
    shown, _ = plan
    untouched = [change["address"] for change in shown["resource_changes"] if not is_new_regions(change["address"])]
    assert untouched, "the plan lists none of the existing resources"
    by_address = {change["address"]: change["change"]["actions"] for change in shown["resource_changes"]}
    assert {tuple(by_address[address]) for address in untouched} <= {("no-op",), ("read",)}
    assert local.deployment.resource_count == len([a for a in untouched if not a.startswith("data.")])


def test_only_the_outputs_that_list_regions_change(plan):
    shown, _ = plan
    changed = {name for name, change in shown["output_changes"].items() if change["actions"] != ["no-op"]}
    assert changed == {"regions"}
    regions = shown["output_changes"]["regions"]
    known, unknown = regions["after"] or {}, regions["after_unknown"]
    assert NEW_REGION in known or (isinstance(unknown, dict) and NEW_REGION in unknown)
    for region, value in regions["before"].items():
        assert known[region] == value, f"the output for {region} changes"
