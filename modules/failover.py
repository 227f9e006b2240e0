"""How long, at worst, DNS keeps sending clients to a region after it starts failing its
health check: the bound the failover drill measures against (ops/drill.py), printed per
environment at synth time (main.py) and in the README.

    bound = interval x failure_threshold   every health checker needs that many consecutive
                                           failures, one per interval, to mark the region
                                           unhealthy (Route53 Developer Guide, "How Route 53
                                           determines whether a health check is healthy")
          + ROUTE53_PROPAGATION_S          the new status reaching Route53's name servers
          + ALIAS_TARGET_TTL_S             resolvers keep the last answer for its TTL

An endpoint that does not answer at all also costs each check its time limit (4 s to
connect, 2 s for the status); the drill's forced 503 answers at once, so it is not counted.
Nothing here imports cdktf: main.py prints the bound before synthesizing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from modules.config.sections import HealthCheckConfig

# Route53 propagates a change to all its authoritative name servers within 60 seconds
# (Route53 FAQ; ChangeResourceRecordSets reports INSYNC when it has); a health status that
# changes is acted on by the same servers.
ROUTE53_PROPAGATION_S = 60
# Alias records have no TTL of their own: Route53 answers with the TTL of the target, and the
# records here alias API Gateway regional domain names, answered with a 60 s TTL (as ELB and
# S3 website alias targets are, per the Route53 FAQ on DNS failover and TTLs).
ALIAS_TARGET_TTL_S = 60


def routing_threshold(children: int) -> int:
    """The threshold of a region's calculated routing check with ``children`` children: g
    HTTPS checks and g signal checks, healthy with all g HTTPS checks and one signal, so
    g + 1 (modules/constructs/global_routing.py). Also right for the older nested check (an
    HTTP check and a signal check: 2 of 2). Above ``children`` is the evacuation lever:
    Route53 then always considers it unhealthy (HealthThreshold, Route53 API reference);
    ops/drill.py sets it and restores this."""
    return children // 2 + 1


@dataclass(frozen=True)
class FailoverBound:
    interval_s: float
    failure_threshold: int
    scale: float = 1.0

    @property
    def detection_s(self) -> float:
        return self.interval_s * self.failure_threshold * self.scale

    @property
    def propagation_s(self) -> float:
        return ROUTE53_PROPAGATION_S * self.scale

    @property
    def ttl_s(self) -> float:
        return ALIAS_TARGET_TTL_S * self.scale

    @property
    def total_s(self) -> float:
        return self.detection_s + self.propagation_s + self.ttl_s

    def describe(self) -> str:
        scaled = f" (TIME_SCALE {self.scale:g})" if self.scale != 1 else ""
        return (
            f"within {self.total_s:g} s of a region failing its health check: {self.interval_s:g} s x "
            f"{self.failure_threshold} failures + {ROUTE53_PROPAGATION_S} s Route53 propagation + "
            f"{ALIAS_TARGET_TTL_S} s alias TTL{scaled}"
        )


def failover_bound(health_check: HealthCheckConfig, scale: float = 1.0) -> FailoverBound:
    return FailoverBound(float(health_check.interval), health_check.failure_threshold, scale)
