"""The failover drill's AWS path and region evacuation, with botocore's Stubber on real
Lambda and Route53 clients: sequences of health-check states and DNS answers, a failure
midway, an interrupt, a variable left set, confirmation on a protected environment. DNS
resolution is injected (no real name is ever resolved) and the global name's HTTPS is a
server on 127.0.0.1 that answers from the region the resolver last pointed at. Time is a
fake clock that only the drill's waits move."""

from __future__ import annotations

import datetime
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest
from botocore.stub import Stubber

from modules.config.loader import load_environments
from ops import drill
from ops.drill_targets import AwsTarget, DrillError
from tests.conftest import PROJECT_DIR

WEST, CENTRAL = "eu-west-1", "eu-central-1"
IPS = {WEST: {"198.51.100.1"}, CENTRAL: {"203.0.113.7"}}
VARIABLES = {"TABLE_NAME": "items-dev-items", "OTHER": "kept"}
NOW = datetime.datetime(2026, 11, 27, tzinfo=datetime.UTC)


@pytest.fixture(scope="module")
def configs():
    return {config.environment: config for config in load_environments(PROJECT_DIR / "environments")}


class GlobalName(BaseHTTPRequestHandler):
    """The global name's HTTPS endpoint: answers from the region DNS last pointed at."""

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._answer(201, {"origin_region": self.server.region})

    def do_DELETE(self):
        self._answer(204, None)

    def _answer(self, status, body):
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def world(configs):
    """Stubbed clients, a scripted resolver, the global name on loopback, a fake clock."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), GlobalName)
    server.region = WEST
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    clients = {
        "route53": boto3.client("route53", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"),
        "lambda": boto3.client("lambda", region_name=WEST, aws_access_key_id="x", aws_secret_access_key="x"),
    }
    stubs = {name: Stubber(client) for name, client in clients.items()}
    answers: list[str] = []  # the regions this machine resolves the global name to, one per lookup

    def resolver(name: str) -> set[str]:
        for region in (WEST, CENTRAL):
            if name == f"d-{region}.execute-api.{region}.amazonaws.com":
                return IPS[region]
        server.region = answers.pop(0)
        return IPS[server.region]

    outputs = {
        "regions": {
            region: {
                "functions": {"health": "items-dev-health"},
                "health_check_id": f"http-{region}",
                "routing_health_check_id": f"calc-{region}",
                "custom_domain_target": f"d-{region}.execute-api.{region}.amazonaws.com",
            }
            for region in (WEST, CENTRAL)
        }
    }
    target = AwsTarget(
        configs["dev"],
        outputs,
        lambda service, region: clients["route53" if service == "route53" else "lambda"],
        resolver=resolver,
        global_url=f"http://127.0.0.1:{server.server_address[1]}",
    )
    now = [0.0]
    for stub in stubs.values():
        stub.activate()
    yield {
        "target": target,
        "stubs": stubs,
        "answers": answers,
        "clock": lambda: now[0],
        "sleep": lambda seconds: now.__setitem__(0, now[0] + seconds),
        "now": now,
    }
    server.shutdown()
    server.server_close()


# --- responses, shaped as the services answer ---------------------------------------------------


def http_check(stubs, region=WEST, interval=10, threshold=3):
    stubs["route53"].add_response(
        "get_health_check",
        {
            "HealthCheck": {
                "Id": f"http-{region}",
                "CallerReference": "r",
                "HealthCheckVersion": 1,
                "HealthCheckConfig": {"Type": "HTTPS", "RequestInterval": interval, "FailureThreshold": threshold},
            }
        },
        {"HealthCheckId": f"http-{region}"},
    )


def checkers(stubs, region, healthy: int, of: int = 16):
    observations = [
        {
            "Region": "us-east-1",
            "IPAddress": "192.0.2.1",
            "StatusReport": {
                "Status": "Success: HTTP Status Code 200, OK" if index < healthy else "Failure: HTTP Status Code 503",
                "CheckedTime": NOW,
            },
        }
        for index in range(of)
    ]
    stubs["route53"].add_response(
        "get_health_check_status", {"HealthCheckObservations": observations}, {"HealthCheckId": f"http-{region}"}
    )


def dns(world, route53_says: str, resolved_here: str):
    world["stubs"]["route53"].add_response(
        "test_dns_answer",
        {
            "Nameserver": "ns-1.awsdns-01.org",
            "RecordName": "api.dev.example.com",
            "RecordType": "A",
            "RecordData": sorted(IPS[route53_says]),
            "ResponseCode": "NOERROR",
            "Protocol": "UDP",
        },
        {"HostedZoneId": "/hostedzone/Z1", "RecordName": "api.dev.example.com", "RecordType": "A"},
    )
    world["answers"].append(resolved_here)


def zone(stubs):
    stubs["route53"].add_response(
        "list_hosted_zones_by_name",
        {
            "HostedZones": [{"Id": "/hostedzone/Z1", "Name": "dev.example.com.", "CallerReference": "r"}],
            "IsTruncated": False,
            "MaxItems": "100",
        },
        {"DNSName": "dev.example.com"},
    )


def configuration(stubs, variables, status="Successful"):
    stubs["lambda"].add_response(
        "get_function_configuration",
        {"FunctionName": "items-dev-health", "Environment": {"Variables": variables}, "LastUpdateStatus": status},
        {"FunctionName": "items-dev-health"},
    )


def update(stubs, variables):
    stubs["lambda"].add_response(
        "update_function_configuration",
        {"FunctionName": "items-dev-health"},
        {"FunctionName": "items-dev-health", "Environment": {"Variables": variables}},
    )


def healthy_baseline(world):
    """The check, the zone, the global name on WEST and every checker seeing both regions healthy."""
    stubs = world["stubs"]
    http_check(stubs)
    zone(stubs)
    dns(world, WEST, WEST)
    checkers(stubs, WEST, 16)
    checkers(stubs, CENTRAL, 16)


def break_applying(world):
    """STATUS=503 set on WEST's health function, Lambda still applying it."""
    stubs = world["stubs"]
    configuration(stubs, VARIABLES)
    update(stubs, {**VARIABLES, "STATUS": "503"})
    configuration(stubs, {**VARIABLES, "STATUS": "503"}, status="InProgress")


def baseline_and_break(world):
    healthy_baseline(world)
    break_applying(world)
    configuration(world["stubs"], {**VARIABLES, "STATUS": "503"})


def restore(world):
    update(world["stubs"], VARIABLES)
    configuration(world["stubs"], VARIABLES)
    configuration(world["stubs"], VARIABLES)


def run(world):
    return drill.run_drill(world["target"], WEST, out=None, clock=world["clock"], sleep=world["sleep"])


def assert_all_calls_made(world):
    for stub in world["stubs"].values():
        stub.assert_no_pending_responses()


# --- the drill -----------------------------------------------------------------------------------


def test_a_drill_reports_failover_and_recovery_from_checkers_and_dns(world):
    """Checkers turn one by one (over 18% healthy is healthy), Route53 answers the other
    region before this machine's resolver does; the failover counts until both agree."""
    baseline_and_break(world)
    stubs = world["stubs"]
    for healthy, route53_says, resolved in [
        (16, WEST, WEST),
        (6, WEST, WEST),
        (1, WEST, WEST),
        (0, CENTRAL, WEST),
        (0, CENTRAL, CENTRAL),
    ]:
        checkers(stubs, WEST, healthy)
        dns(world, route53_says, resolved)
    restore(world)
    for healthy, route53_says, resolved in [(0, CENTRAL, CENTRAL), (16, WEST, WEST)]:
        checkers(stubs, WEST, healthy)
        dns(world, route53_says, resolved)

    result = run(world)

    assert_all_calls_made(world)
    assert result.report.splitlines()[-1] == "failover 20.0 s, recovery 5.0 s, bound 150.0 s"
    assert result.ok
    assert "eu-west-1 marked unhealthy (1 of 16 checkers healthy)" in result.report
    assert "TestDNSAnswer -> eu-central-1, resolved here ['198.51.100.1'] -> eu-west-1" in result.report
    assert "after the failover: eu-central-1" in result.report


def test_a_failure_midway_still_puts_the_variable_back(world):
    baseline_and_break(world)
    stubs = world["stubs"]
    checkers(stubs, WEST, 16)
    dns(world, WEST, WEST)
    stubs["route53"].add_client_error("get_health_check_status", "Throttling", "Rate exceeded", 400)
    restore(world)
    checkers(stubs, WEST, 16)
    dns(world, WEST, WEST)

    result = run(world)

    assert_all_calls_made(world)  # the restore's update carried exactly the original variables
    assert not result.ok and result.failover_s is None and result.recovery_s == 0.0
    assert "error: An error occurred (Throttling)" in result.report
    assert result.report.splitlines()[-1] == "failover - s, recovery 0.0 s, bound 150.0 s"


def interrupting(world, seconds_to_interrupt: float):
    """The drill's sleep, raising KeyboardInterrupt (Ctrl-C) the first time it is asked to
    wait that long."""
    interrupted = []

    def sleep(seconds):
        if seconds == seconds_to_interrupt and not interrupted:
            interrupted.append(True)
            raise KeyboardInterrupt
        world["sleep"](seconds)

    return sleep


def test_an_interrupt_while_watching_puts_the_variable_back_then_waits_for_the_region(world):
    baseline_and_break(world)
    stubs = world["stubs"]
    checkers(stubs, WEST, 16)
    dns(world, WEST, WEST)
    restore(world)
    checkers(stubs, WEST, 16)
    dns(world, WEST, WEST)

    with pytest.raises(KeyboardInterrupt):
        drill.run_drill(world["target"], WEST, out=None, clock=world["clock"], sleep=interrupting(world, 5.0))
    assert_all_calls_made(world)


def test_an_interrupt_while_lambda_applies_the_break_still_restores(world):
    """Ctrl-C while the STATUS update is in progress: the variable may be set, so it is put back."""
    healthy_baseline(world)
    break_applying(world)
    restore(world)
    checkers(world["stubs"], WEST, 16)
    dns(world, WEST, WEST)

    with pytest.raises(KeyboardInterrupt):
        drill.run_drill(world["target"], WEST, out=None, clock=world["clock"], sleep=interrupting(world, 1.0))
    assert_all_calls_made(world)


def test_a_drill_refuses_to_start_when_status_is_already_set(world):
    healthy_baseline(world)
    configuration(world["stubs"], {**VARIABLES, "STATUS": "500"})

    result = run(world)

    assert_all_calls_made(world)  # and no update: nothing was changed or "restored"
    assert not result.ok and "STATUS is already '500' on items-dev-health" in result.report


def test_a_region_that_is_not_healthy_before_the_drill_is_refused(world):
    stubs = world["stubs"]
    http_check(stubs)
    zone(stubs)
    dns(world, CENTRAL, CENTRAL)
    checkers(stubs, WEST, 2)

    with pytest.raises(DrillError, match="not healthy before the drill"):
        run(world)
    assert_all_calls_made(world)


# --- evacuation ------------------------------------------------------------------------------------


def routing_check(stubs, region, threshold, children=2):
    stubs["route53"].add_response(
        "get_health_check",
        {
            "HealthCheck": {
                "Id": f"calc-{region}",
                "CallerReference": "r",
                "HealthCheckVersion": 4,
                "HealthCheckConfig": {
                    "Type": "CALCULATED",
                    "HealthThreshold": threshold,
                    "ChildHealthChecks": [f"child-{n}-{region}" for n in range(children)],
                },
            }
        },
        {"HealthCheckId": f"calc-{region}"},
    )


def updated(stubs, region, threshold, children=2):
    stubs["route53"].add_response(
        "update_health_check",
        {
            "HealthCheck": {
                "Id": f"calc-{region}",
                "CallerReference": "r",
                "HealthCheckVersion": 5,
                "HealthCheckConfig": {"Type": "CALCULATED"},
            }
        },
        {
            "HealthCheckId": f"calc-{region}",
            "HealthThreshold": threshold,
            "HealthCheckVersion": 4,
            "ChildHealthChecks": [f"child-{n}-{region}" for n in range(children)],
        },
    )


def test_evacuate_sets_the_threshold_above_the_children_once(world):
    stubs = world["stubs"]
    routing_check(stubs, WEST, 2)
    routing_check(stubs, CENTRAL, 2)  # another region stays in DNS
    updated(stubs, WEST, 3)
    routing_check(stubs, WEST, 3)

    first = drill.set_evacuated(world["target"], WEST, True)
    second = drill.set_evacuated(world["target"], WEST, True)

    assert_all_calls_made(world)
    assert first == "eu-west-1 evacuated: health check calc-eu-west-1 threshold 2 -> 3 of 2 children"
    assert second.startswith("eu-west-1 is already evacuated")


def test_restore_puts_the_threshold_back_once(world):
    stubs = world["stubs"]
    routing_check(stubs, WEST, 3)
    updated(stubs, WEST, 2)
    routing_check(stubs, WEST, 2)

    assert drill.set_evacuated(world["target"], WEST, False).startswith("eu-west-1 restored: ")
    assert drill.set_evacuated(world["target"], WEST, False).startswith("eu-west-1 is already restored")
    assert_all_calls_made(world)


@pytest.mark.parametrize(("children", "restored"), [(4, 3), (6, 4)])
def test_restore_of_a_flat_routing_check_needs_every_https_check_and_one_signal(world, children, restored):
    """g HTTPS and g signal children: restored to g + 1, not 2 (which any two signals would pass)."""
    stubs = world["stubs"]
    routing_check(stubs, WEST, children + 1, children)
    updated(stubs, WEST, restored, children)

    message = drill.set_evacuated(world["target"], WEST, False)

    assert message.endswith(f"threshold {children + 1} -> {restored} of {children} children")
    assert_all_calls_made(world)


def test_evacuating_a_flat_routing_check_goes_above_all_its_children(world):
    stubs = world["stubs"]
    routing_check(stubs, WEST, 4, 6)
    routing_check(stubs, CENTRAL, 4, 6)
    updated(stubs, WEST, 7, 6)

    assert drill.set_evacuated(world["target"], WEST, True).endswith("threshold 4 -> 7 of 6 children")
    assert_all_calls_made(world)


def test_the_last_region_in_dns_is_never_evacuated(world):
    stubs = world["stubs"]
    routing_check(stubs, WEST, 2)
    routing_check(stubs, CENTRAL, 3)  # already evacuated

    with pytest.raises(DrillError, match="last region in DNS"):
        drill.set_evacuated(world["target"], WEST, True)
    assert_all_calls_made(world)  # no update_health_check


# --- protected environments -------------------------------------------------------------------------


def test_a_protected_environment_asks_for_its_name(configs):
    prod, dev = configs["prod"], configs["dev"]
    asked = []
    drill.confirm(prod, "evacuate us-east-1", False, ask=lambda prompt: asked.append(prompt) or "prod")
    assert asked == ["prod is protected. Type its name to evacuate us-east-1: "]
    with pytest.raises(DrillError, match="not confirmed"):
        drill.confirm(prod, "run a failover drill on us-east-1", False, ask=lambda prompt: "yes")
    drill.confirm(prod, "evacuate us-east-1", True, ask=lambda prompt: pytest.fail("--yes must not ask"), out=None)
    drill.confirm(dev, "evacuate eu-west-1", False, ask=lambda prompt: pytest.fail("dev is not protected"))


def test_the_command_stops_before_any_change_when_not_confirmed(monkeypatch, capsys):
    monkeypatch.setattr("builtins.input", lambda prompt: "no")
    assert drill.main(["--env", "prod", "--evacuate", "us-east-1"]) == 1
    assert "not confirmed" in capsys.readouterr().err


def test_a_protected_drill_without_a_terminal_says_how_to_confirm():
    """`make drill ENV=prod` from a script: stdin is not a terminal, so no name can be typed."""
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "ops.drill", "--env", "prod"],
        cwd=PROJECT_DIR,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stderr
    assert "EOFError" not in result.stderr and "Traceback" not in result.stderr
    assert "prod is protected and there is no terminal to type its name on" in result.stderr
    assert "make drill ENV=prod YES=1" in result.stderr and "nothing was changed" in result.stderr


# --- when the change is in effect ------------------------------------------------------------


class RegionAnswering:
    """A region whose own /health answers 200 for ``still_ok`` looks after the break, then 503:
    the local gateway starts a new execution environment for the changed variables first."""

    poll_s = 0.5

    def __init__(self, still_ok: int) -> None:
        self.answers = ["HTTP 200"] * still_ok + ["HTTP 503"]

    def health_answers(self, region: str) -> tuple[bool, str]:
        detail = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return detail == "HTTP 200", detail


def test_the_clock_starts_when_the_regions_own_health_answers_the_break():
    now = [0.0]
    timeline = drill.Timeline(lambda: now[0], out=None)
    started = drill.in_effect(
        RegionAnswering(still_ok=3), WEST, timeline, False, 60.0, lambda s: now.__setitem__(0, now[0] + s)
    )
    assert started == 1.5  # three polls of 0.5 s saw the old answer; the bound counts from the 503
    assert timeline.entries == [(1.5, f"{WEST}'s own /health answers HTTP 503: the change is in effect")]


def test_a_break_that_never_takes_effect_stops_the_drill_naming_the_answer():
    now = [0.0]
    timeline = drill.Timeline(lambda: now[0], out=None)
    with pytest.raises(DrillError, match=r"not within 2 s: eu-west-1's own /health still answers HTTP 200"):
        drill.in_effect(
            RegionAnswering(still_ok=100), WEST, timeline, False, 2.0, lambda s: now.__setitem__(0, now[0] + s)
        )


def test_on_aws_the_change_is_in_effect_once_lambda_applied_it(world):
    timeline = drill.Timeline(world["clock"], out=None)
    world["now"][0] = 7.0
    assert drill.in_effect(world["target"], WEST, timeline, False, 60.0, world["sleep"]) == 7.0 - timeline.start
    assert timeline.entries == []
