"""The steady-state hypothesis of every experiment takes its bounds from the environment's
[chaos] section (defaults: 1% errors, p99 2000 ms): the same recorded load holds under one
environment's thresholds and breaks under stricter ones, through Chaos Toolkit's own check."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from chaoslib.hypothesis import run_steady_state_hypothesis  # type: ignore[import-untyped]
from chaoslib.run import EventHandlerRegistry  # type: ignore[import-untyped]

from modules.config.loader import parse_environment
from modules.config.sections import ChaosConfig
from ops import chaos, chaos_load
from ops.chaos_load import Request, Run
from tests.local.deployments import typed

A, B = "eu-west-1", "eu-central-1"
DEPLOYMENT = typed("http://127.0.0.1:1", {A: {}, B: {}}, table_name="t")


@pytest.fixture
def recorded():
    """A run whose last 150 s saw 100 requests: 2 failed, the slowest at 1.5 s."""
    run = Run(DEPLOYMENT, Path(), 1.0, None)
    now = time.time()
    for index in range(100):
        failed = index < 2
        latency = 1.5 if index == 50 else 0.1
        run.requests.append(Request(now - 60 + index * 0.5, "read", 503 if failed else 200, A, latency, f"i{index}"))
    chaos_load.set_current(run)
    yield run
    chaos_load.set_current(None)


def hypothesis_met(settings: ChaosConfig | None, name: str = "lambda-latency") -> bool:
    experiment = chaos.load_experiment(name, DEPLOYMENT, {}, settings)
    state = run_steady_state_hypothesis(experiment, experiment["configuration"], {}, None, EventHandlerRegistry())
    return bool(state["steady_state_met"])


def settings(**chaos_keys) -> ChaosConfig:
    raw = {"project": "items", "regions": [A, B], "emulator": True, "auth": {"audience": "t"}, "chaos": chaos_keys}
    return parse_environment(raw, environment="test").chaos


def test_the_defaults_are_one_percent_and_two_seconds(recorded):
    assert chaos.thresholds(ChaosConfig()) == {"max_error_percent": 1.0, "max_p99_ms": 2000}
    assert not hypothesis_met(None), "2% failed: above the default 1%"


def test_a_looser_error_rate_from_the_environment_holds_the_same_load(recorded):
    assert hypothesis_met(settings(max_error_rate=0.05))


def test_a_stricter_p99_from_the_environment_breaks_it(recorded):
    assert hypothesis_met(settings(max_error_rate=0.05, max_p99_ms=1600))
    assert not hypothesis_met(settings(max_error_rate=0.05, max_p99_ms=1000)), "p99 is 1.5 s"


@pytest.mark.parametrize("name", chaos.experiment_names())
def test_every_experiment_reads_both_thresholds(name):
    experiment = chaos.load_experiment(name, DEPLOYMENT, {}, settings(max_error_rate=0.02, max_p99_ms=900))
    assert (experiment["configuration"]["max_error_percent"], experiment["configuration"]["max_p99_ms"]) == (2.0, 900)
    limits = [
        probe["tolerance"]["provider"]["arguments"]["limit"]
        for probe in experiment["steady-state-hypothesis"]["probes"]
        if isinstance(probe["tolerance"], dict)
    ]
    assert limits == ["${max_error_percent}", "${max_p99_ms}"]
