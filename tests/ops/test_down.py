"""`make down` stops its processes all at once: six that each take 1.5 s to exit after
SIGTERM (as the replicator and the router finish their loop) are stopped in under 3 s, and a
Ctrl-C meanwhile does not cut it short."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import TYPE_CHECKING

from local import emulator as emu
from ops import deploy

if TYPE_CHECKING:
    from pathlib import Path

SLOW_EXIT = (
    "import signal, sys, time\n"
    "signal.signal(signal.SIGTERM, lambda *_: (print('terminating', flush=True), time.sleep(1.5), sys.exit(0)))\n"
    "while True: time.sleep(0.1)\n"
)
NAMES = ("emulator", "issuer", "gw1", "gw2", "replicator", "router")


def slow_deployment(state_dir: Path) -> dict[str, subprocess.Popen]:
    """Six processes recorded in a deployment's state.json as make deploy records them."""
    procs = {name: emu.spawn([sys.executable, "-c", SLOW_EXIT], state_dir / f"{name}.log") for name in NAMES}
    time.sleep(0.5)  # their handlers are installed
    state = emu.RunState(state_dir / "state.json")
    state.emulator_pid, state.emulator_port = procs["emulator"].pid, 1
    state.issuer = {"pid": procs["issuer"].pid}
    state.apis = {"eu-west-1": {"pid": procs["gw1"].pid}, "eu-central-1": {"pid": procs["gw2"].pid}}
    state.processes = {"replicator": {"pid": procs["replicator"].pid}, "router": {"pid": procs["router"].pid}}
    state.save()
    return procs


def test_down_stops_every_process_in_parallel(tmp_path, capsys):
    state_dir = tmp_path / ".emulator"
    procs = slow_deployment(state_dir)
    started = time.monotonic()
    stopped = deploy.down(state_dir)
    elapsed = time.monotonic() - started
    assert len(stopped) == 6, stopped
    assert all(proc.poll() is not None for proc in procs.values())
    assert elapsed < 3.0, f"down took {elapsed:.1f} s"
    assert "stopped: replicator (pid" in capsys.readouterr().out
    assert not state_dir.exists()


ORPHANS = (
    "import sys\n"
    "from pathlib import Path\n"
    "from local import emulator as emu\n"
    "for name in sys.argv[2:]:\n"
    "    proc = emu.spawn([sys.executable, '-c', 'import time; time.sleep(120)'], Path(sys.argv[1]) / f'{name}.log')\n"
    "    print(proc.pid)\n"
)


def test_servers_whose_deploy_has_exited_are_stopped_at_once(tmp_path):
    """After `make deploy` exits, its servers' parent is init, which may reap them a second or
    more after they exit: down does not wait for that (zombies are stopped processes)."""
    state_dir = tmp_path / ".emulator"
    spawned = subprocess.run(
        [sys.executable, "-c", ORPHANS, str(state_dir), *NAMES],
        cwd=deploy.PROJECT_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    pids = dict(zip(NAMES, map(int, spawned.stdout.split()), strict=True))
    state = emu.RunState(state_dir / "state.json", emulator_pid=pids["emulator"], emulator_port=1)
    state.issuer = {"pid": pids["issuer"]}
    state.apis = {"eu-west-1": {"pid": pids["gw1"]}, "eu-central-1": {"pid": pids["gw2"]}}
    state.processes = {"replicator": {"pid": pids["replicator"]}, "router": {"pid": pids["router"]}}
    state.save()
    started = time.monotonic()
    assert len(deploy.down(state_dir, quiet=True)) == 6
    elapsed = time.monotonic() - started
    assert not [pid for pid in pids.values() if emu.pid_alive(pid)]
    assert elapsed < 1.0, f"down took {elapsed:.2f} s for processes that exit at once"


def test_ctrl_c_during_make_down_lets_it_finish_then_says_so(tmp_path):
    """SIGINT to the process group of `python -m ops.deploy --down` while the processes are
    exiting: every one is still stopped, one line says so, exit 130."""
    state_dir = tmp_path / ".emulator"
    procs = slow_deployment(state_dir)
    down = subprocess.Popen(
        [sys.executable, "-m", "ops.deploy", "--down", "--root", str(tmp_path)],
        cwd=deploy.PROJECT_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own group, as a terminal's foreground job
    )
    deadline = time.monotonic() + 30
    while "terminating" not in _log(state_dir / "router.log") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert all(proc.poll() is None for proc in procs.values()), "down finished before the interrupt"
    os.killpg(down.pid, signal.SIGINT)
    _, err = down.communicate(timeout=30)
    assert down.returncode == 130, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("interrupted during down: stopped "), err
    assert lines[0].endswith("make down finished first, so nothing is left running")
    assert all(proc.poll() is not None for proc in procs.values())
    assert not state_dir.exists()


def _log(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""
