"""The token bucket of API Gateway's stage and method throttles, on a clock the test moves,
and how the stage's method settings name them (GetStage as moto answers it)."""

from __future__ import annotations

from local.throttling import Buckets, Limit, limit_for, limits


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_passes_its_burst_then_refills_at_its_rate():
    clock = Clock()
    buckets, limit = Buckets(clock), Limit(rate_per_s=2.0, burst=3)
    assert [buckets.take("items/GET", limit) for _ in range(4)] == [True, True, True, False]
    clock.now += 0.5  # one token back at 2 per second
    assert [buckets.take("items/GET", limit) for _ in range(2)] == [True, False]
    clock.now += 60  # never more than the burst
    assert sum(buckets.take("items/GET", limit) for _ in range(10)) == 3


def test_each_method_has_its_own_bucket_and_a_changed_limit_starts_full():
    clock = Clock()
    buckets, limit = Buckets(clock), Limit(rate_per_s=0.001, burst=1)
    assert buckets.take("items/GET", limit) and not buckets.take("items/GET", limit)
    assert buckets.take("items/POST", limit)
    assert buckets.take("items/GET", Limit(rate_per_s=0.001, burst=2))


def test_method_settings_name_the_default_and_each_method():
    settings = {
        "*/*": {"throttlingRateLimit": 100.0, "throttlingBurstLimit": 50, "metricsEnabled": True},
        "~1items~1{item_id}/GET": {"throttlingRateLimit": 5.0, "throttlingBurstLimit": 2},
        "~1health/GET": {"metricsEnabled": True},
    }
    throttles = limits(settings)
    assert limit_for(throttles, "/items/{item_id}", "GET") == Limit(5.0, 2)
    assert limit_for(throttles, "/items", "POST") == Limit(100.0, 50)
    assert limit_for(throttles, "/health", "GET") == Limit(100.0, 50)
    assert limit_for(limits({}), "/items", "POST") is None
