"""The global router's Route53 rules: which record one answer picks in each routing mode,
how one health checker's status follows consecutive results, what counts as a healthy HTTP
check, and how calculated, alarm, inverted and disabled checks evaluate, with the checks in
moto's Route53 (its server on 127.0.0.1) and endpoints on loopback."""

from __future__ import annotations

import json
import random
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from local import front_door
from local.deployment_file import AlarmCheck
from local.emulator import aws_client
from local.router import (
    ROUTER_WORKERS,
    DeployedState,
    EndpointStatus,
    Evaluation,
    Evaluator,
    HealthChecker,
    Record,
    Router,
    RouterServer,
    choose,
    probe,
)
from tests.local.deployments import typed

WEST, CENTRAL, EAST = "eu-west-1", "eu-central-1", "us-east-1"


def record(region: str, **routing) -> Record:
    return Record(region, region, f"check-{region}", f"http://127.0.0.1:1/{region}", **routing)


# --- one DNS answer per routing mode ---------------------------------------------------------


def test_latency_answers_with_the_closest_healthy_region():
    records = [record(WEST, latency_region=WEST), record(CENTRAL, latency_region=CENTRAL)]
    order = [WEST, CENTRAL]
    rng = random.Random(1)
    assert choose(records, {WEST: True, CENTRAL: True}, order, rng).region == WEST
    assert choose(records, {WEST: False, CENTRAL: True}, order, rng).region == CENTRAL
    assert choose(records, {WEST: True, CENTRAL: True}, [CENTRAL, WEST], rng).region == CENTRAL


def test_when_no_record_is_healthy_every_record_counts_as_healthy():
    latency = [record(WEST, latency_region=WEST), record(CENTRAL, latency_region=CENTRAL)]
    assert choose(latency, {WEST: False, CENTRAL: False}, [WEST, CENTRAL], random.Random(1)).region == WEST
    failover = [record(WEST, failover="PRIMARY"), record(CENTRAL, failover="SECONDARY")]
    assert choose(failover, {WEST: False, CENTRAL: False}, [], random.Random(1)).region == WEST


def test_failover_answers_with_the_primary_else_the_secondary():
    records = [record(CENTRAL, failover="SECONDARY"), record(WEST, failover="PRIMARY")]
    assert choose(records, {WEST: True, CENTRAL: True}, [], random.Random(1)).region == WEST
    assert choose(records, {WEST: False, CENTRAL: True}, [], random.Random(1)).region == CENTRAL


def test_weighted_answers_follow_the_weights_among_healthy_records():
    records = [record(WEST, weight=30), record(CENTRAL, weight=10), record(EAST, weight=60)]
    rng = random.Random(7)
    counts = Counter(choose(records, {WEST: True, CENTRAL: True, EAST: False}, [], rng).region for _ in range(4000))
    assert set(counts) == {WEST, CENTRAL}
    assert 0.70 < counts[WEST] / 4000 < 0.80  # 30 of 40


# --- one health checker ------------------------------------------------------------------------


def test_the_status_changes_only_after_the_threshold_of_consecutive_results(tmp_path):
    checker = HealthChecker(state=None, scale=1, stop=threading.Event())
    checker.endpoints["c"] = EndpointStatus()
    seen = []
    for healthy in (False, False, True, False, False, False, True, True, True):
        checker._record("c", healthy, "r", threshold=3)
        seen.append(checker.status("c").healthy)
    # new checks start healthy; 2 failures are not enough, a success resets the count
    assert seen == [True, True, True, True, True, False, False, False, True]


class Endpoint(BaseHTTPRequestHandler):
    def do_GET(self):
        status = self.server.status
        if status == "silent":
            time.sleep(5)
            return
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def endpoint():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Endpoint)
    server.daemon_threads = True
    server.status = 200
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("status, healthy", [(200, True), (302, True), (399, True), (400, False), (503, False)])
def test_an_http_check_is_healthy_on_2xx_and_3xx(endpoint, status, healthy):
    endpoint.status = status
    assert probe(f"http://127.0.0.1:{endpoint.server_address[1]}/v1/health") == (
        healthy,
        f"{'Success' if healthy else 'Failure'}: HTTP Status Code {status}",
    )


def test_an_http_check_fails_without_an_answer_within_two_seconds(endpoint):
    endpoint.status = "silent"
    started = time.monotonic()
    healthy, result = probe(f"http://127.0.0.1:{endpoint.server_address[1]}/v1/health")
    assert not healthy and "timed out" in result
    assert 1.5 < time.monotonic() - started < 3.5


def test_an_http_check_fails_when_nothing_listens():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert probe(f"http://127.0.0.1:{port}/v1/health")[0] is False


# --- evaluating deployed checks ----------------------------------------------------------------


@pytest.fixture
def deployed(server, endpoint):
    """In moto: an HTTPS check on a REST API host served by ``endpoint``, an alarm check on a
    real alarm, and a calculated check of both; an evaluator with a fast checker."""
    route53, cloudwatch = aws_client("route53", "us-east-1", server), aws_client("cloudwatch", WEST, server)
    api_id = uuid.uuid4().hex[:10]
    http_id = route53.create_health_check(
        CallerReference=str(uuid.uuid4()),
        HealthCheckConfig={
            "Type": "HTTPS",
            "FullyQualifiedDomainName": f"{api_id}.execute-api.{WEST}.amazonaws.com",
            "Port": 443,
            "ResourcePath": "/v1/health",
            "RequestInterval": 10,
            "FailureThreshold": 2,
        },
    )["HealthCheck"]["Id"]
    alarm_name = f"api-5xx-{api_id}"
    cloudwatch.put_metric_alarm(
        AlarmName=alarm_name,
        Namespace="AWS/ApiGateway",
        MetricName="5XXError",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=5,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    alarm_id = route53.create_health_check(
        CallerReference=str(uuid.uuid4()),
        HealthCheckConfig={
            "Type": "CLOUDWATCH_METRIC",
            "AlarmIdentifier": {"Name": alarm_name, "Region": WEST},
            "InsufficientDataHealthStatus": "Healthy",
        },
    )["HealthCheck"]["Id"]
    calculated_id = route53.create_health_check(
        CallerReference=str(uuid.uuid4()),
        HealthCheckConfig={"Type": "CALCULATED", "ChildHealthChecks": [http_id, alarm_id], "HealthThreshold": 2},
    )["HealthCheck"]["Id"]
    deployment = typed(
        server, {WEST: {"rest_api_id": api_id, "api_url": f"http://127.0.0.1:{endpoint.server_address[1]}/v1"}}
    )
    stop = threading.Event()
    state = DeployedState(deployment)
    alarm = AlarmCheck(id=alarm_id, alarm_name=alarm_name, alarm_region=WEST, insufficient_data_health_status="Healthy")
    evaluator = Evaluator(state, HealthChecker(state, scale=0.01, stop=stop), {alarm_id: alarm})
    yield {
        "route53": route53,
        "cloudwatch": cloudwatch,
        "evaluator": evaluator,
        "alarm": alarm,
        "ids": {"http": http_id, "alarm": alarm_id, "calculated": calculated_id},
        "endpoint": endpoint,
    }
    stop.set()


def until(predicate, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def healthy(deployed, kind: str = "calculated") -> bool:
    return deployed["evaluator"].check(deployed["ids"][kind], Evaluation())


def test_the_calculated_check_follows_the_endpoint(deployed):
    assert healthy(deployed)  # a new check is healthy, and so is the endpoint
    deployed["endpoint"].status = 503
    assert until(lambda: not healthy(deployed)), "2 consecutive failures, 0.1 s apart, should mark it unhealthy"
    deployed["endpoint"].status = 200
    assert until(lambda: healthy(deployed))


def test_the_calculated_check_follows_the_5xx_alarm(deployed):
    cloudwatch, name = deployed["cloudwatch"], deployed["alarm"].alarm_name
    cloudwatch.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="test")
    assert not healthy(deployed, "alarm") and not healthy(deployed)
    cloudwatch.set_alarm_state(AlarmName=name, StateValue="OK", StateReason="test")
    assert healthy(deployed, "alarm") and healthy(deployed)
    cloudwatch.set_alarm_state(AlarmName=name, StateValue="INSUFFICIENT_DATA", StateReason="test")
    assert healthy(deployed, "alarm")  # InsufficientDataHealthStatus Healthy
    alarm = deployed["alarm"]
    deployed["evaluator"].alarm_checks[alarm.id] = replace(alarm, insufficient_data_health_status="Unhealthy")
    assert not healthy(deployed, "alarm")


def test_a_round_reads_the_checks_once_for_every_caller_and_the_next_round_reads_again(deployed):
    """The checkers and the evaluator share one ListHealthChecks until the next round (or
    ``max_age_s``), so a change made between two rounds is seen by the next one."""
    state = DeployedState(deployed["evaluator"].state.deployment, max_age_s=60)
    calls: list[str] = []
    state.route53.meta.events.register("before-call.route53", lambda model, **_: calls.append(model.name))
    ids = deployed["ids"]
    for _ in range(3):
        assert {kind: state.health_check(ids[kind])["Type"] for kind in ids} == {
            "http": "HTTPS",
            "alarm": "CLOUDWATCH_METRIC",
            "calculated": "CALCULATED",
        }
    assert calls == ["ListHealthChecks"]
    deployed["route53"].update_health_check(HealthCheckId=ids["calculated"], HealthThreshold=1)
    assert state.health_check(ids["calculated"])["HealthThreshold"] == 2  # this round's read
    state.begin_round()
    assert state.health_check(ids["calculated"])["HealthThreshold"] == 1
    assert calls == ["ListHealthChecks", "ListHealthChecks"]
    with pytest.raises(LookupError, match="no health check nope"):
        state.health_check("nope")


def update(deployed, **config) -> None:
    ids = deployed["ids"]
    deployed["route53"].update_health_check(
        HealthCheckId=ids["calculated"], ChildHealthChecks=[ids["http"], ids["alarm"]], **config
    )


def test_a_threshold_above_the_children_is_never_healthy_and_zero_always(deployed):
    update(deployed, HealthThreshold=3)
    assert not healthy(deployed)
    deployed["endpoint"].status = 503
    update(deployed, HealthThreshold=0)
    assert until(lambda: not healthy(deployed, "http")) and healthy(deployed)


def test_inverted_flips_and_disabled_is_healthy(deployed):
    update(deployed, Inverted=True)
    assert not healthy(deployed)
    update(deployed, Inverted=False, Disabled=True)
    deployed["endpoint"].status = 503
    assert until(lambda: not healthy(deployed, "http")) and healthy(deployed)


# --- the front door: bounds and answers of the router's own server ------------------------------


class Upstream(BaseHTTPRequestHandler):
    """A region's gateway stand-in for the router: answers with the size of the body it got."""

    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.endswith("/slow"):
            time.sleep(1.0)
        answer = json.dumps({"received": len(body)}).encode()
        self.send_response(201)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


@pytest.fixture
def global_url(server, tmp_path):
    """A router serving one healthy latency record whose gateway is ``Upstream``."""
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    upstream.daemon_threads = True
    threading.Thread(target=upstream.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    stop = threading.Event()
    deployment = typed(server, {}, latency_order=[WEST])
    router = Router(deployment, tmp_path / "status.json", 1.0, stop)
    gateway = f"http://127.0.0.1:{upstream.server_address[1]}/v1"
    router.records = [Record(WEST, WEST, None, gateway, latency_region=WEST)]
    router.evaluation = Evaluation(healthy={WEST: True})
    routers = []

    def start(**capacity) -> str:
        routers.append(RouterServer(router, 0, **capacity))
        threading.Thread(target=routers[-1].serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return f"127.0.0.1:{routers[-1].server_address[1]}"

    yield start
    for running in routers:
        running.shutdown()
        running.server_close()
    upstream.shutdown()
    upstream.server_close()
    stop.set()


def exchange(address: str, data: bytes, timeout: float = 10) -> bytes:
    host, port = address.split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as conn:
        conn.sendall(data)
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)


def status_and_json(answer: bytes) -> tuple[int, dict]:
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"content-type: application/json" in head.lower(), head
    return int(head.split()[1]), json.loads(body)


def post(length_headers: str, body: bytes = b"") -> bytes:
    return f"POST /items HTTP/1.1\r\nHost: x\r\n{length_headers}Connection: close\r\n\r\n".encode() + body


@pytest.mark.parametrize(
    "length_headers",
    [
        "Content-Length: -1\r\n",
        "Content-Length: abc\r\n",
        "Content-Length: 1_0\r\n",
        "Content-Length: 2\r\nContent-Length: 3\r\n",
    ],
)
def test_an_invalid_content_length_is_a_json_400_without_reading_the_body(global_url, length_headers):
    address = global_url()
    assert status_and_json(exchange(address, post(length_headers, b"ab"))) == (400, {"message": "Bad Request"})


def test_a_body_over_the_cap_is_a_json_413_whether_declared_or_chunked(global_url):
    address = global_url()
    declared = post(f"Content-Length: {front_door.MAX_BODY_BYTES + 1}\r\n")
    assert status_and_json(exchange(address, declared)) == (413, {"message": "Request Too Long"})
    chunked = post("Transfer-Encoding: chunked\r\n", f"{front_door.MAX_BODY_BYTES + 1:x}\r\n".encode())
    assert status_and_json(exchange(address, chunked)) == (413, {"message": "Request Too Long"})
    malformed = post("Transfer-Encoding: chunked\r\n", b"zz\r\nab\r\n0\r\n\r\n")
    assert status_and_json(exchange(address, malformed))[0] == 400


def test_chunked_and_absent_lengths_are_forwarded_as_read(global_url):
    address = global_url()
    chunked = post("Transfer-Encoding: chunked\r\n", b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
    assert status_and_json_any(exchange(address, chunked)) == (201, {"received": 5})
    assert status_and_json_any(exchange(address, post(""))) == (201, {"received": 0})


def status_and_json_any(answer: bytes) -> tuple[int, dict]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def test_malformed_request_lines_get_json_not_html(global_url):
    address = global_url()
    assert status_and_json(exchange(address, b"GET /x HTTP/9.9\r\n\r\n"))[0] == 505
    assert status_and_json(exchange(address, b"NONSENSE\r\n\r\n"))[0] == 400
    huge = f"GET /x HTTP/1.1\r\nX-Big: {'a' * front_door.MAX_HEADER_BYTES}\r\n\r\n".encode()
    assert status_and_json(exchange(address, huge))[0] == 431


def burst(address: str, requests: list[bytes], timeout: float = 20) -> Counter:
    """Sends every request on its own connection at once; counts status lines and resets."""
    outcomes: Counter = Counter()
    lock = threading.Lock()

    def one(data: bytes) -> None:
        try:
            answer = exchange(address, data, timeout)
            outcome = answer.split(b"\r\n", 1)[0].decode() if answer else "closed without an answer"
            if b" 503 " in answer.split(b"\r\n", 1)[0]:
                assert b"\r\nRetry-After: 1\r\n" in answer and answer.endswith(b'{"message": "Service Unavailable"}')
        except ConnectionResetError:
            outcome = "reset"
        with lock:
            outcomes[outcome] += 1

    threads = [threading.Thread(target=one, args=(data,)) for data in requests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_a_burst_past_capacity_is_answered_503_with_retry_after_never_reset(global_url):
    address = global_url(workers=2, waiting=2, queue_deadline_s=30.0)  # the capacity bound alone
    slow = b"POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 65536\r\nConnection: close\r\n\r\n" + b"x" * 65536
    outcomes = burst(address, [slow] * 60)
    assert set(outcomes) == {"HTTP/1.1 201 Created", "HTTP/1.1 503 Service Unavailable"}, outcomes
    assert outcomes["HTTP/1.1 201 Created"] >= 4 and sum(outcomes.values()) == 60


def test_a_flat_routing_check_needs_every_https_copy_and_one_signal(deployed):
    """The stacks' shape (modules/constructs/global_routing.py): g HTTPS checks of the same
    endpoint and g alarm checks, threshold g + 1; here g = 2, the rate and traffic checks."""
    route53, cloudwatch, ids = deployed["route53"], deployed["cloudwatch"], deployed["ids"]
    http = route53.get_health_check(HealthCheckId=ids["http"])["HealthCheck"]["HealthCheckConfig"]
    copy_id = route53.create_health_check(
        CallerReference=str(uuid.uuid4()),
        HealthCheckConfig={key: http[key] for key in ("Type", "FullyQualifiedDomainName", "Port", "ResourcePath")}
        | {"RequestInterval": 10, "FailureThreshold": 2},
    )["HealthCheck"]["Id"]
    traffic_name = f"{deployed['alarm'].alarm_name}-requests"
    cloudwatch.put_metric_alarm(
        AlarmName=traffic_name,
        Namespace="AWS/ApiGateway",
        MetricName="5XXError",
        Statistic="SampleCount",
        Period=60,
        EvaluationPeriods=1,
        Threshold=60,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    traffic_id = route53.create_health_check(
        CallerReference=str(uuid.uuid4()),
        HealthCheckConfig={"Type": "CLOUDWATCH_METRIC", "AlarmIdentifier": {"Name": traffic_name, "Region": WEST}},
    )["HealthCheck"]["Id"]
    deployed["evaluator"].alarm_checks[traffic_id] = AlarmCheck(
        id=traffic_id, alarm_name=traffic_name, alarm_region=WEST, insufficient_data_health_status="Unhealthy"
    )
    ids["flat"] = route53.create_health_check(
        CallerReference=str(uuid.uuid4()),
        HealthCheckConfig={
            "Type": "CALCULATED",
            "ChildHealthChecks": [ids["http"], copy_id, ids["alarm"], traffic_id],
            "HealthThreshold": 3,
        },
    )["HealthCheck"]["Id"]

    def state(name: str, value: str) -> None:
        cloudwatch.set_alarm_state(AlarmName=name, StateValue=value, StateReason="test")

    state(traffic_name, "INSUFFICIENT_DATA")  # no claim of low traffic: the rate decides
    assert healthy(deployed, "flat")
    state(deployed["alarm"].alarm_name, "ALARM")
    assert not healthy(deployed, "flat")
    state(traffic_name, "OK")  # under the floor: the rate does not count
    assert healthy(deployed, "flat")
    deployed["endpoint"].status = 503  # HTTPS down: both signals are not enough
    state(deployed["alarm"].alarm_name, "OK")
    assert until(lambda: not healthy(deployed, "flat"))


# --- the router as deployed: its own process, the queue deadline ---------------------------------


class SlowUpstream(Upstream):
    """A gateway that takes ``UPSTREAM_S`` per request: the router's workers all stay busy."""

    in_flight, most, lock = 0, 0, threading.Lock()

    def do_GET(self):
        with SlowUpstream.lock:
            SlowUpstream.in_flight += 1
            SlowUpstream.most = max(SlowUpstream.most, SlowUpstream.in_flight)
        time.sleep(UPSTREAM_S)
        with SlowUpstream.lock:
            SlowUpstream.in_flight -= 1
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")


UPSTREAM_S = 3.0


def free_port() -> int:
    with socket.socket() as probe_socket:
        probe_socket.bind(("127.0.0.1", 0))
        return probe_socket.getsockname()[1]


@pytest.fixture
def router_process(server, tmp_path):
    """``python -m local.router`` over a latency record whose region's gateway is ``SlowUpstream``."""
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), SlowUpstream)
    upstream.daemon_threads = True
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    apigateway, route53 = aws_client("apigateway", WEST, server), aws_client("route53", "us-east-1", server)
    api_id = apigateway.create_rest_api(name="slow")["id"]
    root = apigateway.get_resources(restApiId=api_id)["items"][0]["id"]
    apigateway.put_method(restApiId=api_id, resourceId=root, httpMethod="GET", authorizationType="NONE")
    apigateway.put_integration(restApiId=api_id, resourceId=root, httpMethod="GET", type="MOCK")
    apigateway.create_deployment(restApiId=api_id, stageName="v1")
    domain_name = f"api-{uuid.uuid4().hex[:6]}.slow.test"
    domain = apigateway.create_domain_name(domainName=domain_name, endpointConfiguration={"types": ["REGIONAL"]})
    apigateway.create_base_path_mapping(domainName=domain_name, restApiId=api_id, stage="v1")
    zone_name = f"z{uuid.uuid4().hex[:6]}.test"
    zone_id = route53.create_hosted_zone(Name=zone_name, CallerReference=zone_name)["HostedZone"]["Id"]
    alias = {"HostedZoneId": "Z2FDTNDATAQYW2", "DNSName": domain["regionalDomainName"], "EvaluateTargetHealth": False}
    record_set = {"Name": f"api.{zone_name}", "Type": "A", "SetIdentifier": WEST, "Region": WEST, "AliasTarget": alias}
    route53.change_resource_record_sets(
        HostedZoneId=zone_id, ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": record_set}]}
    )
    global_url = f"http://127.0.0.1:{free_port()}"
    api_url = f"http://127.0.0.1:{upstream.server_address[1]}/v1"
    deployment = {
        "emulator_url": server,
        "account_id": "123456789012",
        "stack_dir": str(tmp_path),
        "global_url": global_url,
        "regions": {WEST: {"api_url": api_url, "rest_api_id": api_id, "stage": "v1", "functions": {}}},
        "dns": {"zone_name": zone_name, "record_name": f"api.{zone_name}"},
        "latency_order": [WEST],
    }
    (tmp_path / "deployment.json").write_text(json.dumps(deployment))
    process = subprocess.Popen(
        [sys.executable, "-m", "local.router", "--deployment", str(tmp_path / "deployment.json")],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert '"started"' in (process.stdout.readline() if process.stdout else "")
        yield global_url.removeprefix("http://")
    finally:
        process.terminate()
        process.wait(timeout=10)
        upstream.shutdown()
        upstream.server_close()


def test_a_request_no_worker_starts_within_the_deadline_gets_503_with_retry_after_at_once(router_process):
    """More connections than the router's workers, each served for 3 s: at most its workers'
    worth are forwarded at once, and the ones no worker
    starts within the queue deadline are answered 503 with Retry-After after about the
    deadline, instead of waiting 3, 6, 9 s in turn; none is reset."""
    count = ROUTER_WORKERS + 40
    timed: list[tuple[bytes, float]] = []
    lock = threading.Lock()

    def one() -> None:
        started = time.monotonic()
        try:
            answer = exchange(router_process, b"GET /items/1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 20)
        except ConnectionResetError:
            answer = b"reset"
        with lock:
            timed.append((answer, time.monotonic() - started))

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    late = [(answer, seconds) for answer, seconds in timed if answer.startswith(b"HTTP/1.1 503 ")]
    served = [seconds for answer, seconds in timed if answer.startswith(b"HTTP/1.1 200 ")]
    assert len(late) + len(served) == count, [answer[:40] for answer, _ in timed]
    assert len(late) >= count - 2 * ROUTER_WORKERS and served, (len(late), len(served))
    for answer, seconds in late:
        assert b"\r\nRetry-After: 1\r\n" in answer and answer.endswith(b'{"message": "Service Unavailable"}')
        assert seconds < front_door.QUEUE_DEADLINE_S + 1.5, seconds
    assert min(served) >= UPSTREAM_S
    assert SlowUpstream.most == ROUTER_WORKERS  # forwarded at once: more would only queue in the gateway


# --- a region's own name: resolved as deployed ---------------------------------------------------


def test_a_check_on_a_regions_own_name_reaches_the_gateway_its_record_domain_and_mapping_serve(server):
    """The HTTPS checks probe ``<region>.<record_name>``: the router follows its A alias
    record to the regional custom domain and that domain's root mapping, so deleting the
    mapping (or the record) fails the check as it would on AWS."""
    route53, apigateway = aws_client("route53", "us-east-1", server), aws_client("apigateway", WEST, server)
    zone_name = f"{uuid.uuid4().hex[:8]}.test"
    zone = route53.create_hosted_zone(Name=zone_name, CallerReference=str(uuid.uuid4()))["HostedZone"]["Id"]
    api_id = apigateway.create_rest_api(name="items")["id"]
    root = apigateway.get_resources(restApiId=api_id)["items"][0]["id"]
    apigateway.put_method(restApiId=api_id, resourceId=root, httpMethod="GET", authorizationType="NONE")
    apigateway.put_integration(restApiId=api_id, resourceId=root, httpMethod="GET", type="MOCK")
    apigateway.create_deployment(restApiId=api_id, stageName="v1")
    name = f"{WEST}.api.{zone_name}"
    domain = apigateway.create_domain_name(
        domainName=name,
        regionalCertificateArn=f"arn:aws:acm:{WEST}:123456789012:certificate/{uuid.uuid4()}",
        endpointConfiguration={"types": ["REGIONAL"]},
        securityPolicy="TLS_1_2",
    )
    apigateway.create_base_path_mapping(domainName=name, restApiId=api_id, stage="v1")
    route53.change_resource_record_sets(
        HostedZoneId=zone,
        ChangeBatch={
            "Changes": [
                {
                    "Action": "CREATE",
                    "ResourceRecordSet": {
                        "Name": name,
                        "Type": "A",
                        "AliasTarget": {
                            "HostedZoneId": domain["regionalHostedZoneId"],
                            "DNSName": domain["regionalDomainName"],
                            "EvaluateTargetHealth": False,
                        },
                    },
                }
            ]
        },
    )
    deployment = typed(
        server,
        {WEST: {"rest_api_id": api_id, "api_url": "http://127.0.0.1:4321/v1"}},
        dns={"zone_name": zone_name, "record_name": f"api.{zone_name}"},
    )
    state = DeployedState(deployment)
    assert state.gateway_for_fqdn(name) == "http://127.0.0.1:4321/v1"
    assert state.gateway_for_fqdn(f"{CENTRAL}.api.{zone_name}") is None  # no record
    apigateway.delete_base_path_mapping(domainName=name, basePath="(none)")
    assert state.gateway_for_fqdn(name) is None
