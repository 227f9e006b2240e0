#!/usr/bin/env python
"""Benchmark ``python main.py`` (all environments) with and without the AWS fast import path.

    .venv/bin/python benchmarks/synth.py [--runs N] [--interval SECONDS]

After --warmup uncounted pairs (default 1), runs alternate fast, full, fast, full, ...
(full = CDKTF_AWS_FULL_IMPORT=1), one at a time, each into its own temporary CDKTF_OUTDIR. Per run it reports:

* wall: seconds from starting ``python main.py`` until it has exited (the node jsii
  process is stopped and waited for at exit, so this includes its shutdown);
* peak tree RSS: the largest *sum* of RSS over main.py's process tree (python + the node
  jsii kernel + anything else it starts), sampled from /proc every --interval seconds
  (default 0.05); RSS counts shared library pages once per process, so it slightly
  overstates the true footprint, equally for both modes;
* python HWM / node HWM: each process's own peak RSS (VmHWM from /proc, exact up to the
  last sample before it exited);
* maxrss: ``getrusage(RUSAGE_CHILDREN).ru_maxrss`` of a fresh wrapper process, i.e. the
  largest single descendant's peak (kernel-exact, but a max, not a sum).

It then prints medians, the fast/full ratios, and whether the two modes synthesized
byte-identical output.
"""

from __future__ import annotations

import argparse
import filecmp
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
FULL_IMPORT_ENV = "CDKTF_AWS_FULL_IMPORT"
TARGET_RATIO = 0.30
PAGE = os.sysconf("SC_PAGE_SIZE")

# Fresh per run, so RUSAGE_CHILDREN covers exactly one main.py and its descendants.
WRAPPER = r"""
import json, resource, subprocess, sys, time
result_path, argv = sys.argv[1], sys.argv[2:]
start = time.perf_counter()
rc = subprocess.call(argv)
wall = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(result_path, "w") as handle:
    json.dump({"rc": rc, "wall": wall, "maxrss_kib": usage.ru_maxrss,
               "cpu": usage.ru_utime + usage.ru_stime}, handle)
"""


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            with (task / "children").open() as handle:
                kids.extend(int(k) for k in handle.read().split())
    except OSError:
        pass
    return kids


def _descendants(pid: int) -> list[int]:
    found, todo = [], _children(pid)
    while todo:
        child = todo.pop()
        found.append(child)
        todo.extend(_children(child))
    return found


def _rss_and_hwm(pid: int) -> tuple[str, int, int] | None:
    """(name, RSS bytes, VmHWM bytes) of a process, or None if it is gone."""
    try:
        with Path(f"/proc/{pid}/status").open() as handle:
            fields = dict(line.split(":", 1) for line in handle if ":" in line)
        name = fields["Name"].strip()
        rss = int(fields.get("VmRSS", "0 kB").split()[0]) * 1024
        hwm = int(fields.get("VmHWM", "0 kB").split()[0]) * 1024
        return name, rss, hwm
    except (OSError, KeyError, ValueError):
        return None


def run_once(mode: str, interval: float, outdir: Path, log: Path) -> dict:
    env = dict(os.environ)
    env.pop(FULL_IMPORT_ENV, None)
    env.pop("BACKEND_ENVIRONMENTS", None)  # every environment
    env["CDKTF_OUTDIR"] = str(outdir)
    env.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    if mode == "full":
        env[FULL_IMPORT_ENV] = "1"
    result_path = outdir.parent / f"{outdir.name}.json"
    command = [sys.executable, "-c", WRAPPER, str(result_path), sys.executable, str(PROJECT_DIR / "main.py")]
    peak_tree, hwm = 0, {"python": 0, "node": 0}
    with Path(log).open("w") as log_handle:
        wrapper = subprocess.Popen(command, cwd=PROJECT_DIR, env=env, stdout=log_handle, stderr=subprocess.STDOUT)
        while wrapper.poll() is None:
            total = 0
            for pid in _descendants(wrapper.pid):  # the wrapper itself is not counted
                info = _rss_and_hwm(pid)
                if info is None:
                    continue
                name, rss, peak = info
                total += rss
                key = "node" if name.startswith("node") else "python" if name.startswith("python") else name
                hwm[key] = max(hwm.get(key, 0), peak)
            peak_tree = max(peak_tree, total)
            time.sleep(interval)
    result = json.loads(result_path.read_text())
    text = log.read_text()
    result.update(
        mode=mode,
        peak_tree=peak_tree,
        hwm_python=hwm["python"],
        hwm_node=hwm["node"],
        fell_back="FastPathFallbackWarning" in text,
    )
    if result["rc"] != 0:
        sys.exit(f"{mode} run failed (exit {result['rc']}); output:\n{text}")
    return result


def _tree_differences(a: Path, b: Path) -> list[str]:
    """Relative paths that differ between two outdirs (missing on one side or not byte-equal)."""
    files_a = {str(p.relative_to(a)) for p in a.rglob("*") if p.is_file()}
    files_b = {str(p.relative_to(b)) for p in b.rglob("*") if p.is_file()}
    if not files_a:
        return ["<no output>"]
    return sorted(files_a ^ files_b) + sorted(
        name for name in files_a & files_b if not filecmp.cmp(a / name, b / name, shallow=False)
    )


def inputs_digest() -> str:
    """Digest of the app's inputs, to tell a real mismatch from files edited mid-benchmark."""
    digest = hashlib.sha256()
    paths = [PROJECT_DIR / "main.py"]
    for folder in ("modules", "functions", "environments"):
        paths += sorted(p for p in (PROJECT_DIR / folder).rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    for path in paths:
        if path.exists():
            digest.update(str(path.relative_to(PROJECT_DIR)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def mib(value: float) -> str:
    return f"{value / 2**20:,.0f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per mode (default 3)")
    parser.add_argument("--warmup", type=int, default=1, help="uncounted fast+full pairs first (default 1)")
    parser.add_argument("--interval", type=float, default=0.05, help="RSS sampling interval, s")
    args = parser.parse_args()
    if not (PROJECT_DIR / "main.py").exists():
        return print(f"no {PROJECT_DIR / 'main.py'}", file=sys.stderr) or 2

    scratch = Path(tempfile.mkdtemp(prefix="bench-synth-"))
    results: list[dict] = []
    header = (
        f"{'run':>3}  {'mode':<4}  {'wall s':>6}  {'peak tree RSS MiB':>17}  "
        f"{'python HWM':>10}  {'node HWM':>8}  {'maxrss MiB':>10}"
    )
    print(
        f"python main.py, all environments, {args.runs} runs per mode, alternating "
        f"(after {args.warmup} uncounted warm-up pair(s))\n"
    )
    print(header)
    print("-" * len(header))
    differences: list[list[str]] = []
    inputs_changed = False
    try:
        for index in range(args.warmup):  # page cache, jsii package cache: not what we measure
            for mode in ("fast", "full"):
                run_once(mode, args.interval, scratch / f"warmup-{mode}-{index}", scratch / "warmup.log")
        for index in range(args.runs):
            before = inputs_digest()
            for mode in ("fast", "full"):
                outdir = scratch / f"{mode}-{index}"
                result = run_once(mode, args.interval, outdir, scratch / f"{mode}-{index}.log")
                results.append(result)
                note = "  (fell back to full import!)" if mode == "fast" and result["fell_back"] else ""
                print(
                    f"{index + 1:>3}  {mode:<4}  {result['wall']:>6.2f}  {mib(result['peak_tree']):>17}  "
                    f"{mib(result['hwm_python']):>10}  {mib(result['hwm_node']):>8}  "
                    f"{mib(result['maxrss_kib'] * 1024):>10}{note}",
                    flush=True,
                )
            inputs_changed |= inputs_digest() != before
            differences.append(_tree_differences(scratch / f"fast-{index}", scratch / f"full-{index}"))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    def median(mode: str, key: str) -> float:
        return statistics.median(r[key] for r in results if r["mode"] == mode)

    print()
    print(f"{'median':<22}  {'fast':>8}  {'full':>8}  {'fast/full':>9}")
    rows = [
        ("wall s", "wall", lambda v: f"{v:.2f}"),
        ("peak tree RSS MiB", "peak_tree", mib),
        ("python HWM MiB", "hwm_python", mib),
        ("node HWM MiB", "hwm_node", mib),
        ("cpu s (user+sys)", "cpu", lambda v: f"{v:.2f}"),
    ]
    for label, key, fmt in rows:
        fast, full = median("fast", key), median("full", key)
        print(f"{label:<22}  {fmt(fast):>8}  {fmt(full):>8}  {fast / full if full else float('nan'):>9.2f}")
    ratio = median("fast", "wall") / median("full", "wall")
    print()
    verdict = "met" if ratio <= TARGET_RATIO else "NOT met"
    print(f"time ratio fast/full {ratio:.2f} (target <= {TARGET_RATIO:.2f}: {verdict})")
    print(f"lower peak memory: {'yes' if median('fast', 'peak_tree') < median('full', 'peak_tree') else 'NO'}")
    same = sum(1 for diff in differences if not diff)
    print(f"fast and full output byte-identical: {same}/{len(differences)} run pairs")
    for index, diff in enumerate(differences):
        if diff:
            print(f"  run {index + 1} differs: {', '.join(diff[:5])}{' ...' if len(diff) > 5 else ''}")
    if same < len(differences) and inputs_changed:
        print("  note: main.py/modules/functions/environments changed during the benchmark; rerun")
    return 0


if __name__ == "__main__":
    sys.exit(main())
