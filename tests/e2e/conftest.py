"""The fixtures every e2e module shares. ``local`` is one deployment per session (per
pytest-xdist worker), applied as the pipeline's roles at a small TIME_SCALE, for the modules in
tests/conftest.py's SHARED_DEPLOYMENT: they read it or put back what they change. make test
runs them as two work units, so each of its two workers deploys once; the two tests that
destroy it run after every other test (tests/conftest.py's ordering). It is stopped at the end
of the session, destroyed or not."""

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
def described(local: LocalDeployment) -> deployment_file.Deployment:
    """The deployment file `make deploy` wrote, read as scripts read it."""
    return deployment_file.load(local.state_dir / "deployment.json")
