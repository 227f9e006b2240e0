"""Repeat the quick start as a new user meets it and report the success rate: for each run,
clone the repository into an empty directory, give it an empty home directory, run
``make deploy`` and then ``make down``, and check that nothing it started is left running.

    .venv/bin/python benchmarks/fresh_deploys.py [--runs 20] [--source .] [--logs DIR]
                                                 [--share-caches] [--tf-log]

``--share-caches`` lets the runs share pip's and npm's download caches (the first run fills
them), so a run measures the project's own setup rather than the network. Logs of every
failed run (the make output, the emulator's and Terraform's logs) are kept under ``--logs``;
``--tf-log`` adds Terraform's debug log (TF_LOG=debug, which slows the apply a little).
A run has a hard timeout (``--timeout``, default 900 s); it stops itself and everything it
started.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
# What a new user's shell passes on; everything else (AWS_*, TF_*, caches) stays behind.
PASSED_VARIABLES = (
    "PATH",
    "LANG",
    "LC_ALL",
    "TERM",
    "TZ",
    "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL",
    "TF_PROVIDER_MIRROR",
)
SMOKE_LINE = re.compile(r"checked\s+(\d+)/(\d+) smoke checks passed")
TIME_LINE = re.compile(r"^\s+time\s+(.*)$", re.MULTILINE)


@dataclass
class Run:
    index: int
    ok: bool
    seconds: float
    detail: str
    phases: str = ""


def clean_env(home: Path, caches: Path | None, tf_log: Path | None) -> dict[str, str]:
    env = {name: os.environ[name] for name in PASSED_VARIABLES if name in os.environ}
    env["HOME"] = str(home)
    if tf_log is not None:
        env.update(TF_LOG="debug", TF_LOG_PATH=str(tf_log))
    if caches is not None:
        env["PIP_CACHE_DIR"] = str(caches / "pip")
        env["npm_config_cache"] = str(caches / "npm")
    return env


def run_make(target: str, cwd: Path, env: dict[str, str], timeout: float, log: Path) -> tuple[int, str]:
    """``make <target>`` in its own process group, output to ``log``; on timeout the whole
    group is stopped and the return code is -9."""
    with Path(log).open("wb") as out:
        proc = subprocess.Popen(
            ["make", target],
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            code = -9
    return code, log.read_text(errors="replace")


def leftover_pids(state_file: Path) -> list[int]:
    """Processes recorded by the deployment that are still alive."""
    if not state_file.exists():
        return []
    state = json.loads(state_file.read_text())
    pids = [state.get("emulator_pid")] + [entry.get("pid") for entry in state.get("apis", {}).values()]
    alive = []
    for pid in filter(None, pids):
        try:
            os.kill(pid, 0)
            alive.append(pid)
        except ProcessLookupError:
            pass
    return alive


def one_run(index: int, source: Path, logs: Path, caches: Path | None, timeout: float, tf_log: bool) -> Run:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="fresh-deploy-") as tmp:
        root = Path(tmp)
        repo, home = root / "repo", root / "home"
        home.mkdir()
        subprocess.run(["git", "clone", "--quiet", str(source), str(repo)], check=True)
        env = clean_env(home, caches, root / "terraform-debug.log" if tf_log else None)
        code, output = run_make("deploy", repo, env, timeout, root / "deploy.log")
        recorded = (
            json.loads((repo / ".emulator/state.json").read_text()) if (repo / ".emulator/state.json").exists() else {}
        )
        down_code, _ = run_make("down", repo, env, 120, root / "down.log")
        state_copy = root / "state.json"
        state_copy.write_text(json.dumps(recorded))
        left = leftover_pids(state_copy)
        seconds = time.monotonic() - started
        smoke = SMOKE_LINE.search(output)
        passed = smoke is not None and smoke.group(1) == smoke.group(2) != "0"
        ok = code == 0 and passed and down_code == 0 and not left
        detail = (
            "ok"
            if ok
            else f"deploy exit {code}, smoke {smoke.group(0) if smoke else 'not reached'}, "
            f"down exit {down_code}, left running {left}"
        )
        timing = TIME_LINE.search(output)
        if not ok:
            kept = logs / f"run-{index:02d}"
            kept.mkdir(parents=True, exist_ok=True)
            for log in (root / "deploy.log", root / "terraform-debug.log"):
                if log.exists():
                    shutil.copy(log, kept)
            for folder in (repo / ".emulator", repo / "build" / "logs"):
                for log in folder.glob("*.log") if folder.exists() else ():
                    shutil.copy(log, kept / log.name)
            detail += f" (logs: {kept})"
        for pid in left:
            os.kill(pid, signal.SIGKILL)
    return Run(index, ok, seconds, detail, timing.group(1) if timing else "")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--source", type=Path, default=PROJECT_DIR, help="repository to clone (default: this one)")
    parser.add_argument("--logs", type=Path, default=PROJECT_DIR / "build" / "fresh-deploys")
    parser.add_argument("--share-caches", action="store_true", help="share pip and npm download caches between runs")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds one `make deploy` may take")
    parser.add_argument("--tf-log", action="store_true", help="keep Terraform's debug log of failed runs")
    args = parser.parse_args()
    caches = Path(tempfile.mkdtemp(prefix="fresh-deploy-caches-")) if args.share_caches else None
    runs: list[Run] = []
    try:
        for index in range(1, args.runs + 1):
            run = one_run(index, args.source.resolve(), args.logs, caches, args.timeout, args.tf_log)
            runs.append(run)
            print(
                f"run {index:2d}/{args.runs}: {'ok  ' if run.ok else 'FAIL'} {run.seconds:6.1f} s  "
                f"{run.phases if run.ok else run.detail}",
                flush=True,
            )
    finally:
        if caches is not None:
            shutil.rmtree(caches, ignore_errors=True)
    succeeded = [r for r in runs if r.ok]
    print(
        f"fresh-clone `make deploy` + `make down`: {len(succeeded)}/{len(runs)} succeeded on "
        f"{os.cpu_count()} CPUs"
        + (
            f"; time per run median {statistics.median(r.seconds for r in runs):.0f} s, "
            f"max {max(r.seconds for r in runs):.0f} s"
            if runs
            else ""
        )
    )
    return 0 if runs and len(succeeded) == len(runs) else 1


if __name__ == "__main__":
    sys.exit(main())
