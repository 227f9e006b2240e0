"""The fixtures every e2e module shares. Module scope: each test module that asks for ``local``
gets its own deployment (its tests may change what is deployed), stopped after its last test.
A module that deploys differently (test_active_active: TIME_SCALE) defines its own ``local``."""

from __future__ import annotations

import pytest

from local import deployment_file
from tests.e2e.local_deployment import LocalDeployment, deploy_for_module, stop


@pytest.fixture(scope="module")
def local(tmp_path_factory, terraform_bin):
    deployed = deploy_for_module(tmp_path_factory)
    yield deployed
    stop(deployed)


@pytest.fixture(scope="module")
def described(local: LocalDeployment) -> dict:
    """The deployment file `make deploy` wrote, read as scripts read it."""
    return deployment_file.load(local.state_dir / "deployment.json")
