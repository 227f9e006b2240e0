"""make test's order (tests/conftest.py): the shared deployment's modules are two work units,
handed out first, and the tests that destroy it come after all of its readers, wherever they run."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import (
    BOOTSTRAP_APPLIED,
    CLI_ROUTE,
    DESTROYS_SHARED,
    DRILLS,
    LONGEST_FIRST,
    SHARED_DEPLOYMENT,
    run_order,
    work_unit,
)

E2E = Path(__file__).resolve().parent / "e2e"


def test_the_shared_modules_are_two_units_and_every_other_module_its_own():
    assert work_unit("tests/e2e/test_chaos.py::test_x[region-outage]") == "shared_deployment_drills"
    assert work_unit("tests/e2e/test_active_active.py::test_x") == "shared_deployment_drills"
    assert work_unit("tests/e2e/test_pipeline_roles.py::test_y") == "shared_deployment"
    assert work_unit("tests/e2e/test_traffic_policy_deployed.py::test_z") == "tests/e2e/test_traffic_policy_deployed.py"
    assert work_unit("tests/synth/test_stack.py::test_z") == "tests/synth/test_stack.py"


def test_the_bootstrap_applys_readers_are_one_unit_the_e2e_module_first():
    apply, enforced = "tests/e2e/test_bootstrap_apply.py::test_a", "tests/local/iam/test_bootstrap_enforced.py::test_b"
    assert work_unit(apply) == work_unit(enforced) == "bootstrap_applied"
    assert sorted([enforced, apply], key=run_order) == [apply, enforced]
    assert {path.name for path in E2E.parent.rglob("test_bootstrap_*.py")} >= set(BOOTSTRAP_APPLIED)


def test_the_cli_route_shares_its_unit_with_terraform_validate_and_starts_first():
    route, validate = "tests/e2e/test_cdktf_cli.py::test_r", "tests/terraform/test_validate.py::test_v[dev]"
    assert work_unit(route) == work_unit(validate) == LONGEST_FIRST[0]
    assert {path.name for path in E2E.parent.rglob("test_*.py")} >= set(CLI_ROUTE)


def test_the_destroys_run_last_in_their_order_and_the_longest_units_first():
    collected = [
        "tests/config/test_config.py::test_a",
        "tests/e2e/test_active_active.py::test_b",
        "tests/e2e/test_local_deploy.py::test_destroy_leaves_nothing",
        "tests/e2e/test_local_deploy.py::test_apply_reports_every_phase",
        "tests/e2e/test_pipeline_roles.py::test_the_deploy_role_destroys_the_stack",
        "tests/e2e/test_pipeline_roles.py::test_the_deploy_role_plans_again_and_the_plan_is_empty",
        "tests/e2e/test_pipeline_roles.py::"
        "test_what_each_role_is_granted_and_never_used_in_this_run_is_listed_with_a_reason",
        "tests/e2e/test_traffic_policy_deployed.py::test_c",
        "tests/e2e/test_cdktf_cli.py::test_the_readme_route_diffs_deploys_and_destroys",
    ]
    ordered = [nodeid.split("/")[-1] for nodeid in sorted(collected, key=run_order)]
    assert ordered == [
        "test_cdktf_cli.py::test_the_readme_route_diffs_deploys_and_destroys",
        "test_local_deploy.py::test_apply_reports_every_phase",
        "test_pipeline_roles.py::test_the_deploy_role_plans_again_and_the_plan_is_empty",
        "test_active_active.py::test_b",
        "test_traffic_policy_deployed.py::test_c",
        "test_config.py::test_a",
        *DESTROYS_SHARED,
    ]


def test_the_named_units_modules_and_destroying_tests_exist():
    """A rename would otherwise quietly take a module out of the shared deployment, or let a
    destroy run before the tests that read the stack."""
    assert {path.name for path in E2E.glob("test_*.py")} >= SHARED_DEPLOYMENT >= DRILLS
    for unit in LONGEST_FIRST:
        assert (
            unit in {"shared_deployment", "shared_deployment_drills", "bootstrap_applied", "cli_route"}
            or (E2E.parent.parent / unit).is_file()
        ), unit
    for nodeid in DESTROYS_SHARED:
        module, name = nodeid.split("::")
        assert module in SHARED_DEPLOYMENT
        assert re.search(rf"^def {name}\(", (E2E / module).read_text(), re.M), nodeid
