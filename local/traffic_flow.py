"""One DNS answer from a deployed Route53 Traffic Flow document, as Route53 would give it.

The document (Route53 API Reference, "Traffic Policy Document Format") is a tree: the start
rule or endpoint, rules that reference rules or endpoints, and a health check on any
reference. What the local router supports, and how it is evaluated:

- ``latency``: the closest healthy entry, distance being the router's ``latency_order`` (the
  stand-in for a client's measured latency to each AWS region). An entry is healthy when its
  own health check is (if it has one) and the rule it references has a healthy answer.
- ``failover``: the primary when healthy, else the secondary when healthy.
- When nothing under a rule is healthy, Route53 answers as if everything were (as it does for
  records): the closest latency entry, the failover primary; the answer is then marked
  unhealthy so the caller can say so.
- Any other rule type (geo, geoproximity, weighted, multivalue) raises ``Unsupported``: the
  stack never makes one, and guessing would hide a wrong document.

Health comes from the caller (``healthy(check_id)``): the router's own checker and
evaluator, so a check's type, children, inversion and the drill's threshold all apply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable


class Unsupported(ValueError):
    """A rule type or reference the local evaluation does not implement."""


@dataclass(frozen=True)
class Answer:
    """``endpoint``: the endpoint id answered and ``value`` its value (the regional domain
    name). ``healthy``: reached through healthy references only. ``regions``: the start
    latency rule's entries, region -> (the region's own health, its check id), for the status
    file: the entry's check, or the primary's of the failover rule it references."""

    endpoint: str
    value: str
    healthy: bool
    regions: dict[str, tuple[bool, str | None]] = field(default_factory=dict)


class Flow:
    """One evaluation of ``document`` with one view of the health checks."""

    def __init__(self, document: dict, healthy: Callable[[str], bool], latency_order: list[str]) -> None:
        self.endpoints: dict = document.get("Endpoints") or {}
        self.rules: dict = document.get("Rules") or {}
        self.document, self.healthy, self.latency_order = document, healthy, latency_order
        self.regions: dict[str, tuple[bool, str | None]] = {}

    def answer(self) -> Answer:
        start = self.document.get("StartRule") or self.document.get("StartEndpoint")
        if not isinstance(start, str):
            raise Unsupported("the document has neither StartRule nor StartEndpoint")
        endpoint, healthy = self.resolve(start, top=True)
        return Answer(endpoint, str(self.endpoints[endpoint].get("Value")), healthy, dict(self.regions))

    def resolve(self, reference: str, top: bool = False) -> tuple[str, bool]:
        """The endpoint a reference answers with, and whether it got there healthy."""
        if reference in self.endpoints:
            return reference, True
        rule = self.rules.get(reference)
        if rule is None:
            raise Unsupported(f"{reference!r} is neither an endpoint nor a rule of the document")
        kind = rule.get("RuleType")
        if kind == "latency":
            return self._latency(rule.get("Regions") or [], top)
        if kind == "failover":
            return self._failover(rule)
        raise Unsupported(f"rule {reference!r} is a {kind} rule; the local router evaluates latency and failover")

    def item(self, entry: dict) -> tuple[str, bool]:
        """One entry (latency region, failover primary or secondary): its own check and what it references."""
        target = entry.get("EndpointReference") or entry.get("RuleReference")
        if not target:
            raise Unsupported(f"an entry references nothing: {entry}")
        endpoint, healthy = self.resolve(target)
        check = entry.get("HealthCheck")
        return endpoint, healthy and (check is None or self.healthy(check))

    def _latency(self, entries: list[dict], top: bool) -> tuple[str, bool]:
        if not entries:
            raise Unsupported("a latency rule without regions")
        distance = {region: index for index, region in enumerate(self.latency_order)}
        ranked = sorted(entries, key=lambda entry: distance.get(str(entry.get("Region")), len(distance)))
        results = [(entry, *self.item(entry)) for entry in ranked]
        if top:
            self.regions = {str(entry.get("Region")): self._own_health(entry, ok) for entry, _, ok in results}
        healthy = [(endpoint, ok) for _, endpoint, ok in results if ok]
        return healthy[0] if healthy else (results[0][1], False)

    def _own_health(self, entry: dict, reached: bool) -> tuple[bool, str | None]:
        """A region's own health: its entry's check, else the check of the primary of the
        failover rule it references (its own endpoint); else whether its answer is healthy."""
        check = entry.get("HealthCheck")
        if check is None:
            check = (self.rules.get(entry.get("RuleReference") or "", {}).get("Primary") or {}).get("HealthCheck")
        return (self.healthy(check) if check else reached), check

    def _failover(self, rule: dict) -> tuple[str, bool]:
        primary, primary_ok = self.item(rule.get("Primary") or {})
        if primary_ok:
            return primary, True
        secondary, secondary_ok = self.item(rule.get("Secondary") or {})
        return (secondary, True) if secondary_ok else (primary, False)


def evaluate(document: dict, healthy: Callable[[str], bool], latency_order: list[str]) -> Answer:
    """The answer one DNS query would get now."""
    return Flow(document, healthy, latency_order).answer()
