"""The local environment, applied for real with Terraform to moto's server on 127.0.0.1:
apply, a smoke check through every region, destroy, and nothing left (the empty plan after
the apply is test_api_security_deployed's, with the same environment). The deployment is the
shared one; the destroy (test_pipeline_roles's, as the deploy role) runs
after every other shared test, and this module's destroy then finds nothing left.

Every step has a hard timeout, and every process the test starts is stopped at the end.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from ops import deploy
from ops import terraform as tf

PROJECT_DIR = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.e2e, pytest.mark.terraform, pytest.mark.timeout(1200)]


@pytest.fixture(scope="module")
def local(local):
    """The shared deployment (tests/e2e/conftest.py); its destroy runs last of all."""
    return local.config, local.deployment, local.state, local.env, local.printed


def test_apply_reports_every_phase(local):
    config, deployment, _, _, printed = local
    for phase in ("emulator", "synth", "apply", "serve", "smoke"):
        assert f"] {phase}" in printed
    assert deployment.resource_count > 100
    assert deployment.outputs["replication"].startswith("emulated: the global table's replicas are created by")
    assert set(deployment.outputs["regions"]) == set(config.regions)


def test_smoke_passes_in_every_region_and_through_the_global_url(local):
    """Per region: health, create, get, replicated, delete, delete replicated, get after
    delete; then five checks through the global URL."""
    config, deployment, *_ = local
    assert {c.region for c in deployment.checks} == {*config.regions, "global"}
    failed = [c for c in deployment.checks if not c.ok]
    assert not failed, failed
    assert len(deployment.checks) == 7 * len(config.regions) + 5


def test_the_summary_reports_the_measured_replication_lag_and_the_global_url(local):
    config, deployment, *_ = local
    printed = deploy.summary(deployment)
    assert re.search(r"lag p50 \d+ ms, p99 \d+ ms over 4 writes and deletes", printed), printed
    assert (
        f"global URL   {deployment.global_url} (answers like https://{config.domain.record_name}'s latency records"
        in printed
    )
    assert "failover     within 210 s" in printed


def test_the_quick_start_requests_run_as_the_readme_writes_them(local):
    """The README's first requests (its shell block that starts with TOKEN=), from a fresh
    shell in the repository root: create through the global URL, read from the other
    region, delete; the deployment file says which base each URL is."""
    _, deployment, *_ = local
    blocks = re.findall(r"```sh\n(.*?)```", (PROJECT_DIR / "README.md").read_text(), re.S)
    (block,) = [block for block in blocks if block.startswith("TOKEN=$(make -s token)")]
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")}
    env["DEPLOYMENT"] = str(deployment.deployment_file)  # this module's deployment, not .emulator/
    result = subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + block],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    created, read, deleted = result.stdout.splitlines()
    assert created.endswith(" 201") and json.loads(created[:-4])["origin_region"] == "eu-west-1", created
    assert read.endswith(" 200") and json.loads(read[:-4])["item_id"] == "hello", read
    assert deleted == "204"
    bases = json.loads(deployment.deployment_file.read_text())["url_bases"]
    assert "with its stage in the path" in bases["api_url"] and "no stage in the path" in bases["global_url"]


def test_the_gateway_benchmark_sends_a_token(local):
    _, deployment, *_ = local
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.gateway",
            "--deployment",
            str(deployment.deployment_file),
            "--requests",
            "3",
        ],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert re.search(r"GET /items/\{item_id\} +gateway +[\d.]+ ms", result.stdout), result.stdout


def test_destroy_leaves_nothing(local):
    config, deployment, state, env, _ = local
    result = tf.run(["destroy", "-auto-approve", "-input=false", "-no-color"], deployment.stack_dir, env, timeout=600)
    assert result.returncode == 0, result.stdout[-6000:]
    listed = tf.run(["state", "list"], deployment.stack_dir, env, timeout=60)
    assert listed.stdout.strip() == ""

    def client(service, region):
        return boto3.client(
            service,
            endpoint_url=state.emulator_url,
            region_name=region,
            aws_access_key_id="test",
            aws_secret_access_key="test",
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
