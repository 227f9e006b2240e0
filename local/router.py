"""One global URL for the local environment, answering like the environment's Route53 records.

Everything comes from the deployed state in the emulator, never from the stack's source:
the records of the environment's name (ListResourceRecordSets: routing policy, set
identifier, the health check each record uses, the alias target), each alias target's
regional custom domain and base path mapping (API Gateway: which REST API and stage it
serves, so which region's local gateway), and every health check's configuration
(ListHealthChecks: type, path, interval, failure threshold, inverted, disabled, children,
health threshold). It re-reads them on every round (one call of each kind per round, shared
with the checkers), so a change through the Route53 API (an evacuation, an inverted check)
takes effect like on AWS.

Health, as Route53 evaluates it (Developer Guide, "How Route 53 determines whether a health
check is healthy"), with one health checker instead of ~15 (with one checker, "more than
18% of checkers" is that checker's view):
- HTTP/HTTPS: a GET of the check's path on the local gateway its host resolves to (an
  execute-api host; or a name in the zone, through its A alias record, the regional custom
  domain it targets and that domain's root mapping, as DNS and API Gateway would; the answer
  kept for ``RESOLVE_TTL_S``, as a checker's resolver keeps it, then read again in the
  background) every
  ``RequestInterval`` seconds; healthy when it connects within 4 s and answers 2xx or 3xx
  within 2 s; the status changes after ``FailureThreshold`` consecutive results the other
  way; a new check starts healthy. (Plain HTTP on loopback: the gateway has no TLS.)
- CALCULATED: healthy when at least ``HealthThreshold`` children are (above the number of
  children: never; 0: always).
- CLOUDWATCH_METRIC: the alarm's state (DescribeAlarms): OK healthy, ALARM unhealthy,
  INSUFFICIENT_DATA the configured status. moto's Route53 drops the alarm identifier and that
  status, so both come from the deployment file (Terraform's outputs); moto never evaluates
  alarms from metrics, so the state only changes with SetAlarmState (docs/local-stand-in.md).
- ``Inverted`` flips a check's status; ``Disabled`` makes it healthy.

Routing per request, like one DNS answer: latency (the first healthy region in
``latency_order``, which stands in for distance from the client), failover (PRIMARY if
healthy, else SECONDARY if healthy), weighted (a healthy record, chosen by weight); when no
record is healthy, every record is considered healthy, as Route53 does. A traffic policy
record (traffic-policy mode: no alias records for the name, a policy record instead) is
answered by evaluating the deployed document (GetTrafficPolicyInstance, then GetTrafficPolicy:
its rules, endpoints and health checks) in local/traffic_flow.py, with the same checks and
the same ``latency_order``; each endpoint (a regional domain name) maps to its region's gateway
as an alias target does. The request goes to
that region's gateway and every answer carries ``X-Served-By-Region``. Changes apply at once:
there is no propagation delay and no resolver cache in front of the router (the drill's bound
still counts Route53's propagation and the records' TTL).

``TIME_SCALE`` (environment, default 1) multiplies every interval, so tests run the same
rules in seconds. The status of every check is written to the status file after each round.

    TIME_SCALE=0.02 python -m local.router --deployment .emulator/deployment.json
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Unpack
from urllib.parse import urlsplit

from local import deployment_file, front_door, traffic_flow
from local.emulator import LOOPBACK, AwsClient, aws_client

READER = "the global router"

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from local.deployment_file import AlarmCheck, Deployment, DnsName

SERVED_BY_HEADER = "X-Served-By-Region"
# Route53's limits for one HTTP check: connect within 4 s, then a status within 2 s. Not
# scaled: they are about the endpoint, not about Route53's pace.
CONNECT_TIMEOUT_S, RESPONSE_TIMEOUT_S = 4.0, 2.0
# How often the records, check configurations and alarm states are read again and the
# answer re-evaluated (scaled; never more often than MIN_ROUND_S): the stand-in for the few
# seconds Route53 takes to act on a changed status. The floor is under half the shortest
# check interval the tests run (30 s at TIME_SCALE 0.02: 0.6 s), so a status change is acted
# on within a quarter of a second; rounds every 0.1 s had the emulator answering ~90 reads a
# second for the router alone through make test.
ROUND_PERIOD_S, MIN_ROUND_S = 2.0, 0.25
# Requests forwarded at once. More than the regions' execution environments can serve
# (4 per function) only queue inside the gateway, where no deadline answers them: in flight,
# a request takes about ROUTER_WORKERS / throughput (Little's law), so fewer workers keep an
# admitted request's time short when the machine is slow, and the queue deadline refuses
# the rest (docs/local-limits.md, "Bursts").
ROUTER_WORKERS = 8 * (os.cpu_count() or 1)
# How long a checker keeps what a check's host resolved to (scaled): the TTL Route53 answers
# an alias record to an API Gateway domain with. Checks of the same host share the answer.
RESOLVE_TTL_S = 60.0
# DescribeAlarms takes at most 100 names.
DESCRIBE_ALARMS_MAX = 100
HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length", "te", "trailer", "upgrade"})


def time_scale(environ: Mapping[str, str] = os.environ) -> float:
    value = float(environ.get("TIME_SCALE") or 1)
    if not 0 < value <= 1:
        raise ValueError(f"TIME_SCALE={value} (expected a number in (0, 1])")
    return value


@dataclass(frozen=True)
class Record:
    """One routing record as deployed: its region's gateway and how it is chosen."""

    set_identifier: str
    region: str
    health_check_id: str | None
    gateway_url: str  # the region's gateway with the mapped stage: http://127.0.0.1:port/v1
    latency_region: str | None = None
    failover: str | None = None
    weight: int | None = None


@dataclass
class EndpointStatus:
    """One HTTP check's state, as one Route53 health checker keeps it."""

    healthy: bool = True  # a new health check is healthy until data says otherwise
    streak: int = 0  # consecutive results that disagree with ``healthy``
    last_result: str = "not checked yet"
    checked_at: float | None = None


def round_period(scale: float) -> float:
    """Seconds between two rounds at ``scale``."""
    return max(MIN_ROUND_S, ROUND_PERIOD_S * scale)


def alarm_checks(deployment: Deployment) -> dict[str, AlarmCheck]:
    """Every CLOUDWATCH_METRIC check the deployment file names, by check id."""
    return {
        check.id: check
        for served in deployment.regions.values()
        if served.alarm_check is not None
        for check in [served.alarm_check, *(served.guard_checks or ())]
    }


class DeployedState:
    """Reads the records, custom domains, health checks and alarm states from the emulator.

    A read is shared by every caller within ``max_age_s`` (the router's round period): one
    round, and the checkers polling meanwhile, make one ListHealthChecks, one
    ListResourceRecordSets, one GetDomainNames and one DescribeAlarms per region, instead of a
    GetHealthCheck per check and poll. Every round reads what is deployed again (begin_round);
    0: every call reads."""

    def __init__(self, deployment: Deployment, max_age_s: float = 0.0) -> None:
        self.deployment, self.max_age_s = deployment, max_age_s
        endpoint = deployment.emulator_url
        self.route53 = aws_client("route53", "us-east-1", endpoint)
        self.apigateway = {region: aws_client("apigateway", region, endpoint) for region in deployment.regions}
        self.cloudwatch: dict[str, AwsClient] = {}
        self.watched_alarms: dict[str, list[str]] = {}  # region -> the alarm names its checks watch
        for check in alarm_checks(deployment).values():
            self.watched_alarms.setdefault(check.alarm_region, []).append(check.alarm_name)
        self._lock = threading.Lock()
        self._read_at: dict[tuple[str, ...], tuple[float, Any]] = {}

    def begin_round(self) -> None:
        """A round reads everything again, whatever the age of the last reads."""
        with self._lock:
            self._read_at.clear()

    def _fresh(self, key: tuple[str, ...], read: Callable[[], Any]) -> Any:
        """``read()``'s answer, or the one read less than ``max_age_s`` ago under ``key``."""
        with self._lock:
            found = self._read_at.get(key)
        if found is not None and time.monotonic() - found[0] < self.max_age_s:
            return found[1]
        value = read()
        with self._lock:
            self._read_at[key] = (time.monotonic(), value)
        return value

    def records(self) -> list[Record]:
        dns = self._dns()
        name = dns.record_name.rstrip(".") + "."
        found = [
            self._record(raw)
            for raw in self._record_sets(dns.zone_name)
            if raw["Name"] == name and raw["Type"] == "A" and raw.get("AliasTarget")
        ]
        return [record for record in found if record is not None]

    def _dns(self) -> DnsName:
        return self.deployment.needed(self.deployment.dns, "dns", READER)

    def _zone_id(self, zone_name: str) -> str:
        def read() -> str:
            zones = self.route53.list_hosted_zones_by_name(DNSName=zone_name)["HostedZones"]
            return next(zone["Id"] for zone in zones if zone["Name"].rstrip(".") == zone_name)

        return str(self._fresh(("zone", zone_name), read))

    def _record_sets(self, zone_name: str) -> list[dict]:
        """Every record set of the zone (all pages)."""
        zone = self._zone_id(zone_name)

        def read() -> list[dict]:
            pages = self.route53.get_paginator("list_resource_record_sets").paginate(HostedZoneId=zone)
            return [raw for page in pages for raw in page["ResourceRecordSets"]]

        return list(self._fresh(("record sets", zone), read))

    def _record(self, raw: dict) -> Record | None:
        """None when the alias target is no regional domain of a local gateway."""
        found = self.target(raw["AliasTarget"]["DNSName"])
        if found is None:
            return None
        region, url = found
        return Record(
            raw["SetIdentifier"],
            region,
            raw.get("HealthCheckId"),
            url,
            raw.get("Region"),
            raw.get("Failover"),
            raw.get("Weight"),
        )

    def target(self, domain_name: str) -> tuple[str, str] | None:
        """(region, gateway URL) of a regional custom domain name; None when no local gateway serves it."""
        wanted = domain_name.rstrip(".").lower()
        for region, client in self.apigateway.items():
            for domain in self._domain_names(region, client):
                if (domain.get("regionalDomainName") or "").lower() == wanted:
                    url = self._mapped_url(region, client, domain["domainName"])
                    return (region, url) if url else None
        return None

    def _domain_names(self, region: str, client: AwsClient) -> list[dict]:
        return list(self._fresh(("domains", region), lambda: client.get_domain_names()["items"]))

    def policy_document(self) -> dict | None:
        """The document of the name's traffic policy record, as deployed; None without one."""
        dns = self._dns()
        zone = self._zone_id(dns.zone_name).rsplit("/", 1)[-1]
        name = dns.record_name.rstrip(".").lower() + "."
        listed = self.route53.list_traffic_policy_instances_by_hosted_zone(HostedZoneId=zone)["TrafficPolicyInstances"]
        for summary in listed:
            if summary["Name"].lower() == name:
                instance = self.route53.get_traffic_policy_instance(Id=summary["Id"])["TrafficPolicyInstance"]
                policy = self.route53.get_traffic_policy(
                    Id=instance["TrafficPolicyId"], Version=instance["TrafficPolicyVersion"]
                )["TrafficPolicy"]
                return json.loads(policy["Document"])
        return None

    def _mapped_url(self, region: str, client: AwsClient, domain_name: str) -> str | None:
        """The gateway URL the domain's root base path maps to (``(none)``: the root)."""
        served = self.deployment.regions[region]
        mappings = self._fresh(
            ("mappings", region, domain_name),
            lambda: client.get_base_path_mappings(domainName=domain_name).get("items", []),
        )
        for mapping in mappings:
            if mapping.get("basePath") in ("(none)", "", None) and mapping.get("restApiId") == served.rest_api_id:
                split = urlsplit(served.api_url)
                return f"{split.scheme}://{split.netloc}/{mapping['stage']}"
        return None

    def health_check(self, check_id: str) -> dict:
        """The check's configuration, from one ListHealthChecks shared by the round."""

        def read() -> dict[str, dict]:
            pages = self.route53.get_paginator("list_health_checks").paginate()
            return {check["Id"]: check["HealthCheckConfig"] for page in pages for check in page["HealthChecks"]}

        configs = self._fresh(("health checks",), read)
        if check_id not in configs:
            raise LookupError(f"no health check {check_id} (deleted?)")
        return dict(configs[check_id])

    def alarm_state(self, region: str, alarm_name: str) -> str:
        """The alarm's state, from one DescribeAlarms of the region's watched alarms per round."""
        names = self.watched_alarms.get(region, [])
        if alarm_name not in names:
            names = [alarm_name]  # not in the deployment file: read alone

        def read() -> dict[str, str]:
            with self._lock:
                if region not in self.cloudwatch:
                    self.cloudwatch[region] = aws_client("cloudwatch", region, self.deployment.emulator_url)
            states = {}
            for start in range(0, len(names), DESCRIBE_ALARMS_MAX):
                listed = self.cloudwatch[region].describe_alarms(AlarmNames=names[start : start + DESCRIBE_ALARMS_MAX])
                states.update({alarm["AlarmName"]: alarm["StateValue"] for alarm in listed["MetricAlarms"]})
            return states

        return str(self._fresh(("alarms", region, *names), read).get(alarm_name, "INSUFFICIENT_DATA"))

    def gateway_for_fqdn(self, fqdn: str) -> str | None:
        """The local gateway serving a health check's host: ``<rest-api-id>.execute-api.<region>.amazonaws.com``
        (the gateway's root), or a name in the environment's zone whose A alias record targets a
        regional custom domain (the URL its root mapping serves), resolved as deployed."""
        for region, served in self.deployment.regions.items():
            if fqdn.lower() == f"{served.rest_api_id}.execute-api.{region}.amazonaws.com".lower():
                split = urlsplit(served.api_url)
                return f"{split.scheme}://{split.netloc}"
        alias = self._alias_target(fqdn)
        found = self.target(alias) if alias else None
        return found[1] if found else None

    def _alias_target(self, fqdn: str) -> str | None:
        """The alias target of ``fqdn``'s A record in the environment's zone; None without one."""
        dns = self.deployment.dns
        if dns is None or not fqdn:
            return None
        name = fqdn.rstrip(".").lower() + "."
        for raw in self._record_sets(dns.zone_name):
            if raw["Name"].lower() == name and raw["Type"] == "A" and raw.get("AliasTarget"):
                return str(raw["AliasTarget"]["DNSName"])
        return None


def probe(url: str) -> tuple[bool, str]:
    """One Route53-style HTTP check: (healthy, what happened)."""
    split = urlsplit(url)
    connection = http.client.HTTPConnection(split.hostname or LOOPBACK, split.port, timeout=CONNECT_TIMEOUT_S)
    try:
        connection.connect()
        connection.sock.settimeout(RESPONSE_TIMEOUT_S)
        connection.request(
            "GET", split.path or "/", headers={"User-Agent": "Amazon-Route53-Health-Check-Service (local)"}
        )
        status = connection.getresponse().status
    except (OSError, http.client.HTTPException) as err:
        return False, f"Failure: {type(err).__name__}: {err}"
    finally:
        connection.close()
    healthy = 200 <= status < 400
    return healthy, f"{'Success' if healthy else 'Failure'}: HTTP Status Code {status}"


class HealthChecker:
    """Polls every HTTP check the records use (directly or as children) on its own schedule."""

    def __init__(self, state: DeployedState, scale: float, stop: threading.Event) -> None:
        self.state, self.scale, self.stop = state, scale, stop
        self.endpoints: dict[str, EndpointStatus] = {}
        self.threads: dict[str, threading.Thread] = {}
        self.lock = threading.Lock()
        self.resolved: dict[str, tuple[str | None, float]] = {}  # host -> (gateway, when)
        self.refreshing: set[str] = set()  # hosts being read again

    def resolve(self, fqdn: str) -> str | None:
        """The gateway ``fqdn`` resolves to. Read once, then again in the background once the
        last answer's TTL is over, so a probe never waits on it (several checks share a host:
        one read for all of them)."""
        with self.lock:
            cached = self.resolved.get(fqdn)
            expired = cached is not None and time.monotonic() - cached[1] >= RESOLVE_TTL_S * self.scale
            refresh = expired and fqdn not in self.refreshing
            if refresh:
                self.refreshing.add(fqdn)
        if cached is None:
            return self._read(fqdn)
        if refresh:
            threading.Thread(target=self._read, args=(fqdn,), daemon=True, name=f"resolve-{fqdn[:24]}").start()
        return cached[0]

    def _read(self, fqdn: str) -> str | None:
        """None (the check fails) when nothing could be read; a known answer is kept then."""
        try:
            gateway = self.state.gateway_for_fqdn(fqdn)
        except Exception:  # the emulator is gone or busy: try again on the next probe
            with self.lock:
                self.refreshing.discard(fqdn)
                known = self.resolved.get(fqdn)
            return known[0] if known else None
        with self.lock:
            self.resolved[fqdn] = (gateway, time.monotonic())
            self.refreshing.discard(fqdn)
        return gateway

    def watch(self, check_id: str) -> None:
        with self.lock:
            if check_id in self.threads:
                return
            self.endpoints[check_id] = EndpointStatus()
            thread = threading.Thread(target=self._loop, args=(check_id,), daemon=True, name=f"check-{check_id[:8]}")
            self.threads[check_id] = thread
        thread.start()

    def _loop(self, check_id: str) -> None:
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                config = self.state.health_check(check_id)
            except Exception as err:  # the check was deleted, the emulator is gone
                self._record(check_id, False, f"Failure: cannot read the health check: {err}", 1)
                self.stop.wait(1.0)
                continue
            self._check_once(check_id, config)
            interval = float(config.get("RequestInterval") or 30) * self.scale
            self.stop.wait(max(0.0, interval - (time.monotonic() - started)))

    def _check_once(self, check_id: str, config: dict) -> None:
        gateway = self.resolve(config.get("FullyQualifiedDomainName") or "")
        if gateway is None:
            healthy, result = False, f"Failure: no local endpoint for {config.get('FullyQualifiedDomainName')!r}"
        else:
            healthy, result = probe(gateway + (config.get("ResourcePath") or "/"))
        self._record(check_id, healthy, result, int(config.get("FailureThreshold") or 3))

    def _record(self, check_id: str, healthy: bool, result: str, threshold: int) -> None:
        """The status changes after ``threshold`` consecutive results the other way."""
        with self.lock:
            status = self.endpoints[check_id]
            status.streak = 0 if healthy == status.healthy else status.streak + 1
            if status.streak >= threshold:
                status.healthy, status.streak = healthy, 0
            status.last_result, status.checked_at = result, time.time()

    def status(self, check_id: str) -> EndpointStatus:
        with self.lock:
            found = self.endpoints[check_id]
            return EndpointStatus(found.healthy, found.streak, found.last_result, found.checked_at)


@dataclass
class Evaluation:
    """The health of every record's check, evaluated once per round."""

    healthy: dict[str, bool] = field(default_factory=dict)  # set identifier -> healthy
    checks: dict[str, dict] = field(default_factory=dict)  # check id -> what was evaluated


class Evaluator:
    """Route53's status of a check, from the checkers and the deployed configuration."""

    def __init__(self, state: DeployedState, checker: HealthChecker, alarm_checks: dict[str, AlarmCheck]) -> None:
        self.state, self.checker, self.alarm_checks = state, checker, alarm_checks

    def evaluate(self, records: list[Record]) -> Evaluation:
        evaluation = Evaluation()
        for record in records:
            evaluation.healthy[record.set_identifier] = (
                True if record.health_check_id is None else self.check(record.health_check_id, evaluation)
            )
        return evaluation

    def check(self, check_id: str, evaluation: Evaluation) -> bool:
        config = self.state.health_check(check_id)
        kind = config["Type"]
        if kind == "CALCULATED":
            children = config.get("ChildHealthChecks") or []
            healthy_children = sum(self.check(child, evaluation) for child in children)
            healthy, why = (
                healthy_children >= int(config.get("HealthThreshold") or 0),
                f"{healthy_children}/{len(children)} children healthy",
            )
        elif kind == "CLOUDWATCH_METRIC":
            healthy, why = self._alarm(check_id)
        elif kind in ("HTTP", "HTTPS"):
            self.checker.watch(check_id)
            status = self.checker.status(check_id)
            healthy, why = status.healthy, status.last_result
        else:
            healthy, why = False, f"{kind} health checks are not evaluated locally"
        healthy, why = self._modifiers(config, healthy, why)
        evaluation.checks[check_id] = {"type": kind, "healthy": healthy, "why": why}
        return healthy

    @staticmethod
    def _modifiers(config: dict, healthy: bool, why: str) -> tuple[bool, str]:
        if config.get("Disabled"):
            return True, f"disabled (Route53 considers it healthy); {why}"
        if config.get("Inverted"):
            return not healthy, f"inverted; {why}"
        return healthy, why

    def _alarm(self, check_id: str) -> tuple[bool, str]:
        alarm = self.alarm_checks.get(check_id)
        if alarm is None:
            return True, "no alarm known for this check (Route53 would need its AlarmIdentifier)"
        state = self.state.alarm_state(alarm.alarm_region, alarm.alarm_name)
        if state == "INSUFFICIENT_DATA":
            status = alarm.insufficient_data_health_status or "LastKnownStatus"
            return status != "Unhealthy", f"alarm {alarm.alarm_name} INSUFFICIENT_DATA: {status}"
        return state == "OK", f"alarm {alarm.alarm_name} {state}"


def choose(
    records: list[Record], healthy: dict[str, bool], latency_order: list[str], rng: random.Random
) -> Record | None:
    """The record one DNS answer would give: only healthy records, or all when none is."""
    candidates = [record for record in records if healthy.get(record.set_identifier)] or list(records)
    if not candidates:
        return None
    if any(record.failover for record in candidates):
        return min(candidates, key=lambda record: record.failover != "PRIMARY")
    if any(record.weight is not None for record in candidates):
        weights = [record.weight or 0 for record in candidates]
        return rng.choices(candidates, weights=weights if any(weights) else None)[0]
    distance = {region: index for index, region in enumerate(latency_order)}
    return min(candidates, key=lambda record: distance.get(record.latency_region or record.region, len(distance)))


class Router:
    """The rounds (records, evaluation, status file) and the choice per request."""

    def __init__(
        self,
        deployment: Deployment,
        status_file: Path,
        scale: float,
        stop: threading.Event,
        rng: random.Random | None = None,
    ) -> None:
        self.state = DeployedState(deployment, max_age_s=round_period(scale))
        self.checker = HealthChecker(self.state, scale, stop)
        self.evaluator = Evaluator(self.state, self.checker, alarm_checks(deployment))
        self.latency_order, self.status_file, self.scale, self.stop = (
            list(deployment.needed(deployment.latency_order, "latency_order", READER)),
            status_file,
            scale,
            stop,
        )
        self.rng = rng or random.Random()
        self.records: list[Record] = []
        self.evaluation = Evaluation()
        self.flow_choice: Record | None = None  # traffic-policy mode: the document's answer
        self.lock = threading.Lock()

    def round(self) -> None:
        self.state.begin_round()
        records = self.state.records()
        document = None if records else self.state.policy_document()
        if document is not None:
            return self._flow_round(document)
        evaluation = self.evaluator.evaluate(records)
        with self.lock:
            self.records, self.evaluation, self.flow_choice = records, evaluation, None
        regions = {r.region: (evaluation.healthy.get(r.set_identifier), r.health_check_id) for r in records}
        self._write_status(regions, evaluation)

    def _flow_round(self, document: dict) -> None:
        """The policy record's answer, from the document and this round's health."""
        evaluation = Evaluation()
        answer = traffic_flow.evaluate(
            document, lambda check: self.evaluator.check(check, evaluation), self.latency_order
        )
        found = self.state.target(answer.value)
        choice = Record(answer.endpoint, found[0], None, found[1]) if found else None
        with self.lock:
            self.records, self.evaluation, self.flow_choice = [], evaluation, choice
        self._write_status(
            answer.regions, evaluation, {"traffic_policy": {**vars(answer), "region": found and found[0]}}
        )

    def rounds(self, period_s: float) -> None:
        while not self.stop.is_set():
            try:
                self.round()
            except Exception as err:  # keep serving the last known answer, say why
                print(json.dumps({"event": "round failed", "error": f"{type(err).__name__}: {err}"}), flush=True)
            self.stop.wait(period_s)

    def pick(self) -> Record | None:
        with self.lock:
            if self.flow_choice is not None:
                return self.flow_choice
            return choose(self.records, self.evaluation.healthy, self.latency_order, self.rng)

    def _write_status(
        self, regions: Mapping[str, tuple[bool | None, str | None]], evaluation: Evaluation, more: dict | None = None
    ) -> None:
        status = {
            **(more or {}),
            "time": time.time(),
            "time_scale": self.scale,
            "regions": {region: {"healthy": ok, "health_check_id": check} for region, (ok, check) in regions.items()},
            "checks": evaluation.checks,
            "endpoints": {check_id: vars(self.checker.status(check_id)) for check_id in list(self.checker.endpoints)},
        }
        partial = self.status_file.with_suffix(".partial")
        partial.write_text(json.dumps(status, indent=2, sort_keys=True))
        partial.replace(self.status_file)


class RouterHandler(front_door.FrontDoorHandler):
    """Forwards each request to the region the records choose."""

    server: RouterServer

    def serve(self, body: bytes) -> None:
        record = self.server.router.pick()
        if record is None:
            return self._answer(502, b'{"message":"no record answers for the global name"}', None)
        target = urlsplit(record.gateway_url)
        connection = http.client.HTTPConnection(target.hostname or LOOPBACK, target.port, timeout=35)
        try:
            headers = {name: value for name, value in self.headers.items() if name.lower() not in HOP_BY_HOP}
            connection.request(self.command, target.path + self.path, body=body or None, headers=headers)
            answer = connection.getresponse()
            payload = answer.read()
            passed = [(name, value) for name, value in answer.getheaders() if name.lower() not in HOP_BY_HOP]
        except (OSError, http.client.HTTPException) as err:
            return self._answer(502, json.dumps({"message": f"{record.region} did not answer: {err}"}).encode(), record)
        finally:
            connection.close()
        self._answer(answer.status, payload, record, passed)

    def refuse(self, refused: front_door.Refused) -> None:
        self._answer(refused.status, json.dumps({"message": refused.message}).encode(), None)

    def _answer(self, status: int, body: bytes, record: Record | None, headers: list | None = None) -> None:
        self.send_response_only(status)
        for name, value in headers or [("Content-Type", "application/json")]:
            self.send_header(name, value)
        self.send_header(SERVED_BY_HEADER, record.region if record else "none")
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()


class RouterServer(front_door.FrontDoorServer):
    """The global URL on 127.0.0.1; past its workers and queue, 503 with Retry-After."""

    def __init__(self, router: Router, port: int, **capacity: Unpack[front_door.Capacity]) -> None:
        capacity.setdefault("workers", ROUTER_WORKERS)
        super().__init__((LOOPBACK, port), RouterHandler, **capacity)
        self.router = router


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve the local environment's global name like its Route53 records.")
    parser.add_argument(
        "--deployment", required=True, type=Path, help="the deployment file, e.g. .emulator/deployment.json"
    )
    args = parser.parse_args(argv)
    deployment = deployment_file.load(args.deployment)
    deployment.require(("global_url", "dns", "latency_order"), READER)
    global_url = deployment.needed(deployment.global_url, "global_url", READER)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    scale = time_scale()
    router = Router(deployment, args.deployment.parent / "router-status.json", scale, stop)
    router.round()
    threading.Thread(target=router.rounds, args=(round_period(scale),), daemon=True, name="rounds").start()
    server = RouterServer(router, deployment_file.port(global_url, "global_url"))
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
    print(json.dumps({"event": "started", "global_url": global_url, "time_scale": scale}), flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    server.shutdown()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
