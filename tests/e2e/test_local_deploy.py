"""The local environment, applied for real with Terraform to moto's server on 127.0.0.1:
apply, an empty plan, a smoke check through every region, destroy, and nothing left.

Every step has a hard timeout, and every process the test starts is stopped at the end.
"""

from __future__ import annotations

import json

import boto3
import pytest

from tests.e2e.local_deployment import deploy_for_module, stop
from tools import deploy
from tools import terraform as tf

pytestmark = [pytest.mark.e2e, pytest.mark.terraform, pytest.mark.timeout(1200)]


@pytest.fixture(scope="module")
def local(tmp_path_factory, terraform_bin):
    deployed = deploy_for_module(tmp_path_factory)
    yield deployed.config, deployed.deployment, deployed.state, deployed.env, deployed.printed
    stop(deployed)


def test_apply_reports_every_phase(local):
    config, deployment, _, _, printed = local
    for phase in ("emulator", "synth", "apply", "serve", "smoke"):
        assert f"] {phase}" in printed
    assert deployment.resource_count > 100
    assert deployment.outputs["replication"].startswith("not emulated")
    assert set(deployment.outputs["regions"]) == set(config.regions)


def test_smoke_passes_in_every_region(local):
    config, deployment, *_ = local
    assert {c.region for c in deployment.checks} == set(config.regions)
    failed = [c for c in deployment.checks if not c.ok]
    assert not failed, failed
    assert len(deployment.checks) == 5 * len(config.regions)


def test_regions_have_independent_tables(local):
    """Replication is not emulated: an item written in one region is not in the other."""
    config, deployment, state, *_ = local
    first, second = config.regions[:2]
    token = deploy.smoke_token(deploy.deployment_file.load(deployment.deployment_file))
    request = deploy.smoke_tool.request
    created = request("POST", deployment.urls[first] + "/items", {"item_id": "only-here"}, token=token)
    assert created.status == 201
    assert request("GET", deployment.urls[second] + "/items/only-here", token=token).status == 404
    assert request("DELETE", deployment.urls[first] + "/items/only-here", token=token).status == 204


def test_plan_after_apply_is_empty(local):
    _, deployment, state, env, _ = local
    result = tf.run(
        ["plan", "-detailed-exitcode", "-input=false", "-no-color"],
        deployment.stack_dir, env, timeout=300,
    )
    assert result.returncode == 0, f"plan is not empty (exit {result.returncode}):\n{result.stdout[-6000:]}"


def test_destroy_leaves_nothing(local):
    config, deployment, state, env, _ = local
    result = tf.run(
        ["destroy", "-auto-approve", "-input=false", "-no-color"],
        deployment.stack_dir, env, timeout=600,
    )
    assert result.returncode == 0, result.stdout[-6000:]
    listed = tf.run(["state", "list"], deployment.stack_dir, env, timeout=60)
    assert listed.stdout.strip() == ""

    def client(service, region):
        return boto3.client(
            service, endpoint_url=state.emulator_url, region_name=region,
            aws_access_key_id="test", aws_secret_access_key="test",
        )

    for region in (*config.regions, "us-east-1"):
        assert client("dynamodb", region).list_tables()["TableNames"] == []
        assert client("lambda", region).list_functions()["Functions"] == []
        assert client("apigateway", region).get_rest_apis()["items"] == []
        assert client("apigateway", region).get_domain_names()["items"] == []
        assert client("acm", region).list_certificates()["CertificateSummaryList"] == []
        assert client("logs", region).describe_log_groups()["logGroups"] == []
        assert client("sns", region).list_topics()["Topics"] == []
        assert client("cloudwatch", region).describe_alarms()["MetricAlarms"] == []
        kms = client("kms", region)
        ours = [kms.describe_key(KeyId=k["KeyId"])["KeyMetadata"] for k in kms.list_keys()["Keys"]]
        # moto adds a "Default key" of its own; ours are described "<project>-<env>: ...".
        ours = [k for k in ours if k.get("Description", "").startswith(f"{config.project}-{config.environment}:")]
        assert ours, f"no customer-managed key was ever created in {region}"
        # KMS never deletes at once: each key must be scheduled for deletion.
        assert {k["KeyState"] for k in ours} == {"PendingDeletion"}
    route53 = client("route53", "us-east-1")
    assert route53.list_health_checks()["HealthChecks"] == []
    (zone,) = route53.list_hosted_zones()["HostedZones"]
    records = route53.list_resource_record_sets(HostedZoneId=zone["Id"])["ResourceRecordSets"]
    assert sorted(r["Type"] for r in records) == ["NS", "SOA"], json.dumps(records, default=str)
    roles = [r["RoleName"] for r in client("iam", "us-east-1").list_roles()["Roles"]]
    assert not [r for r in roles if r.startswith(f"{config.project}-{config.environment}-")]
