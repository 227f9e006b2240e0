"""Every local chaos experiment (experiments/*.json) against the drills' local deployment
(tests/e2e/conftest.py) at its small TIME_SCALE, through the command's own code path
(ops/chaos.run): each gives the verdict the docs state, and each control experiment, a fault
that must break the steady state, does. Faults are always off afterwards."""

from __future__ import annotations

import json

import pytest

from local import faults
from ops import chaos
from tests.e2e.local_deployment import TIME_SCALE

pytestmark = [pytest.mark.e2e, pytest.mark.terraform, pytest.mark.timeout(900)]
# The experiments' windows at this scale: 450 s of outage become 9 s.
EXPERIMENT_SCALE = 0.015

# The verdict docs/chaos.md states for each experiment. issuer-outage breaks by design (the
# authorizer fails closed beyond its key cache); the others that break are controls, the
# same fault made to defeat what absorbs it.
HELD = ["region-outage", "replication-pause", "lambda-errors", "lambda-latency", "issuer-outage-cached", "conflict"]
BROKEN = ["region-outage-pinned", "replication-pause-unrecovered", "lambda-errors-items-only", "issuer-outage"]


@pytest.fixture(scope="module")
def local(local_drills):
    """The drills' own deployment, at the small TIME_SCALE (tests/e2e/conftest.py)."""
    return local_drills


def test_the_shared_deployment_runs_at_the_small_time_scale(described):
    """The experiments' windows assume Route53's intervals at TIME_SCALE (failover in ~2 s)."""
    assert described.time_scale == float(TIME_SCALE)


def run(local, tmp_path, name: str, overrides: dict | None = None) -> chaos.Result:
    result = chaos.run(name, local.state_dir / "deployment.json", EXPERIMENT_SCALE, tmp_path, overrides)
    assert not faults.Faults(faults.path_for(local.state_dir)).active("region-outage")
    assert json.loads(faults.path_for(local.state_dir).read_text()) == {"faults": []}
    return result


def test_the_experiment_list_is_what_this_module_runs():
    assert sorted(HELD + BROKEN) == chaos.experiment_names()


@pytest.mark.parametrize("name", HELD)
def test_the_steady_state_holds(local, tmp_path, name):
    result = run(local, tmp_path, name)
    journal = json.loads(result.journal_path.read_text())
    assert result.held, f"{result.line}\n{json.dumps(journal['steady_states'], indent=1)[:3000]}"
    assert result.numbers.lost == 0, result.line
    assert result.png_path.stat().st_size > 10_000
    if name == "region-outage":
        assert 0 < result.numbers.rto_s < 10, result.line
    if name == "replication-pause":
        assert result.numbers.rpo_writes > 0 and result.numbers.rpo_s > 2.0, result.line
        # The deployed alarm, evaluated from the replicator's ReplicationLatency, fired and cleared.
        assert ", alarm " in result.line and " ALARM " in result.line and " OK " in result.line, result.line
    if name == "conflict":
        assert result.numbers.conflicts >= 10, result.line  # one loser per item at least


@pytest.mark.parametrize("name", BROKEN)
def test_a_fault_that_must_break_the_steady_state_does(local, tmp_path, name):
    result = run(local, tmp_path, name)
    assert not result.held, result.line
    assert result.line.startswith(f"{name}: steady state broken, ")
    assert result.numbers.lost == 0, result.line


def test_a_pause_too_short_to_breach_leaves_the_replication_alarm_ok_and_the_experiment_says_so(local, tmp_path):
    """30 s instead of 600 (0.45 s at this scale): no period's latency passes the threshold,
    the alarm stays OK, and the experiment that expects it breaks for that reason alone."""
    result = run(local, tmp_path, "replication-pause", {"pause_s": 30})
    assert not result.held, result.line
    assert result.line.startswith("replication-pause: steady state broken, "), result.line
    assert result.line.endswith(" never fired"), result.line
    journal = json.loads(result.journal_path.read_text())
    assert journal["steady_states"]["after"]["steady_state_met"], result.line  # only the alarm broke it
    assert result.numbers.lost == 0, result.line
