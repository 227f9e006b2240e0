"""``make scan``: checkov and an IAM analysis on every synthesized stack, 0 failed to pass.

1. Synthesize every environment and the bootstrap stack into ``build/scan/cdktf.out`` (never
   ``cdktf.out/``, which a user may be planning from).
2. checkov, ``terraform_json`` framework, on all of them at once; its failed checks (and the
   checks that crash on CDKTF JSON) are matched against scan/checkov-skips.toml.
3. Every policy document (scan/policy_documents.py: references resolved to placeholder ARNs)
   through cloudsplaining (scan/iam_scan.py, in the scan environment); findings above low
   are matched against scan/iam-exclusions.toml.
4. A summary per stack. Exit 1 when anything failed without a skip, a finding above low has no
   exclusion, or an entry of either list matched nothing (stale); exit 2 when a list is invalid.

checkov and cloudsplaining live in .venv-scan (their pins conflict with the project's); this
module runs in the project's environment and calls them as programs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scan.lists import CheckovSkip, IamExclusion, ScanListError, load_checkov_skips, load_iam_exclusions
from scan.policy_documents import policy_sources

PROJECT_DIR = Path(__file__).resolve().parent.parent
SCAN_VENV = PROJECT_DIR / ".venv-scan"
SCRATCH = PROJECT_DIR / "build" / "scan"
# cloudsplaining's severities; the scan passes with findings of these only.
ALLOWED_SEVERITIES = frozenset({"low"})
# checkov logs a check that raised instead of reporting it; such a check passes silently.
CHECK_CRASH = re.compile(r"Failed to run check (\S+) on /([^/\s]+)/cdk\.tf\.json:(\S+)")
# No network: no Prisma Cloud guidelines download, no PyPI version check.
CHECKOV_ENV = {"CKV_SKIP_PACKAGE_UPDATE_CHECK": "true", "BC_SKIP_MAPPING": "TRUE"}


@dataclass(frozen=True)
class CheckResult:
    """One checkov result: ``outcome`` is passed, failed or error (the check crashed)."""

    stack: str
    check_id: str
    resource: str
    outcome: str
    name: str = ""


@dataclass(frozen=True)
class Finding:
    stack: str
    label: str
    category: str
    severity: str
    finding: str


def synthesize(scratch: Path) -> Path:
    """Every environment file and the bootstrap stack, into ``scratch``; returns its stacks/."""
    outdir = scratch / "cdktf.out"
    shutil.rmtree(outdir, ignore_errors=True)
    scratch.mkdir(parents=True, exist_ok=True)
    names = sorted(path.stem for path in (PROJECT_DIR / "environments").glob("*.toml")) + ["bootstrap"]
    env = {**os.environ, "CDKTF_OUTDIR": str(outdir), "BACKEND_ENVIRONMENTS": ",".join(names)}
    subprocess.run(
        [sys.executable, str(PROJECT_DIR / "main.py")], cwd=PROJECT_DIR, env=env, check=True, stdout=subprocess.DEVNULL
    )
    return outdir / "stacks"


def load_stacks(stacks_dir: Path) -> dict[str, dict[str, Any]]:
    return {path.parent.name: json.loads(path.read_text()) for path in sorted(stacks_dir.glob("*/cdk.tf.json"))}


def _resource_types(doc: dict[str, Any]) -> dict[str, str]:
    """Logical name -> resource type (cdktf's names are unique within a stack)."""
    return {name: rtype for rtype, items in doc.get("resource", {}).items() for name in items}


def _address(resource: str, types: dict[str, str]) -> str:
    """checkov names Python-check results ``resource.<name>`` on CDKTF JSON; restore the type."""
    kind, _, name = resource.partition(".")
    return f"{types.get(name, kind)}.{name}" if kind == "resource" else resource


def run_checkov(stacks_dir: Path, docs: dict[str, dict[str, Any]]) -> list[CheckResult]:
    command = [
        str(SCAN_VENV / "bin" / "checkov"),
        "--directory",
        str(stacks_dir),
        "--framework",
        "terraform_json",
        "--skip-download",
        "--output",
        "json",
        "--compact",
    ]
    proc = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **CHECKOV_ENV})
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"checkov exited {proc.returncode}:\n{proc.stderr[-4000:]}")
    reports = json.loads(proc.stdout)
    types = {stack: _resource_types(doc) for stack, doc in docs.items()}
    results = []
    for report in reports if isinstance(reports, list) else [reports]:
        for outcome, key in (("passed", "passed_checks"), ("failed", "failed_checks")):
            for record in report.get("results", {}).get(key, []):
                stack = record["file_path"].strip("/").split("/")[0]
                results.append(
                    CheckResult(
                        stack,
                        record["check_id"],
                        _address(record["resource"], types[stack]),
                        outcome,
                        record.get("check_name", ""),
                    )
                )
    results += [
        CheckResult(stack, check_id, resource, "error", "the check crashed on CDKTF JSON")
        for check_id, stack, resource in CHECK_CRASH.findall(proc.stderr)
    ]
    return results


def run_iam_analysis(docs: dict[str, dict[str, Any]], scratch: Path) -> tuple[Counter, list[Finding]]:
    """Policies per stack, and cloudsplaining's findings on them."""
    sources = [source for stack, doc in docs.items() for source in policy_sources(stack, doc)]
    policies_file = scratch / "policies.json"
    policies_file.write_text(json.dumps([{"label": s.label, "kind": s.kind, "document": s.document} for s in sources]))
    proc = subprocess.run(
        [str(SCAN_VENV / "bin" / "python"), "-m", "scan.iam_scan", str(policies_file)],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"scan.iam_scan exited {proc.returncode}:\n{proc.stderr[-4000:]}")
    findings = [
        Finding(f["label"].split(" ", 1)[0], f["label"], f["category"], f["severity"], f["finding"])
        for f in json.loads(proc.stdout)
    ]
    return Counter(source.stack for source in sources), findings


def _first_skip(result: CheckResult, skips: list[CheckovSkip]) -> int | None:
    return next((i for i, s in enumerate(skips) if s.matches(result.stack, result.check_id, result.resource)), None)


def _first_exclusion(finding: Finding, exclusions: list[IamExclusion]) -> int | None:
    return next(
        (i for i, e in enumerate(exclusions) if e.matches(finding.label, finding.category, finding.finding)), None
    )


@dataclass(frozen=True)
class Outcome:
    """What the scan found, after the lists were applied."""

    results: list[CheckResult]
    unskipped: list[CheckResult]
    skipped: list[CheckResult]
    findings: list[Finding]
    unexcluded: list[Finding]
    excluded: list[Finding]
    stale_skips: list[CheckovSkip]
    stale_exclusions: list[IamExclusion]
    policies: Counter

    @property
    def clean(self) -> bool:
        return not (self.unskipped or self.unexcluded or self.stale_skips or self.stale_exclusions)


def judge(
    results: list[CheckResult],
    findings: list[Finding],
    policies: Counter,
    skips: list[CheckovSkip],
    exclusions: list[IamExclusion],
) -> Outcome:
    """Apply both lists: every failure needs a skip, every finding above low an exclusion."""
    bad = [r for r in results if r.outcome != "passed"]
    skip_of = {r: _first_skip(r, skips) for r in bad}
    above_low = [f for f in findings if f.severity not in ALLOWED_SEVERITIES]
    exclusion_of = {f: _first_exclusion(f, exclusions) for f in above_low}
    used_skips, used_exclusions = set(skip_of.values()), set(exclusion_of.values())
    return Outcome(
        results=results,
        unskipped=[r for r in bad if skip_of[r] is None],
        skipped=[r for r in bad if skip_of[r] is not None],
        findings=findings,
        unexcluded=[f for f in above_low if exclusion_of[f] is None],
        excluded=[f for f in above_low if exclusion_of[f] is not None],
        stale_skips=[s for i, s in enumerate(skips) if i not in used_skips],
        stale_exclusions=[e for i, e in enumerate(exclusions) if i not in used_exclusions],
        policies=policies,
    )


def summary_lines(outcome: Outcome, stacks: list[str]) -> list[str]:
    """One line per stack: checkov's counts, then the IAM analysis's."""
    header = (
        f"{'stack':<18}{'passed':>8}{'failed':>8}{'skipped':>9}{'crashed':>9}   "
        f"{'policies':>9}{'>low':>6}{'excluded':>10}{'low':>6}"
    )
    lines = [header, "-" * len(header)]
    for stack in stacks:
        passed = sum(1 for r in outcome.results if r.stack == stack and r.outcome == "passed")
        failed = sum(1 for r in outcome.unskipped if r.stack == stack and r.outcome == "failed")
        crashed = sum(1 for r in outcome.unskipped if r.stack == stack and r.outcome == "error")
        skipped = sum(1 for r in outcome.skipped if r.stack == stack)
        above = sum(1 for f in outcome.unexcluded if f.stack == stack)
        excluded = sum(1 for f in outcome.excluded if f.stack == stack)
        low = sum(1 for f in outcome.findings if f.stack == stack and f.severity in ALLOWED_SEVERITIES)
        lines.append(
            f"{stack:<18}{passed:>8}{failed:>8}{skipped:>9}{crashed:>9}   "
            f"{outcome.policies[stack]:>9}{above:>6}{excluded:>10}{low:>6}"
        )
    return lines


def problem_lines(outcome: Outcome) -> list[str]:
    lines = [f"FAILED {r.stack} {r.check_id} {r.resource} ({r.outcome}: {r.name})" for r in outcome.unskipped]
    lines += [f"FINDING {f.severity} {f.category} {f.label}: {f.finding}" for f in outcome.unexcluded]
    lines += [
        f"STALE skip {s.id} (resources {list(s.resources)}, stacks {list(s.stacks)}): matches nothing; "
        "remove it from scan/checkov-skips.toml"
        for s in outcome.stale_skips
    ]
    lines += [
        f"STALE exclusion {e.category} {e.finding!r} ({list(e.policies)}): matches nothing; "
        "remove it from scan/iam-exclusions.toml"
        for e in outcome.stale_exclusions
    ]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scratch", type=Path, default=SCRATCH, help="where to synthesize (default build/scan)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        skips, exclusions = load_checkov_skips(), load_iam_exclusions()
    except ScanListError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    docs = load_stacks(synthesize(args.scratch))
    policies, findings = run_iam_analysis(docs, args.scratch)
    outcome = judge(run_checkov(args.scratch / "cdktf.out" / "stacks", docs), findings, policies, skips, exclusions)
    print("\n".join(summary_lines(outcome, sorted(docs))))
    problems = problem_lines(outcome)
    print("\n".join(["", *problems]) if problems else "")
    verdict = "clean" if outcome.clean else f"NOT clean: {len(problems)} problem(s) above"
    print(
        f"policy scan: {verdict} ({len(skips)} checkov skips, {len(exclusions)} IAM exclusions, "
        f"{time.monotonic() - started:.0f} s)"
    )
    return 0 if outcome.clean else 1


if __name__ == "__main__":
    sys.exit(main())
