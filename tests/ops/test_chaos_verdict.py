"""The verdict's numbers (ops/chaos_verdict.py) from recorded runs, by their written
definitions: RTO spans the first to the last failed request; RPO counts acknowledged writes
unreadable in another serving region during the fault window (a region cut off by an outage
is not a reader); lost counts writes missing anywhere at the end; the line has the shape
the brief fixes; every experiment file is a valid Chaos Toolkit experiment with rollbacks."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from chaoslib.experiment import ensure_experiment_is_valid  # type: ignore[import-untyped]

from ops import chaos, chaos_verdict
from ops.chaos_load import Request, Run, Window
from tests.local.deployments import typed

A, B = "eu-west-1", "eu-central-1"
LINE = re.compile(
    r"^[a-z-]+: steady state (held|broken), rto [0-9.]+ s, rpo [0-9.]+ s \(\d+ writes\), lost \d+, conflicts \d+$"
)


def a_run() -> Run:
    deployment = typed("http://127.0.0.1:1", {A: {}, B: {}}, table_name="t")
    return Run(deployment, Path(), 1.0, None)


def test_rto_spans_the_first_to_the_last_failed_request():
    run = a_run()
    run.requests += [
        Request(100.0, "write", 201, A, 0.1, "w1"),
        Request(101.0, "write", 0, "none", 0.5, "w2"),
        Request(102.0, "read", 502, A, 0.2, "w1"),
        Request(103.0, "read", 404, B, 0.1, "w1"),  # stale, not an error
        Request(104.0, "conflict", 500, B, 0.1, "c"),  # not the global URL's clients
    ]
    assert chaos_verdict.rto_s(run) == pytest.approx(1.2)
    assert chaos_verdict.rto_s(a_run()) == 0.0


def test_rpo_counts_writes_unreadable_elsewhere_during_the_fault_window():
    run = a_run()
    run.faults.append(Window("replication-pause", 10.0, 20.0))
    run.acked.update({"early": (1.0, A), "during": (12.0, A), "after": (25.0, A), "from-b": (15.0, B)})
    run.seen.update({("early", B): 1.5, ("during", B): 21.0, ("after", B): 25.5, ("from-b", A): 16.0})
    oldest, count = chaos_verdict.rpo(run, end=30.0)
    assert (count, oldest) == (2, pytest.approx(9.0))  # "during" (9 s) and "from-b" (1 s)


def test_a_region_cut_off_by_an_outage_is_not_a_reader_but_its_acknowledged_writes_count():
    run = a_run()
    run.faults.append(Window("region-outage", 10.0, 20.0, A))
    run.acked.update({"acked-by-a": (9.9, A), "acked-by-b": (12.0, B)})
    run.seen.update({("acked-by-a", B): 20.5})
    oldest, count = chaos_verdict.rpo(run, end=30.0)
    assert (count, oldest) == (1, pytest.approx(10.6))
    assert chaos_verdict.lost(run) == 2, "neither is readable everywhere yet"
    run.seen.update({("acked-by-a", A): 9.9, ("acked-by-b", B): 12.0, ("acked-by-b", A): 21.0})
    assert chaos_verdict.lost(run) == 0


def test_the_verdict_line_has_the_agreed_shape():
    numbers = chaos_verdict.Numbers(2.41, 9.0, 12, 0, 3, 100, 200, 5)
    line = chaos_verdict.line("region-outage", False, numbers)
    assert line == "region-outage: steady state broken, rto 2.41 s, rpo 9 s (12 writes), lost 0, conflicts 3"
    assert LINE.match(line)


@pytest.mark.parametrize("name", chaos.experiment_names())
def test_every_experiment_is_valid_and_turns_every_fault_off_in_its_rollbacks(name):
    experiment = json.loads((chaos.EXPERIMENTS / f"{name}.json").read_text())
    ensure_experiment_is_valid(experiment)
    rollbacks = [activity["provider"]["func"] for activity in experiment["rollbacks"]]
    assert "clear_faults" in rollbacks
    for activity in experiment["method"] + experiment["rollbacks"]:
        module = __import__(activity["provider"]["module"], fromlist=["_"])
        assert callable(getattr(module, activity["provider"]["func"]))
