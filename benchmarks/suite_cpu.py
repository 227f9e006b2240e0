"""Where a command's CPU goes, by process: runs the command, reads every process's CPU time
from /proc every 0.3 s while it runs, and prints the CPU seconds of each kind of process it
started (Terraform by subcommand, the AWS provider, node, each Python module or script), the
total and the wall time. Linux only; a process that lives less than one sample is missed, so
the total is a lower bound. How docs/measurements.md split `make test`'s time:

    .venv/bin/python -m benchmarks.suite_cpu -- make test
"""

from __future__ import annotations

import argparse
import collections
import os
import subprocess
import sys
import time
from pathlib import Path

PROC = Path("/proc")
SAMPLE_S = 0.3
TICKS = os.sysconf("SC_CLK_TCK")


def kind(argv: list[str]) -> str:
    """A process's kind, from its command line."""
    if not argv:
        return "(no command line)"
    exe = Path(argv[0]).name
    if exe.startswith("terraform-provider-"):
        return exe.split("_", 1)[0]
    if exe == "terraform":
        return f"terraform {argv[1] if len(argv) > 1 else ''}".strip()
    if "python" in exe:
        return python_kind(argv[1:])
    return exe


def python_kind(args: list[str]) -> str:
    if "-m" in args[:-1]:
        module = args[args.index("-m") + 1]
        return "pytest (main process)" if module in {"pytest", "xdist"} else f"python -m {module}"
    if "-c" in args[:-1]:
        code = args[args.index("-c") + 1]
        return "pytest-xdist worker" if "execnet" in code or "exec(" in code else "python -c ..."
    return f"python {Path(args[0]).name}" if args else "python"


def cpu_seconds(stat: str) -> float:
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def descendants(root: int, parents: dict[int, int]) -> set[int]:
    found, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in found]
        found.update(children)
        frontier.extend(children)
    return found


def sample(root: int, seen: dict[tuple[int, str], list]) -> None:
    """Every process under ``root`` (started-at distinguishes reused pids): its kind and CPU."""
    stats, parents = {}, {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        pid = int(entry.name)
        stats[pid] = stat
        parents[pid] = int(stat.rsplit(")", 1)[1].split()[1])
    for pid in descendants(root, parents):
        started = stats[pid].rsplit(")", 1)[1].split()[19]
        key = (pid, started)
        if key not in seen:
            try:
                argv = [arg for arg in (PROC / str(pid) / "cmdline").read_text().split("\0") if arg]
            except OSError:
                continue
            seen[key] = [kind(argv), 0.0]
        seen[key][1] = cpu_seconds(stats[pid])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="CPU seconds of a command's processes, by kind.")
    parser.add_argument("command", nargs="+", help="the command, after --")
    args = parser.parse_args(argv)
    seen: dict[tuple[int, str], list] = {}
    started = time.monotonic()
    proc = subprocess.Popen(args.command)
    while proc.poll() is None:
        sample(proc.pid, seen)
        time.sleep(SAMPLE_S)
    wall = time.monotonic() - started
    by_kind: collections.Counter[str] = collections.Counter()
    for name, seconds in seen.values():
        by_kind[name] += seconds
    for name, seconds in by_kind.most_common():
        if seconds >= 0.1:
            print(f"{seconds:8.1f} s  {name}")
    print(f"{sum(by_kind.values()):8.1f} s  CPU in all (processes seen), {wall:.1f} s wall, exit {proc.returncode}")
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
