"""The fixtures every e2e module shares. ``local`` is one deployment, applied as the pipeline's
roles at a small TIME_SCALE, for the modules in tests/conftest.py's SHARED_DEPLOYMENT: they
read it or put back what they change (one pytest-xdist worker runs them all, so they share
it), and the two tests that destroy it run last (tests/conftest.py's ordering). It is stopped
at the end of the session, destroyed or not."""

from __future__ import annotations

import pytest

from local import deployment_file
from tests.e2e.local_deployment import LocalDeployment, deploy_shared, stop


@pytest.fixture(scope="session")
def local(tmp_path_factory, terraform_bin):
    deployed = deploy_shared(tmp_path_factory)
    yield deployed
    stop(deployed)


@pytest.fixture(scope="module")
def described(local: LocalDeployment) -> dict:
    """The deployment file `make deploy` wrote, read as scripts read it."""
    return deployment_file.load(local.state_dir / "deployment.json")
