"""The local environment switched to traffic-policy routing (a copy of environments/local.toml
with ``[routing] mode = "traffic-policy"``, as a user would edit it), deployed with `make
deploy`'s flow at a small TIME_SCALE: the apply goes through the emulator's traffic policy
API, the smoke passes through every region and the global URL, the plan after the apply is
empty, the router answers from the deployed document, and the failover drill (the command
users run) fails over within its bound and recovers."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from local import deployment_file, emulator
from local.emulator import aws_client
from modules.config.loader import load_environment
from ops import deploy
from ops import terraform as tf
from tests.e2e.local_deployment import LocalDeployment

PROJECT_DIR = Path(__file__).resolve().parents[2]
TIME_SCALE = "0.02"

pytestmark = [pytest.mark.e2e, pytest.mark.terraform, pytest.mark.timeout(900)]


def traffic_policy_config(directory: Path):
    """environments/local.toml with only the routing mode changed."""
    text = (PROJECT_DIR / "environments" / "local.toml").read_text()
    switched, count = re.subn(r'(?m)^mode = "latency"$', 'mode = "traffic-policy"', text)
    assert count == 1, 'environments/local.toml no longer sets [routing] mode = "latency" on one line'
    (directory / "local.toml").write_text(switched)
    return load_environment(directory / "local.toml")


@pytest.fixture(scope="module")
def local(tmp_path_factory, terraform_bin):
    root, environments = tmp_path_factory.mktemp("traffic-policy"), tmp_path_factory.mktemp("environments")
    config = traffic_policy_config(environments)
    assert config.routing.mode == "traffic-policy"
    state_dir, out = root / ".emulator", io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TIME_SCALE", TIME_SCALE)  # the router started by the deploy inherits it
        patch.setenv("BACKEND_ENVIRONMENTS_DIR", str(environments))  # main.py synthesizes the copy
        try:
            deployment = deploy.deploy_local(config, root / "cdktf.out", state_dir, out=out)
        except Exception as err:
            logs = "\n".join(log.read_text(errors="replace")[-3000:] for log in sorted(state_dir.glob("*.log")))
            pytest.fail(f"deploy failed: {err}\n{out.getvalue()}\n{logs}", pytrace=False)
    state = emulator.RunState.load(state_dir / "state.json")
    deployed = LocalDeployment(
        config, deployment, state, state_dir, deploy.emulator_env(state, state_dir), out.getvalue()
    )
    yield deployed
    stop_and_reap(deployed)


def stop_and_reap(local: LocalDeployment) -> None:
    """Stops everything the deploy started, then reaps them: they are this process's children,
    and one that exits between deploy.stop_group's reap and its check stays a zombie, which
    signal 0 still reports alive."""
    deploy.stop_processes(local.state)
    pids = [local.state.emulator_pid, local.state.issuer.get("pid")]
    pids += [gateway["pid"] for gateway in local.state.apis.values()]
    pids += [process["pid"] for process in local.state.processes.values()]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(pid and emulator.pid_alive(pid) for pid in pids):
        for pid in pids:
            with contextlib.suppress(ChildProcessError, TypeError):
                os.waitpid(pid, os.WNOHANG)
        time.sleep(0.05)
    assert not [pid for pid in pids if pid and emulator.pid_alive(pid)], "a process the test started is still running"


@pytest.fixture(scope="module")
def described(local: LocalDeployment) -> deployment_file.Deployment:
    return deployment_file.load(local.state_dir / "deployment.json")


def test_the_smoke_passes_in_every_region_and_through_the_global_url(local):
    failed = [check for check in local.deployment.checks if not check.ok]
    assert local.deployment.checks and not failed, failed
    assert {check.region for check in local.deployment.checks} == {*local.config.regions, "global"}


def test_the_plan_after_the_apply_is_empty(local):
    plan = tf.run(
        ["plan", "-detailed-exitcode", "-input=false", "-no-color"], local.deployment.stack_dir, local.env, 300
    )
    assert plan.returncode == 0, f"the plan after the apply is not empty:\n{plan.stdout[-4000:]}{plan.stderr[-2000:]}"


def test_the_name_has_a_policy_record_and_no_alias_records(local, described):
    route53 = aws_client("route53", "us-east-1", described.emulator_url)
    zone = route53.list_hosted_zones_by_name(DNSName=local.config.domain.zone_name)["HostedZones"][0]["Id"]
    name = local.config.domain.record_name + "."
    records = route53.list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
    assert not [r for r in records if r["Name"] == name and r.get("AliasTarget")]
    instances = route53.list_traffic_policy_instances_by_hosted_zone(HostedZoneId=zone.rsplit("/", 1)[-1])
    [instance] = [i for i in instances["TrafficPolicyInstances"] if i["Name"] == name]
    policy = route53.get_traffic_policy(Id=instance["TrafficPolicyId"], Version=instance["TrafficPolicyVersion"])
    document = json.loads(policy["TrafficPolicy"]["Document"])
    routing_checks = {described.regions[r].routing_health_check_id for r in local.config.regions}
    assert {entry["HealthCheck"] for entry in document["Rules"]["latency"]["Regions"]} == routing_checks


def test_the_router_answers_from_the_deployed_document(local):
    status = json.loads((local.state_dir / "router-status.json").read_text())
    primary = local.config.regions[0]
    assert status["traffic_policy"]["region"] == primary and status["traffic_policy"]["healthy"] is True
    assert set(status["regions"]) == set(local.config.regions)


def test_the_drill_fails_over_within_its_bound_and_recovers(local):
    result = subprocess.run(
        [sys.executable, "-m", "ops.drill", "--env", "local", "--deployment", str(local.state_dir / "deployment.json")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    last = result.stdout.strip().splitlines()[-1]
    failover, recovery, bound = map(
        float, re.fullmatch(r"failover ([\d.]+) s, recovery ([\d.]+) s, bound ([\d.]+) s", last).groups()
    )
    assert 0 < failover <= bound and 0 < recovery <= bound
    assert f"after the failover: {local.config.regions[1]}" in result.stdout
    print(result.stdout)
