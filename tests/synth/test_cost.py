"""The synth summary's fixed monthly cost (modules/cost.py, modules/prices.toml)."""

from __future__ import annotations

import datetime
import tomllib

from modules.cost import PRICES_FILE, Counts, counts, describe, load_prices, monthly_cost


def test_every_price_has_its_source_and_the_table_its_date():
    table = tomllib.loads(PRICES_FILE.read_text(encoding="utf-8"))
    datetime.date.fromisoformat(table.pop("date"))
    for section, prices in table.items():
        assert prices.pop("source").startswith("https://aws.amazon.com/"), section
        assert prices and all(isinstance(value, float) and value > 0 for value in prices.values()), section


def test_prod_counts_what_it_synthesizes(synthesized, all_configs):
    config, doc = all_configs["prod"], synthesized["prod"]
    n = len(config.regions)
    found = counts(doc)
    # per region: 3 HTTPS (one per signal), 5XX rate, traffic, authorizer and routing checks
    assert found.health_checks == 7 * n
    # HTTPS and a 10 s interval on each of the 3 HTTPS checks; latency measured by the first only
    assert config.health_check.interval == 10 and found.check_features == (3 + 3 + 1) * n
    assert (found.web_acls, found.waf_rules) == (n, 4 * n)
    assert found.kms_keys == n + (0 if "us-east-1" in config.regions else 1)
    assert found.alarms == len(doc["resource"]["aws_cloudwatch_metric_alarm"])


def test_the_cost_is_the_counts_times_the_prices():
    prices = load_prices()
    cost = monthly_cost(
        Counts(health_checks=6, check_features=3, web_acls=1, waf_rules=4, kms_keys=2, alarms=10), prices
    )
    assert cost == {
        "health checks": 6 * 0.5 + 3 * 1.0,
        "WAF": 5.0 + 4 * 1.0,
        "KMS keys": 2 * 1.0,
        "alarms": 10 * 0.1,
        "total": 6.0 + 9.0 + 2.0 + 1.0,
    }
    line = describe(Counts(kms_keys=2), prices, regions=2)
    assert line.startswith("fixed cost $2.00 a month, $1.00 per region") and prices.date in line
