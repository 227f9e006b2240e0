"""The fixtures every e2e module shares. ``local`` is one deployment per session (per
pytest-xdist worker), applied as the pipeline's roles, for the modules in tests/conftest.py's
SHARED_DEPLOYMENT: they read it or put back what they change. The drills (tests/conftest.py's
DRILLS) take ``local_drills`` instead, a deployment of their own at a small TIME_SCALE (their
health checks every 0.6 s); the readers' runs at TIME_SCALE 1. make test runs them as two work
units, so each deployment is made once, on its worker; the tests that destroy ``local`` run
after every other test (tests/conftest.py's ordering). Both are stopped at the end of the
session, destroyed or not."""

from __future__ import annotations

import pytest

from local import deployment_file
from tests.e2e.local_deployment import READERS_TIME_SCALE, TIME_SCALE, LocalDeployment, deploy_shared, stop


@pytest.fixture(scope="session")
def local(tmp_path_factory, terraform_bin):
    deployed = deploy_shared(tmp_path_factory, READERS_TIME_SCALE)
    yield deployed
    stop(deployed)


@pytest.fixture(scope="session")
def local_drills(tmp_path_factory, terraform_bin):
    deployed = deploy_shared(tmp_path_factory, TIME_SCALE)
    yield deployed
    stop(deployed)


@pytest.fixture(scope="module")
def described(local: LocalDeployment) -> deployment_file.Deployment:
    """The deployment file `make deploy` wrote, read as scripts read it."""
    return deployment_file.load(local.state_dir / "deployment.json")
