"""The e2e modules' local deployments: `make deploy`'s default flow (Terraform as the
pipeline's roles) into a temporary folder at a given TIME_SCALE, everything it started stopped
afterwards."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

from local import emulator
from ops import deploy

if TYPE_CHECKING:
    from pathlib import Path


@dataclass
class LocalDeployment:
    config: object
    deployment: deploy.Deployment
    state: emulator.RunState
    state_dir: Path
    env: dict[str, str]
    printed: str


# The drills' deployment: Route53's 30 s interval becomes 0.6 s, three failures mark a region
# unhealthy in ~2 s (the failover drill and the chaos experiments need it; TIME_SCALE changes
# nothing else). The readers' deployment runs at `make deploy`'s own scale, 1: nothing they
# check waits on a health status, and a check every 30 s instead of every 0.6 s leaves the
# machine's CPU to the other workers (and a slow answer under load cannot take a region out).
TIME_SCALE = "0.02"
READERS_TIME_SCALE = "1"


def deploy_shared(tmp_path_factory, time_scale: str = TIME_SCALE) -> LocalDeployment:
    """`make deploy` as the pipeline's roles (the bootstrap applied with the root keys, the plan
    role plans, the deploy role applies), the router started with ``time_scale``."""
    config = deploy.load_config("local")
    root = tmp_path_factory.mktemp("local")
    state_dir = root / ".emulator"
    out = io.StringIO()
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("TIME_SCALE", time_scale)  # the router started by the deploy inherits it
            deployment = deploy.deploy_local(config, root / "cdktf.out", state_dir, out=out, as_roles=True)
    except Exception as err:
        logs = "\n".join(
            f"--- {log.name} (last 40 lines)\n" + "\n".join(log.read_text(errors="replace").splitlines()[-40:])
            for log in sorted(state_dir.glob("*.log"))
        )
        pytest.fail(f"deploy failed: {err}\n--- progress\n{out.getvalue()}\n{logs}", pytrace=False)
    state = emulator.RunState.load(state_dir / "state.json")
    return LocalDeployment(config, deployment, state, state_dir, deploy.emulator_env(state, state_dir), out.getvalue())


def stop(local: LocalDeployment) -> None:
    deploy.stop_processes(local.state)
    pids = [local.state.emulator_pid] + [gateway["pid"] for gateway in local.state.apis.values()]
    pids += [process["pid"] for process in local.state.processes.values()]
    assert not [pid for pid in pids if emulator.pid_alive(pid)], "a process the test started is still running"
