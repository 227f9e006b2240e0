"""The failover bound (modules/failover.py): interval x threshold, Route53's propagation and
the alias target's TTL, scaled like the waits; printed per environment before synthesis."""

from __future__ import annotations

from modules.config.sections import HealthCheckConfig
from modules.failover import ALIAS_TARGET_TTL_S, ROUTE53_PROPAGATION_S, failover_bound


def test_the_bound_adds_detection_propagation_and_ttl():
    bound = failover_bound(HealthCheckConfig(interval=10, failure_threshold=3))
    assert (ROUTE53_PROPAGATION_S, ALIAS_TARGET_TTL_S) == (60, 60)
    assert (bound.detection_s, bound.total_s) == (30, 150)


def test_time_scale_scales_every_term():
    bound = failover_bound(HealthCheckConfig(interval=30, failure_threshold=3), scale=0.02)
    assert bound.total_s == (90 + 60 + 60) * 0.02
    assert bound.describe().endswith("(TIME_SCALE 0.02)")


def test_synth_prints_each_environments_bound(environment_configs, capsys):
    import main

    main.print_failover_bounds([environment_configs["prod"], environment_configs["local"]])
    assert capsys.readouterr().out.splitlines() == [
        "backend-prod: failover within 150 s of a region failing its health check: 10 s x 3 failures + 60 s Route53 "
        "propagation + 60 s alias TTL",
        "backend-local: failover within 210 s of a region failing its health check: 30 s x 3 failures + 60 s Route53 "
        "propagation + 60 s alias TTL",
    ]
