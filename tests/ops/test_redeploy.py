"""`make deploy` over a running local deployment refuses, says why and how to go on, and
leaves the running one (its processes and its state) untouched."""

from __future__ import annotations

import sys

from local import emulator as emu
from ops import deploy


def test_a_second_deploy_refuses_and_keeps_the_running_one(tmp_path, capsys):
    state_dir = tmp_path / ".emulator"
    running = emu.spawn([sys.executable, "-c", "import time; time.sleep(60)"], state_dir / "moto.log")
    try:
        state = emu.RunState(state_dir / "state.json", emulator_pid=running.pid, emulator_port=4566)
        state.processes = {"router": {"pid": None, "url": "http://127.0.0.1:4999"}}
        state.save()
        assert deploy.main(["--root", str(tmp_path)]) == 1
        error = capsys.readouterr().err
        assert (
            f"a local deployment is already running (emulator pid {running.pid}, global URL http://127.0.0.1:4999"
            in error
        )
        assert "make down" in error and "make deploy REPLACE=1" in error
        assert running.poll() is None, "the running deployment was stopped"
        assert (state_dir / "state.json").exists()
    finally:
        emu.stop_pid(running.pid)


def test_a_stopped_deployment_is_not_in_the_way(tmp_path):
    state_dir = tmp_path / ".emulator"
    gone = emu.spawn([sys.executable, "-c", "pass"], state_dir / "moto.log")
    gone.wait()
    emu.RunState(state_dir / "state.json", emulator_pid=gone.pid, emulator_port=4566).save()
    deploy.refuse_running(state_dir, tmp_path / deploy.CLI_STATE_DIR)  # no error: nothing runs


def _running_emulator(state_dir):
    proc = emu.spawn([sys.executable, "-c", "import time; time.sleep(60)"], state_dir / "moto.log")
    emu.RunState(state_dir / "state.json", emulator_pid=proc.pid, emulator_port=4566).save()
    return proc


def test_the_cli_route_and_make_deploy_never_share_the_state_file(tmp_path, capsys):
    """`make emulator` refuses while make deploy's deployment runs, and `make deploy` while
    make emulator's emulator runs: both would use state/backend-local.tfstate."""
    deployed = _running_emulator(tmp_path / ".emulator")
    try:
        assert deploy.main(["--root", str(tmp_path), "--emulator"]) == 1
        assert (
            "cdktf CLI would apply to the same Terraform state (state/backend-local.tfstate)" in capsys.readouterr().err
        )
        assert deployed.poll() is None and not (tmp_path / deploy.CLI_STATE_DIR).exists()
    finally:
        emu.stop_pid(deployed.pid)
    (tmp_path / ".emulator" / "state.json").unlink()
    cli = _running_emulator(tmp_path / deploy.CLI_STATE_DIR)
    try:
        assert deploy.main(["--root", str(tmp_path)]) == 1
        assert f"the cdktf CLI route's emulator is running (`make emulator`, pid {cli.pid}" in capsys.readouterr().err
        assert cli.poll() is None
    finally:
        emu.stop_pid(cli.pid)
