"""`make down` stops its processes all at once: six that each take 1.5 s to exit after
SIGTERM (as the replicator and the router finish their loop) are stopped in under 3 s."""

from __future__ import annotations

import sys
import time

from local import emulator as emu
from ops import deploy

SLOW_EXIT = (
    "import signal, sys, time\n"
    "signal.signal(signal.SIGTERM, lambda *_: (time.sleep(1.5), sys.exit(0)))\n"
    "while True: time.sleep(0.1)\n"
)


def _slow(state_dir, name):
    proc = emu.spawn([sys.executable, "-c", SLOW_EXIT], state_dir / f"{name}.log")
    return proc


def test_down_stops_every_process_in_parallel(tmp_path, capsys):
    state_dir = tmp_path / ".emulator"
    state = emu.RunState(state_dir / "state.json")
    procs = {name: _slow(state_dir, name) for name in ("emulator", "issuer", "gw1", "gw2", "replicator", "router")}
    time.sleep(0.5)  # their handlers are installed
    state.emulator_pid, state.emulator_port = procs["emulator"].pid, 1
    state.issuer = {"pid": procs["issuer"].pid}
    state.apis = {"eu-west-1": {"pid": procs["gw1"].pid}, "eu-central-1": {"pid": procs["gw2"].pid}}
    state.processes = {"replicator": {"pid": procs["replicator"].pid}, "router": {"pid": procs["router"].pid}}
    state.save()
    started = time.monotonic()
    stopped = deploy.down(state_dir)
    elapsed = time.monotonic() - started
    assert len(stopped) == 6, stopped
    assert all(proc.poll() is not None for proc in procs.values())
    assert elapsed < 3.0, f"down took {elapsed:.1f} s"
    assert "stopped: replicator (pid" in capsys.readouterr().out
    assert not state_dir.exists()
