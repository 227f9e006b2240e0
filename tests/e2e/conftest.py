"""The fixtures every e2e module shares. ``local`` is one deployment for the modules that
only read it or put back what they change (tests/conftest.py's SHARED_DEPLOYMENT: one
pytest-xdist worker runs them all, so they share it), stopped at the end of the session. A
module that deploys differently or destroys (test_active_active: TIME_SCALE;
test_local_deploy: destroy) defines its own module-scoped ``local``."""

from __future__ import annotations

import pytest

from local import deployment_file
from tests.e2e.local_deployment import LocalDeployment, deploy_for_module, stop


@pytest.fixture(scope="session")
def local(tmp_path_factory, terraform_bin):
    deployed = deploy_for_module(tmp_path_factory)
    yield deployed
    stop(deployed)


@pytest.fixture(scope="module")
def described(local: LocalDeployment) -> dict:
    """The deployment file `make deploy` wrote, read as scripts read it."""
    return deployment_file.load(local.state_dir / "deployment.json")
