"""An environment's fixed monthly cost, counted from its synthesized stack and priced from
modules/prices.toml, for the synth summary (main.py). Only what is billed by the month
whether or not anyone calls the API: health checks, web ACLs and their rules, KMS keys,
alarms."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PRICES_FILE = Path(__file__).resolve().parent / "prices.toml"


@dataclass(frozen=True)
class Prices:
    date: str
    table: dict[str, Any]

    def __getitem__(self, key: str) -> float:
        section, name = key.split(".")
        return float(self.table[section][name])


def load_prices(path: Path = PRICES_FILE) -> Prices:
    table = tomllib.loads(path.read_text(encoding="utf-8"))
    return Prices(date=str(table.pop("date")), table=table)


@dataclass(frozen=True)
class Counts:
    """What a stack holds that is billed by the month. ``check_features``: optional features
    of endpoint checks (HTTPS, 10 s interval, latency), summed over the checks."""

    health_checks: int = 0
    check_features: int = 0
    web_acls: int = 0
    waf_rules: int = 0
    kms_keys: int = 0
    alarms: int = 0


def monthly_cost(counts: Counts, prices: Prices) -> dict[str, float]:
    """USD a month per item, and ``total``."""
    items = {
        "health checks": counts.health_checks * prices["route53_health_check.basic"]
        + counts.check_features * prices["route53_health_check.optional_feature"],
        "WAF": counts.web_acls * prices["waf.web_acl"] + counts.waf_rules * prices["waf.rule"],
        "KMS keys": counts.kms_keys * prices["kms.customer_managed_key"],
        "alarms": counts.alarms * prices["cloudwatch.standard_alarm"],
    }
    return {**items, "total": sum(items.values())}


def describe(counts: Counts, prices: Prices, regions: int) -> str:
    cost = monthly_cost(counts, prices)
    items = ", ".join(f"{name} ${value:.2f}" for name, value in cost.items() if name != "total")
    return (
        f"fixed cost ${cost['total']:.2f} a month, ${cost['total'] / regions:.2f} per region ({items}; "
        f"list prices of {prices.date}, modules/prices.toml)"
    )


def counts(doc: dict) -> Counts:
    """Counted from a stack's synthesized Terraform JSON (``cdk.tf.json``)."""
    resources = doc.get("resource", {})
    checks = resources.get("aws_route53_health_check", {}).values()
    acls = resources.get("aws_wafv2_web_acl", {}).values()
    return Counts(
        health_checks=len(checks),
        check_features=sum(
            (check["type"] == "HTTPS") + (check.get("request_interval") == 10) + bool(check.get("measure_latency"))
            for check in checks
        ),
        web_acls=len(acls),
        waf_rules=sum(len(acl.get("rule", [])) for acl in acls),
        kms_keys=len(resources.get("aws_kms_key", {})),
        alarms=len(resources.get("aws_cloudwatch_metric_alarm", {})),
    )
