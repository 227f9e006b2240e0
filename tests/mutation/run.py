"""Mutation testing on demand (not in CI): mutmut 3 mutates the given source, runs the given
tests against each mutant and prints the score per file.

    .venv/bin/python tests/mutation/run.py                      # functions/ vs tests/functions
    .venv/bin/python tests/mutation/run.py --sample 150 --seed 1
    .venv/bin/python tests/mutation/run.py --mutate modules/config --tests tests/config

Each target gets a work directory, build/mutation/<target>/, holding symlinks to the
project's tracked top-level entries and a generated setup.cfg (mutmut reads its settings
from there), so targets never share mutmut's state and nothing is written into the tree.
``mutants/`` is rebuilt on every run: mutmut caches results per function and would keep a
"survived" verdict after the tests that kill it were added.

Equivalent mutants (no test can tell them from the original) are listed in
tests/mutation/EQUIVALENT.md with the line mutmut produced; an entry counts only while that
line still matches, so an entry cannot silently excuse a different mutant after the code
moves. They are not run and do not count towards the score.

Score = (killed + timeout) / (mutants run). "no tests" counts as survived.

mutmut 3 does not mutate decorated functions or module-level statements, and code that
runs at import time is never under a mutant (workers fork from a process that already
imported it): keep logic in plain functions called at request time.
"""

import argparse
import json
import random
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EQUIVALENT = Path(__file__).resolve().parent / "EQUIVALENT.md"
# Generation only, so the sample can be drawn before anything runs (pinned mutmut 3.8.1).
GENERATE = """
import mutmut.__main__ as m
m.copy_src_dir(); m.copy_also_copy_files(); m.setup_source_paths(); m.create_mutants(2)
"""
# "- `functions.m.x_f__mutmut_3`: `the mutated line` — why no test can tell it apart"
ENTRY = re.compile(r"^- `(?P<name>[^`\s]+)`: `(?P<line>.*?)` — ", re.MULTILINE)
DETECTED = {"killed", "timeout"}


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mutate", nargs="+", default=["functions"], help="files or folders to mutate")
    parser.add_argument("--tests", nargs="+", default=["tests/functions"], help="pytest paths to run")
    parser.add_argument("--sample", type=int, default=0, help="run a random N mutants (0: all)")
    parser.add_argument("--seed", type=int, default=1, help="which random sample")
    parser.add_argument("--jobs", type=int, default=2, help="mutants tested in parallel")
    parser.add_argument("--fail-under", type=float, default=0.0, help="exit 1 below this score (%%)")
    return parser.parse_args(argv)


def prepare(args):
    """The target's work directory with a fresh setup.cfg and no old mutants."""
    target = "+".join(p.strip("/").replace("/", "_") for p in args.mutate)
    work = ROOT / "build" / "mutation" / target
    shutil.rmtree(work / "mutants", ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, check=True, capture_output=True, text=True).stdout.split()
    top = sorted({name.split("/")[0] for name in tracked} - {"setup.cfg"})
    for name in top:
        link = work / name
        if not link.is_symlink():
            link.symlink_to(ROOT / name)
    sources = sorted({p.strip("/").split("/")[0] for p in args.mutate})
    only = [p if p.endswith(".py") else p.rstrip("/") + "/*" for p in args.mutate]
    settings = {
        "source_paths": sources,
        "only_mutate": only,
        "also_copy": [name for name in top if name not in sources],
        "pytest_add_cli_args_test_selection": args.tests,
        "pytest_add_cli_args": ["-p", "no:cacheprovider", "-q"],
        "use_git_change_detection": ["false"],
    }
    lines = ["[mutmut]"]
    for key, values in settings.items():
        lines.append(f"{key} =" + "".join(f"\n    {value}" for value in values))
    (work / "setup.cfg").write_text("\n".join(lines) + "\n")
    return work


def mutant_names(work):
    names = {}
    for meta in sorted((work / "mutants").rglob("*.py.meta")):
        path = str(meta.relative_to(work / "mutants"))[: -len(".meta")]
        for name in json.loads(meta.read_text())["exit_code_by_key"]:
            names[name] = path
    return names


def mutmut(work, *arguments, capture=False):
    command = [str(Path(sys.executable).parent / "mutmut"), *arguments]
    return subprocess.run(command, cwd=work, capture_output=capture, text=True)


def run_mutants(work, jobs, selected):
    """``mutmut run`` on exactly these mutants; its progress output goes to a log file.
    Naming every mutant makes mutmut test each one now instead of trusting a cached verdict."""
    log = work / "mutmut-run.log"
    with log.open("w") as out:
        command = [str(Path(sys.executable).parent / "mutmut"), "run", "--max-children", str(jobs), *selected]
        code = subprocess.run(command, cwd=work, stdout=out, stderr=subprocess.STDOUT).returncode
    if code != 0:
        sys.exit(f"mutmut run failed (exit {code}); see {log}")
    rate = [line for line in log.read_text().splitlines() if "mutations/second" in line]
    print(f"mutmut: {rate[-1].strip() if rate else 'done'} (log: {log.relative_to(ROOT)})")


def mutated_line(work, name):
    """The first added line of the mutant's diff, stripped (what EQUIVALENT.md records)."""
    diff = mutmut(work, "show", name, capture=True).stdout.splitlines()
    added = [line[1:].strip() for line in diff if line.startswith("+") and not line.startswith("+++")]
    return added[0] if added else ""


def equivalents(work, names):
    """Entries of EQUIVALENT.md that name a current mutant whose line still matches."""
    accepted, stale = set(), []
    for match in ENTRY.finditer(EQUIVALENT.read_text()):
        name, line = match["name"], match["line"]
        if name not in names:
            continue
        if mutated_line(work, name) == line:
            accepted.add(name)
        else:
            stale.append(name)
    return accepted, stale


def results(work, selected):
    codes = {}
    for meta in (work / "mutants").rglob("*.py.meta"):
        codes.update(json.loads(meta.read_text())["exit_code_by_key"])
    from mutmut.stats import status_by_exit_code

    return {name: status_by_exit_code[codes.get(name)] for name in selected}


def report(names, statuses, excluded, stale, work):
    by_file = {}
    for name, status in statuses.items():
        by_file.setdefault(names[name], Counter())[status] += 1
    for name in excluded:
        by_file.setdefault(names[name], Counter())["equivalent"] += 1
    print(
        f"\n{'file':28s} {'run':>5s} {'killed':>7s} {'timeout':>7s} {'survived':>8s} "
        f"{'no tests':>8s} {'equiv.':>6s} {'score':>7s}"
    )
    total = Counter()
    for path in sorted(by_file):
        counts = by_file[path]
        total.update(counts)
        print(_row(path, counts))
    print(_row("total", total))
    survivors = sorted(n for n, s in statuses.items() if s not in DETECTED)
    if survivors:
        print(
            f"\nnot detected ({len(survivors)}); see one with: cd {work.relative_to(ROOT)} && "
            f"{Path(sys.executable).parent / 'mutmut'} show NAME"
        )
        for name in survivors:
            print(f"  {statuses[name]:9s} {name}: {mutated_line(work, name)}")
    for name in stale:
        print(f"stale EQUIVALENT.md entry (the mutant's line changed; run, not excluded): {name}")
    return _score(total)


def _score(counts):
    run = sum(v for k, v in counts.items() if k != "equivalent")
    return 100.0 * sum(counts[k] for k in DETECTED) / run if run else 100.0


def _row(path, counts):
    run = sum(v for k, v in counts.items() if k != "equivalent")
    other = run - counts["killed"] - counts["timeout"] - counts["survived"] - counts["no tests"]
    extra = f"  (+{other} other)" if other else ""
    return (
        f"{path:28s} {run:5d} {counts['killed']:7d} {counts['timeout']:7d} {counts['survived']:8d} "
        f"{counts['no tests']:8d} {counts['equivalent']:6d} {_score(counts):6.1f}%{extra}"
    )


def main(argv=None):
    args = parse_args(argv)
    work = prepare(args)
    subprocess.run([sys.executable, "-c", GENERATE], cwd=work, check=True, capture_output=True)
    names = mutant_names(work)
    excluded, stale = equivalents(work, names)
    candidates = sorted(set(names) - excluded)
    selected = candidates
    if 0 < args.sample < len(candidates):
        selected = sorted(random.Random(args.seed).sample(candidates, args.sample))
    print(
        f"{len(names)} mutants in {', '.join(args.mutate)}; {len(excluded)} equivalent excluded; "
        f"running {len(selected)}" + (f" (random sample, seed {args.seed})" if len(selected) < len(candidates) else "")
    )
    run_mutants(work, args.jobs, selected)
    score = report(names, results(work, selected), excluded & set(names), stale, work)
    return 1 if score < args.fail_under else 0


if __name__ == "__main__":
    sys.exit(main())
