"""One local deployment per e2e test module: `make deploy`'s flow into a temporary folder,
everything it started stopped afterwards."""

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


def deploy_for_module(tmp_path_factory) -> LocalDeployment:
    config = deploy.load_config("local")
    root = tmp_path_factory.mktemp("local")
    state_dir = root / ".emulator"
    out = io.StringIO()
    try:
        deployment = deploy.deploy_local(config, root / "cdktf.out", state_dir, out=out)
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
