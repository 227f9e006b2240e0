"""Ctrl-C leaves nothing behind: Terraform and its providers, the emulator and every server
a deployment started are stopped, the stale local state lock is removed, and one line says
what was stopped and how to resume (exit 130)."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from local import emulator as emu
from ops import deploy
from ops import terraform as tf

PROJECT_DIR = Path(__file__).resolve().parents[2]


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def descendants(pid: int) -> set[int]:
    tree, found, todo = _children(), set(), [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def mentioning(root: Path) -> set[int]:
    """Processes whose command line or working directory is inside ``root``."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cwd = str((entry / "cwd").readlink())
        except OSError:
            continue
        if (str(root) in cmdline or cwd.startswith(str(root))) and emu.pid_alive(int(entry.name)):
            found.add(int(entry.name))
    return found


def test_report_removes_the_stale_local_lock_and_says_how_to_resume(tmp_path, capsys):
    state = tmp_path / "state" / "backend-local.tfstate"
    state.parent.mkdir()
    tf.local_lock_file(state).write_text("{}")
    args = argparse.Namespace(env="local", down=False)
    err = deploy.Interrupted("apply", ["terraform apply (pid 7) and its provider plugins", "emulator (pid 8)"])
    assert deploy.report_interrupt(err, args, state) == 130
    line = capsys.readouterr().err
    assert line.count("\n") == 1
    stopped = "stopped terraform apply (pid 7) and its provider plugins, emulator (pid 8)"
    assert f"interrupted during apply: {stopped}" in line
    assert f"removed the stale state lock {state.parent / '.backend-local.tfstate.lock.info'}" in line
    assert line.rstrip().endswith("run `make deploy` to start again")
    assert not tf.local_lock_file(state).exists()


@pytest.mark.terraform
@pytest.mark.e2e
def test_ctrl_c_during_apply_stops_every_process_of_the_deployment(tmp_path, terraform_bin):
    proc = subprocess.Popen(
        [sys.executable, "-m", "ops.deploy", "--root", str(tmp_path)],
        cwd=PROJECT_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own group, as a terminal's foreground job
    )
    seen: list[str] = []
    reader = threading.Thread(target=lambda: seen.extend(proc.stdout or []), daemon=True)
    reader.start()
    family: set[int] = set()
    try:
        deadline = time.monotonic() + 400
        while time.monotonic() < deadline and proc.poll() is None:
            family |= descendants(proc.pid)
            applying = any("] apply" in line for line in seen)  # the phase line, as root or as the roles
            if applying and _provider_running(family):
                break
            time.sleep(0.5)
        else:
            pytest.fail(f"the apply never started:\n{''.join(seen)}")
        time.sleep(3)  # resources are being created
        family |= descendants(proc.pid)
        os.killpg(proc.pid, signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    # make deploy applies as the pipeline's roles: the plan role plans, then the deploy role applies
    phase = "interrupted during apply as the pipeline's roles (the plan role plans, the deploy role applies): "
    assert len(lines) == 1 and lines[0].startswith(phase), stderr
    assert lines[0][len(phase) :].startswith(("stopped terraform plan", "stopped terraform apply")), stderr
    assert "emulator (pid" in lines[0] and "run `make deploy` to start again" in lines[0]
    assert "Traceback" not in stderr
    time.sleep(0.5)
    assert not [pid for pid in family if emu.pid_alive(pid)], "a process of the deployment survived"
    assert not mentioning(tmp_path), "a process still works in the test's state dir"
    assert not tf.local_lock_file(tmp_path / "state" / "backend-local.tfstate").exists()


def _provider_running(pids: set[int]) -> bool:
    for pid in pids:
        try:
            if b"terraform-provider-aws" in (Path("/proc") / str(pid) / "cmdline").read_bytes():
                return True
        except OSError:
            continue
    return False
