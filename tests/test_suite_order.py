"""make test's order (tests/conftest.py): the shared deployment's modules are one work unit,
handed out first, and the tests that destroy it come after all of its readers."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import DESTROYS_SHARED, LONGEST_FIRST, SHARED_DEPLOYMENT, run_order, work_unit

E2E = Path(__file__).resolve().parent / "e2e"


def test_the_shared_modules_are_one_unit_and_every_other_module_its_own():
    assert work_unit("tests/e2e/test_chaos.py::test_x[region-outage]") == "shared_deployment"
    assert work_unit("tests/e2e/test_pipeline_roles.py::test_y") == "shared_deployment"
    assert work_unit("tests/e2e/test_traffic_policy_deployed.py::test_z") == "tests/e2e/test_traffic_policy_deployed.py"
    assert work_unit("tests/synth/test_stack.py::test_z") == "tests/synth/test_stack.py"


def test_the_destroys_run_last_in_their_order_and_the_longest_unit_first():
    collected = [
        "tests/config/test_config.py::test_a",
        "tests/e2e/test_active_active.py::test_b",
        "tests/e2e/test_local_deploy.py::test_destroy_leaves_nothing",
        "tests/e2e/test_local_deploy.py::test_plan_after_apply_is_empty",
        "tests/e2e/test_pipeline_roles.py::test_the_deploy_role_destroys_the_stack",
        "tests/e2e/test_pipeline_roles.py::test_the_deploy_role_plans_again_and_the_plan_is_empty",
        "tests/e2e/test_traffic_policy_deployed.py::test_c",
    ]
    ordered = sorted(collected, key=run_order)
    shared = [nodeid for nodeid in ordered if work_unit(nodeid) == "shared_deployment"]
    assert [nodeid.split("/")[-1] for nodeid in shared[-2:]] == list(DESTROYS_SHARED)
    assert LONGEST_FIRST[0] == "shared_deployment" and ordered[: len(shared)] == shared


def test_the_named_modules_and_destroying_tests_exist():
    """A rename would otherwise quietly take a module out of the shared deployment, or let a
    destroy run before the tests that read the stack."""
    assert {path.name for path in E2E.glob("test_*.py")} >= SHARED_DEPLOYMENT
    for nodeid in DESTROYS_SHARED:
        module, name = nodeid.split("::")
        assert module in SHARED_DEPLOYMENT
        assert re.search(rf"^def {name}\(", (E2E / module).read_text(), re.M), nodeid
