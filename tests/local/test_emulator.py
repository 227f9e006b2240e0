"""The emulator starts on loopback and `down` stops everything a deployment left running."""

from __future__ import annotations

import socket
import sys

import pytest

from local import emulator
from ops import deploy


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.timeout(120)
def test_emulator_serves_on_loopback_and_down_stops_everything(tmp_path):
    state_dir = tmp_path / ".emulator"
    proc, port = emulator.start_emulator(state_dir)
    helper = emulator.spawn([sys.executable, "-c", "import time; time.sleep(120)"], state_dir / "helper.log")
    state = emulator.RunState(state_dir / "state.json", proc.pid, port, {"eu-west-1": {"pid": helper.pid}})
    state.save()
    tf_state = tmp_path / "state" / "backend-local.tfstate"
    tf_state.parent.mkdir()
    tf_state.write_text("{}")
    (tmp_path / "state" / "backend-local.tfstate.backup").write_text("{}")
    try:
        assert port_open(port)
        emulator.wait_for_http(f"http://127.0.0.1:{port}/moto-api/", 5)
        stopped = deploy.down(state_dir, tf_state, quiet=True)
        assert len(stopped) == 2
        assert not emulator.pid_alive(proc.pid) and not emulator.pid_alive(helper.pid)
        assert not port_open(port)
        assert not state_dir.exists() and list((tmp_path / "state").iterdir()) == []
        assert deploy.down(state_dir, tf_state, quiet=True) == []  # idempotent
    finally:
        emulator.stop_pid(proc.pid)
        emulator.stop_pid(helper.pid)
