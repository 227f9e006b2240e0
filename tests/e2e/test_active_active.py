"""Active-active on the drills' local deployment (tests/e2e/conftest.py), deployed with a small
TIME_SCALE so Route53's intervals take seconds: writes replicate between the regions within
the documented bound, deletes too, concurrent writes to one key converge; the global URL
answers from the closest healthy region; the failover drill (the command users run) fails
over within its bound and recovers; an evacuation through Route53 alone takes a region out
and the plan stays empty; the region's API 5XX alarm takes it out too. Every change is undone."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from typing import TYPE_CHECKING

import pytest

from local.emulator import aws_client
from local.replicator import LAG_BOUND_S
from local.router import SERVED_BY_HEADER
from ops import smoke
from ops import terraform as tf
from ops.smoke import smoke_token
from tests.e2e.local_deployment import TIME_SCALE

if TYPE_CHECKING:
    from local import deployment_file

pytestmark = [pytest.mark.e2e, pytest.mark.terraform, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def local(local_drills):
    """The drills' own deployment, at the small TIME_SCALE (tests/e2e/conftest.py)."""
    return local_drills


def call(described, method: str, url: str, body=None, **kwargs) -> smoke.Response:
    """A request with a token of every item scope from the local issuer."""
    return smoke.request(method, url, body, token=smoke_token(described), **kwargs)


def regions(local) -> tuple[str, str]:
    primary, secondary = local.config.regions[:2]
    return primary, secondary


def until(predicate, timeout: float) -> float | None:
    """Seconds until ``predicate()`` held, or None after ``timeout``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        time.sleep(0.02)
    return None


def stored(described, region: str, item_id: str) -> dict | None:
    response = call(described, "GET", f"{described.regions[region].api_url}/items/{item_id}")
    if response.status != 200:
        return None
    body = response.json()
    body.pop("served_by")
    return body


def test_a_write_in_one_region_is_readable_in_every_other_within_the_bound(local, described):
    for source in local.config.regions:
        item_id = f"lag-{source}-{time.time_ns()}"
        created = call(described, "POST", f"{described.regions[source].api_url}/items", {"item_id": item_id, "n": 1})
        assert created.status == 201
        for other in local.config.regions:
            expected = created.json()
            waited = until(lambda o=other, i=item_id, e=expected: stored(described, o, i) == e, LAG_BOUND_S)
            assert waited is not None, f"{item_id} from {source} not readable in {other} within {LAG_BOUND_S} s"


def test_a_delete_propagates(local, described):
    primary, secondary = regions(local)
    item_id = f"delete-{time.time_ns()}"
    assert call(described, "POST", f"{described.regions[primary].api_url}/items", {"item_id": item_id}).status == 201
    assert until(lambda: stored(described, secondary, item_id) is not None, LAG_BOUND_S) is not None
    assert call(described, "DELETE", f"{described.regions[secondary].api_url}/items/{item_id}").status == 204
    assert until(lambda: stored(described, primary, item_id) is None, LAG_BOUND_S) is not None


def test_concurrent_writes_to_one_key_in_two_regions_converge_everywhere(local, described):
    primary, secondary = regions(local)
    for attempt in range(3):
        item_id = f"conflict-{attempt}-{time.time_ns()}"
        start, answers = threading.Barrier(2), {}

        # Bound now (B023): each attempt's threads and check use that attempt's key.
        def write(
            region: str, item_id: str = item_id, start: threading.Barrier = start, answers: dict = answers
        ) -> None:
            start.wait()
            answers[region] = call(
                described, "POST", f"{described.regions[region].api_url}/items", {"item_id": item_id, "writer": region}
            ).json()

        threads = [threading.Thread(target=write, args=(region,)) for region in (primary, secondary)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        def same_everywhere(item_id: str = item_id) -> bool:
            first = stored(described, primary, item_id)
            return first is not None and first == stored(described, secondary, item_id)

        converged = until(same_everywhere, LAG_BOUND_S * 2)
        assert converged is not None, (
            f"{item_id} differs: {stored(described, primary, item_id)} vs {stored(described, secondary, item_id)}"
        )
        assert stored(described, primary, item_id) in answers.values()


def test_the_global_url_answers_from_the_closest_healthy_region(local, described):
    primary, _ = regions(local)
    response = call(described, "GET", described.global_url + "/health")
    assert response.status == 200 and response.headers[SERVED_BY_HEADER] == primary == response.json()["region"]


def drill(local, *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "ops.drill",
            "--env",
            "local",
            "--deployment",
            str(local.state_dir / "deployment.json"),
            *arguments,
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_drill_fails_over_within_its_bound_recovers_and_puts_the_variable_back(local, described):
    primary, secondary = regions(local)
    health = aws_client("lambda", primary, described.emulator_url)
    function = described.regions[primary].functions["health"]
    before = health.get_function_configuration(FunctionName=function)["Environment"]["Variables"]
    result = drill(local)
    assert result.returncode == 0, result.stdout + result.stderr
    last = result.stdout.strip().splitlines()[-1]
    failover, recovery, bound = map(
        float, re.fullmatch(r"failover ([\d.]+) s, recovery ([\d.]+) s, bound ([\d.]+) s", last).groups()
    )
    assert 0 < failover <= bound and 0 < recovery <= bound
    assert bound == pytest.approx((30 * 3 + 60 + 60) * float(TIME_SCALE))
    assert f"after the failover: {secondary}" in result.stdout  # items written then came from the survivor
    assert health.get_function_configuration(FunctionName=function)["Environment"]["Variables"] == before
    print(result.stdout)


def test_an_evacuated_region_leaves_the_global_url_until_restored_and_the_plan_stays_empty(local, described):
    primary, secondary = regions(local)
    served = lambda: call(described, "GET", described.global_url + "/health").headers[SERVED_BY_HEADER]  # noqa: E731
    evacuated = drill(local, "--evacuate", primary)
    try:
        assert evacuated.returncode == 0 and f"{primary} evacuated" in evacuated.stdout, (
            evacuated.stdout + evacuated.stderr
        )
        assert until(lambda: served() == secondary, 5) is not None
        again = drill(local, "--evacuate", primary)
        assert again.returncode == 0 and "already evacuated" in again.stdout
        last = drill(local, "--evacuate", secondary)
        assert last.returncode == 1 and "last region in DNS" in last.stderr
        plan = tf.run(
            ["plan", "-detailed-exitcode", "-input=false", "-no-color"], local.deployment.stack_dir, local.env, 300
        )
        assert plan.returncode == 0, f"the next apply would change the evacuation:\n{plan.stdout[-4000:]}"
    finally:
        restored = drill(local, "--restore", primary)
    assert restored.returncode == 0 and f"{primary} restored" in restored.stdout, restored.stdout + restored.stderr
    assert until(lambda: served() == primary, 5) is not None
    assert_flat_and_restored(described, primary)


def assert_flat_and_restored(described: deployment_file.Deployment, region: str) -> None:
    """As deployed: the routing check's children are g HTTPS and g alarm checks, none
    calculated (AWS refuses that), and --restore put back g + 1, not 2."""
    route53 = aws_client("route53", "us-east-1", described.emulator_url)
    config = route53.get_health_check(HealthCheckId=described.regions[region].routing_health_check_id)["HealthCheck"][
        "HealthCheckConfig"
    ]
    kinds = sorted(
        route53.get_health_check(HealthCheckId=child)["HealthCheck"]["HealthCheckConfig"]["Type"]
        for child in config["ChildHealthChecks"]
    )
    g = len(kinds) // 2
    assert kinds == ["CLOUDWATCH_METRIC"] * g + ["HTTPS"] * g and g >= 2, kinds
    assert config["HealthThreshold"] == g + 1


def test_the_regions_5xx_rate_takes_it_out_of_the_global_url_only_when_it_counts(local, described):
    """The rate alarm takes the region out only with traffic above the floor and a working
    authorizer (docs/production-signals.md); alarm states are set through CloudWatch (moto
    evaluates no alarms, and starts them OK: traffic under the floor)."""
    primary, secondary = regions(local)
    checks = described.regions[primary]
    rate, (traffic, authorizer) = checks.alarm_check, checks.guard_checks
    cloudwatch = aws_client("cloudwatch", rate.alarm_region, described.emulator_url)
    served = lambda: call(described, "GET", described.global_url + "/health").headers[SERVED_BY_HEADER]  # noqa: E731

    def set_state(alarm: deployment_file.AlarmCheck, state: str) -> None:
        cloudwatch.set_alarm_state(AlarmName=alarm.alarm_name, StateValue=state, StateReason="e2e test")

    set_state(rate, "ALARM")
    try:
        assert until(lambda: served() == secondary, 3) is None, "a rate under the traffic floor counted"
        set_state(traffic, "ALARM")
        assert until(lambda: served() == secondary, 5) is not None
        status = json.loads((local.state_dir / "router-status.json").read_text())
        assert status["regions"][primary]["healthy"] is False
        set_state(authorizer, "ALARM")  # a JWKS outage: the 5XX are the authorizer's, everywhere
        assert until(lambda: served() == primary, 5) is not None
    finally:
        for alarm in (rate, traffic, authorizer):
            set_state(alarm, "OK")
    assert until(lambda: served() == primary, 5) is not None
