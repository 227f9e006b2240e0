"""Session-wide fixtures. The provider binding is expensive to load, so one synthesized
app (every environment file plus a few variants built from dicts) is shared by all tests."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from modules.config.loader import load_environments, parse_environment

PROJECT_DIR = Path(__file__).resolve().parent.parent

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

# The e2e modules that share a deployment (tests/e2e/conftest.py's session-scoped ``local``,
# applied as the pipeline's roles): they read it or put back what they change, and the
# DESTROYS_SHARED tests run after all of them.
SHARED_DEPLOYMENT = {
    "test_active_active.py",
    "test_add_region.py",
    "test_api_security_deployed.py",
    "test_chaos.py",
    "test_gateway_deployed.py",
    "test_local_deploy.py",
    "test_pipeline_roles.py",
    "test_pipeline_smoke_deployed.py",
}
# Of those, the drills: a work unit of their own, with a deployment of their own at a small
# TIME_SCALE (``local_drills``), so that two of make test's workers each deploy the stack once
# and share the e2e time.
DRILLS = {"test_active_active.py", "test_chaos.py"}
# The modules that read the run's one bootstrap apply (the ``bootstrap_applied`` fixture): a
# work unit, so that it is applied once, on one worker; in this order (the second plan and the
# refused destroy before the role tests add a table and a zone).
BOOTSTRAP_APPLIED = ("test_bootstrap_apply.py", "test_bootstrap_enforced.py")
# The cdktf CLI route is one test of ~4 minutes, most of it the provider's waits. Alone in its
# unit it leaves its worker with one test, and the scheduler (which hands a worker its next
# unit once two tests or fewer are left) queued the next long unit behind it at once (the
# bootstrap apply: 233 s + 87 s on one worker while two others had finished at 230 s). With
# terraform validate's tests (CPU while the route waits) its worker takes nothing else until
# both are nearly done.
CLI_ROUTE = ("test_cdktf_cli.py", "test_validate.py")
# The shared deployment's last tests, in this order: the deploy role destroys the stack, the
# roles' used-versus-granted report covers the whole run, destroy included, then nothing of the
# stack is left in the emulator. They go to the end of the whole collection, and so of
# whichever worker runs them.
DESTROYS_SHARED = (
    "test_pipeline_roles.py::test_the_deploy_role_destroys_the_stack",
    "test_pipeline_roles.py::test_what_each_role_is_granted_and_never_used_in_this_run_is_listed_with_a_reason",
    "test_local_deploy.py::test_destroy_leaves_nothing",
)
# The longest work units first (scopes as the scheduler names them; the times of
# `--durations` on the slow tests), so that neither worker is left with a long one at the end;
# every other module follows in collection order. The scheduler gives a worker its next unit
# once it has two tests or fewer left: with make test's five workers the CLI route with
# terraform validate, the shared deployment, the drills' deployment, the fast-path tests and the
# traffic-policy deployment start at once; the bootstrap apply goes to the first of them to end.
LONGEST_FIRST = (
    "cli_route",
    "shared_deployment",
    "shared_deployment_drills",
    "tests/test_aws_fast_path.py",
    "tests/e2e/test_traffic_policy_deployed.py",
    "bootstrap_applied",
    "tests/ops/test_real_deploy_failure.py",
    # the longest of make test-fast
    "tests/functions/test_items_properties.py",
    "tests/synth/test_stack.py",
    "tests/local/iam/test_enforcement.py",
)


def module_name(nodeid: str) -> str:
    """``test_x.py`` of ``tests/e2e/test_x.py::test_y``."""
    return nodeid.split("::", 1)[0].rsplit("/", 1)[-1]


def work_unit(nodeid: str) -> str:
    """The scheduler's unit: the shared deployment's modules are two (the drills and the
    rest), the bootstrap apply's readers one, the CLI route and terraform validate one, every
    other module is one."""
    path = nodeid.split("::", 1)[0]
    name = module_name(nodeid)
    if name in DRILLS:
        return "shared_deployment_drills"
    if name in BOOTSTRAP_APPLIED:
        return "bootstrap_applied"
    if name in CLI_ROUTE:
        return "cli_route"
    return "shared_deployment" if name in SHARED_DEPLOYMENT else path


def run_order(nodeid: str) -> tuple[int, int]:
    last = [n for n, suffix in enumerate(DESTROYS_SHARED, 1) if nodeid.endswith(suffix)]
    if last:
        return len(LONGEST_FIRST) + 1, last[0]
    unit, name = work_unit(nodeid), module_name(nodeid)
    within = BOOTSTRAP_APPLIED.index(name) if name in BOOTSTRAP_APPLIED else 0
    return (LONGEST_FIRST.index(unit) if unit in LONGEST_FIRST else len(LONGEST_FIRST)), within


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest units first, and the shared deployment destroyed after its last reader (a
    stable sort: every other test keeps its place)."""
    items.sort(key=lambda item: run_order(item.nodeid))


def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """make test's workers: each test module runs whole on one worker (a module-scoped
    deployment, emulator or bootstrap apply is made once, wherever the module lives), and the
    SHARED_DEPLOYMENT modules in two units (work_unit), each deploying once on its worker; units
    go out in collection order (xdist's reordering by test count is off:
    pytest_collection_modifyitems puts the longest first). (xdist's own
    ``loadgroup`` renames node ids, which pytest 9 no longer lets a plugin do.)"""
    from xdist.scheduler import LoadScopeScheduling

    class DeploymentScopes(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

    config.option.loadscopereorder = False
    return DeploymentScopes(config, log)


# Variants that the environment files do not cover: weighted routing, no domain, three
# regions with failover rejected elsewhere, AWS-owned encryption, us-east-1 not a region, and
# API Gateway's account settings left to another environment; a Route53 traffic policy over three
# regions with failover inside each region's rule.
VARIANTS = {
    "weighted": {
        "project": "items",
        "regions": ["eu-west-1", "us-west-2", "ap-northeast-1"],
        "allowed_account_ids": ["444444444444"],
        "domain": {"zone_name": "example.org", "record_name": "api.weighted.example.org"},
        "routing": {"mode": "weighted", "weights": {"eu-west-1": 50, "us-west-2": 30, "ap-northeast-1": 20}},
        "table": {"encryption": "aws_owned"},
        "auth": {
            "issuer": "https://login.example.org/tenant/v2.0",
            "audience": "api://items",
            "jwks_url": "https://login.example.org/tenant/keys",
        },
        "waf": {"enabled": True, "rate_limit": 500},
        "api": {"cors_origins": ["https://a.example.org", "https://b.example.org"]},
    },
    "trafficpolicy": {
        "project": "items",
        "regions": ["eu-west-1", "us-west-2", "ap-southeast-2"],
        "allowed_account_ids": ["666666666666"],
        "domain": {"zone_name": "example.net", "record_name": "api.flow.example.net"},
        "routing": {"mode": "traffic-policy", "failover_within_region": True},
        "auth": {
            "issuer": "https://login.example.net/tenant/v2.0",
            "audience": "api://items",
            "jwks_url": "https://login.example.net/tenant/keys",
        },
    },
    "nodomain": {
        "project": "items",
        "regions": ["eu-west-1", "eu-central-1"],
        "allowed_account_ids": ["555555555555"],
        "table": {"encryption": "aws_managed"},
        "auth": {"public": True},
        # Another environment of the account sets API Gateway's CloudWatch role.
        "api": {"manage_account_settings": False},
    },
}


def variant_configs():
    return [parse_environment(raw, environment=name, source=f"<variant {name}>") for name, raw in VARIANTS.items()]


@pytest.fixture(scope="session")
def environment_configs():
    return {c.environment: c for c in load_environments(PROJECT_DIR / "environments")}


@pytest.fixture(scope="session")
def all_configs(environment_configs):
    return {**environment_configs, **{c.environment: c for c in variant_configs()}}


@pytest.fixture(scope="session")
def app(all_configs, tmp_path_factory):
    """One cdktf App with a stack per environment and variant, for the whole session."""
    import main

    return main.build_app(list(all_configs.values()), outdir=str(tmp_path_factory.mktemp("cdktf.out")))


@pytest.fixture(scope="session")
def synthesized_dir(app):
    """The app synthesized to disk (its ``stacks/<name>/cdk.tf.json``), once per session."""
    app.synth()
    return Path(app.outdir)


def made_once_per_run(request: pytest.FixtureRequest, name: str, make):
    """``make()``'s result (JSON text), made by the first of the run's xdist workers that asks
    for it and read from a file by the others: a whole-app synth costs each worker seconds of
    CPU (the binding, a node process, every stack), and the result is the same on each."""
    if not hasattr(request.config, "workerinput"):
        return make()  # one process: nothing to share
    import fcntl

    # The run's own directory, shared by its workers (pytest-N/, the parent of popen-gwN/).
    root = request.getfixturevalue("tmp_path_factory").getbasetemp().parent
    path = root / f"{name}.json"
    with (root / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.is_file():
            text = make()
            path.with_suffix(".tmp").write_text(text, encoding="utf-8")
            path.with_suffix(".tmp").replace(path)
    return path.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def synthesized(request, all_configs):
    """environment name -> parsed Terraform JSON of its stack (Testing.synth of the ``app``
    fixture's stacks), synthesized once per run."""

    def make() -> str:
        from cdktf import Testing

        app = request.getfixturevalue("app")
        return json.dumps({name: Testing.synth(app.node.find_child(c.stack_name)) for name, c in all_configs.items()})

    return {
        name: json.loads(text) for name, text in json.loads(made_once_per_run(request, "synthesized", make)).items()
    }


@pytest.fixture(scope="session")
def bootstrap_synthesized(request, environment_configs, tmp_path_factory):
    """The bootstrap stack's parsed ``cdk.tf.json`` as ``BACKEND_ENVIRONMENTS=bootstrap python
    main.py`` writes it (every environment file, delivery.toml), synthesized in this process once
    per run instead of in a subprocess per module (tests/delivery/test_bootstrap_synth.py's
    slow test shows the two are equal). Read it, never change it: modules share it."""

    def make() -> str:
        from cdktf import App

        import main
        from modules.bootstrap.delivery import load_delivery
        from modules.bootstrap.stack import add_bootstrap

        outdir = tmp_path_factory.mktemp("bootstrap.out")
        scratch = App(outdir=str(outdir))
        delivery = load_delivery(PROJECT_DIR / "delivery.toml")
        add_bootstrap(scratch, list(environment_configs.values()), delivery, PROJECT_DIR, main.build_app)
        scratch.synth()
        return (outdir / "stacks" / "bootstrap" / "cdk.tf.json").read_text(encoding="utf-8")

    return json.loads(made_once_per_run(request, "bootstrap", make))


@pytest.fixture(scope="session")
def bootstrap_applied(tmp_path_factory, terraform_bin, synthesized, environment_configs):
    """The bootstrap stack for dev, staging and prod, applied once per run (tests/bootstrap_applied.py)."""
    from tests.bootstrap_applied import apply

    yield from apply(tmp_path_factory.mktemp("bootstrap"), synthesized, environment_configs)


@pytest.fixture(scope="session")
def terraform_bin():
    binary = shutil.which("terraform")
    if binary is None:
        from ops.terraform import INSTALL_HINT

        if IN_CI:
            pytest.fail(f"terraform not found on PATH and CI is set: {INSTALL_HINT}")
        pytest.skip(f"terraform not found on PATH. {INSTALL_HINT}")
    return binary


@pytest.fixture(scope="module")
def server():
    """moto's server on 127.0.0.1 (tests/local/moto_server.py), one per test module that asks:
    the replicator, router, alarm evaluator and chaos fault tests read it with their own clients."""
    from tests.local.moto_server import moto_server  # moto's server only where a module asks

    with moto_server() as url:
        yield url
