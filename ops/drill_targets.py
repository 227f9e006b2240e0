"""Where a failover drill or an evacuation acts and looks (ops/drill.py): the local
environment (the emulator, its local gateways and the global router) or a real environment
on AWS (Lambda, Route53's GetHealthCheckStatus and TestDNSAnswer, a real DNS resolution,
HTTPS through the global name).

Both answer the same questions: the health function of a region (a Lambda client and a
name), whether Route53 marks a region unhealthy, which region answers through the global
name, what a write through the global name reports as its ``origin_region``, the region's
calculated health check (evacuation), and the HTTP check's interval and threshold (the
bound). The AWS target takes its clients, resolver and HTTP request function as arguments,
so tests drive it with botocore's Stubber and loopback servers; nothing resolves real names.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING

from local import deployment_file
from local.emulator import AwsClient, aws_client
from local.router import SERVED_BY_HEADER
from ops import smoke

if TYPE_CHECKING:
    from modules.config.sections import EnvironmentConfig

# How a target sends one HTTP request (ops/smoke.py's, or a test's).
Request = Callable[..., smoke.Response]

DRILL = "the drill"  # the reader, in a deployment file's errors

# Route53 considers an endpoint healthy when more than 18% of its health checkers do.
HEALTHY_CHECKER_SHARE = 0.18
# GetHealthCheckStatus "is intended for development, not high query rates": every 5 s.
AWS_POLL_S = 5.0


class DrillError(RuntimeError):
    pass


@dataclass(frozen=True)
class HttpCheck:
    interval_s: float
    failure_threshold: int


def system_resolver(name: str) -> set[str]:
    """The IPv4 addresses this machine resolves ``name`` to (its resolver, its cache)."""
    try:
        return {str(info[4][0]) for info in socket.getaddrinfo(name, 443, socket.AF_INET, socket.SOCK_STREAM)}
    except socket.gaierror:
        return set()


class LocalTarget:
    """The local environment, from ``.emulator/deployment.json``."""

    name = "local"

    def __init__(self, deployment_path: Path, request: Request = smoke.request) -> None:
        self.deployment = deployment_file.load(deployment_path)
        self.deployment.require(("global_url", "time_scale"), DRILL)
        self.global_url = self.deployment.needed(self.deployment.global_url, "global_url", DRILL)
        self.scale = self.deployment.needed(self.deployment.time_scale, "time_scale", DRILL)
        self.status_file = Path(deployment_path).parent / "router-status.json"
        self.regions = list(self.deployment.needed(self.deployment.latency_order, "latency_order", DRILL))
        self.request = request
        # Items are written through the global name with a token from the local issuer.
        from ops.smoke import smoke_token

        self.token = smoke_token(self.deployment)
        endpoint = self.deployment.emulator_url
        self.route53 = aws_client("route53", "us-east-1", endpoint)
        self._lambda = {region: aws_client("lambda", region, endpoint) for region in self.deployment.regions}

    @property
    def poll_s(self) -> float:
        return max(0.02, min(1.0, self.http_check(self.regions[0]).interval_s * self.scale / 10))

    def health_function(self, region: str) -> tuple[AwsClient, str]:
        return self._lambda[region], self.deployment.regions[region].functions["health"]

    def _check_id(self, region: str, name: str) -> str:
        """A region's ``health_check_id`` or ``routing_health_check_id``."""
        return self.deployment.needed(getattr(self.deployment.regions[region], name), f"regions.{region}.{name}", DRILL)

    def http_check(self, region: str) -> HttpCheck:
        config = self.route53.get_health_check(HealthCheckId=self._check_id(region, "health_check_id"))["HealthCheck"][
            "HealthCheckConfig"
        ]
        return HttpCheck(float(config["RequestInterval"]), int(config["FailureThreshold"]))

    def routing_check_id(self, region: str) -> str:
        return self._check_id(region, "routing_health_check_id")

    def health_answers(self, region: str) -> tuple[bool, str]:
        """Whether ``region``'s own /health (its execute-api URL, not the global name) answers
        200: a changed variable applies to the next invocation the local gateway starts, which
        starts a new execution environment first, as Lambda does."""
        try:
            response = self.request("GET", self.deployment.regions[region].api_url + "/health", timeout=10)
        except OSError as err:
            return False, f"no answer ({err})"
        return response.status == HTTPStatus.OK, f"HTTP {response.status}"

    def marked_healthy(self, region: str) -> tuple[bool | None, str]:
        """The router's view (its status file), as Route53's would be."""
        try:
            status = json.loads(self.status_file.read_text())
        except (OSError, ValueError) as err:
            return None, f"no router status ({err})"
        healthy = status["regions"].get(region, {}).get("healthy")
        endpoint = status["endpoints"].get(self._check_id(region, "health_check_id"), {})
        return healthy, f"router: {'healthy' if healthy else 'unhealthy'}; last check {endpoint.get('last_result')}"

    def global_region(self) -> tuple[str | None, str]:
        response = self.request("GET", self.global_url + "/health", timeout=10)
        region = response.headers.get(SERVED_BY_HEADER)
        return region, f"{self.global_url} answered from {region} (HTTP {response.status})"

    def write_item(self, item_id: str) -> str | None:
        response = self.request(
            "POST", self.global_url + "/items", {"item_id": item_id, "drill": True}, token=self.token
        )
        return (response.json() or {}).get("origin_region") if response.status in (200, 201) else None

    def delete_item(self, item_id: str) -> None:
        self.request("DELETE", f"{self.global_url}/items/{item_id}", token=self.token)


class AwsTarget:
    """A real environment: ``outputs`` are its Terraform outputs (``terraform output -json``
    values); ``clients(service, region)`` makes boto3 clients; ``resolver(name)`` resolves
    IPv4 addresses; ``request`` is ops.smoke.request's signature; ``global_url`` defaults
    to https://<record name>."""

    name = "aws"
    scale = 1.0
    poll_s = AWS_POLL_S

    def __init__(
        self,
        config: EnvironmentConfig,
        outputs: dict,
        clients: Callable[[str, str], AwsClient],
        resolver: Callable[[str], set[str]] = system_resolver,
        request: Request = smoke.request,
        global_url: str | None = None,
        client_subnet: str | None = None,
    ) -> None:
        if config.domain is None:
            raise DrillError(f"{config.environment} has no [domain]: there is no global name to drill")
        self.config, self.outputs, self.resolver, self.request = config, outputs, resolver, request
        # A token with items:write of the environment's issuer (a client-credentials grant),
        # from DRILL_TOKEN or SMOKE_TOKEN; never printed.
        self.token = os.environ.get("DRILL_TOKEN") or os.environ.get("SMOKE_TOKEN") or None
        self.regions = list(config.regions)
        self.record_name, self.zone_name = config.domain.record_name, config.domain.zone_name
        self.global_url = global_url or f"https://{self.record_name}"
        self.client_subnet = client_subnet
        self.route53 = clients("route53", "us-east-1")
        self._lambda = {region: clients("lambda", region) for region in self.regions}
        self._zone_id: str | None = None

    def health_function(self, region: str) -> tuple[AwsClient, str]:
        return self._lambda[region], self.outputs["regions"][region]["functions"]["health"]

    def health_answers(self, region: str) -> tuple[bool, str] | None:
        """Not probed: the drill's change is in effect once Lambda reports the update applied
        (``LastUpdateStatus``: ops/drill.py's ForcedStatus waits for it)."""
        return None

    def http_check(self, region: str) -> HttpCheck:
        config = self.route53.get_health_check(HealthCheckId=self.outputs["regions"][region]["health_check_id"])[
            "HealthCheck"
        ]["HealthCheckConfig"]
        return HttpCheck(float(config["RequestInterval"]), int(config["FailureThreshold"]))

    def routing_check_id(self, region: str) -> str:
        return self.outputs["regions"][region]["routing_health_check_id"]

    def marked_healthy(self, region: str) -> tuple[bool | None, str]:
        """Each checker's last view of the region's HTTP check (GetHealthCheckStatus cannot
        read a calculated check), aggregated as Route53 does: more than 18% healthy."""
        observations = self.route53.get_health_check_status(
            HealthCheckId=self.outputs["regions"][region]["health_check_id"]
        )["HealthCheckObservations"]
        if not observations:
            return None, "no health checker has reported yet"
        healthy = sum(o["StatusReport"]["Status"].startswith("Success") for o in observations)
        return healthy / len(observations) > HEALTHY_CHECKER_SHARE, f"{healthy} of {len(observations)} checkers healthy"

    def global_region(self) -> tuple[str | None, str]:
        """The region both Route53's answer (TestDNSAnswer) and this machine's resolution
        of the global name point at; None while they disagree or match no region."""
        options = {"EDNS0ClientSubnetIP": self.client_subnet} if self.client_subnet else {}
        answer = self.route53.test_dns_answer(
            HostedZoneId=self._zone(), RecordName=self.record_name, RecordType="A", **options
        )
        by_region = {
            region: self.resolver(self.outputs["regions"][region]["custom_domain_target"]) for region in self.regions
        }
        route53_region = _region_of(set(answer.get("RecordData") or []), by_region)
        resolved = self.resolver(self.record_name)
        resolved_region = _region_of(resolved, by_region)
        detail = f"TestDNSAnswer -> {route53_region}, resolved here {sorted(resolved)} -> {resolved_region}"
        return (route53_region if route53_region == resolved_region else None), detail

    def _zone(self) -> str:
        if self._zone_id is None:
            zones = self.route53.list_hosted_zones_by_name(DNSName=self.zone_name)["HostedZones"]
            self._zone_id = next(zone["Id"] for zone in zones if zone["Name"].rstrip(".") == self.zone_name)
        return self._zone_id

    def write_item(self, item_id: str) -> str | None:
        response = self.request(
            "POST", self.global_url + "/items", {"item_id": item_id, "drill": True}, token=self.token
        )
        return (response.json() or {}).get("origin_region") if response.status in (200, 201) else None

    def delete_item(self, item_id: str) -> None:
        self.request("DELETE", f"{self.global_url}/items/{item_id}", token=self.token)


def _region_of(addresses: set[str], by_region: dict[str, set[str]]) -> str | None:
    found = [region for region, known in by_region.items() if addresses & known]
    return found[0] if len(found) == 1 else None
