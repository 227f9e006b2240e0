"""The two checked-in lists of ``make scan``: checkov skips (scan/checkov-skips.toml) and IAM
analysis exclusions (scan/iam-exclusions.toml). Each entry says why, and names what it
covers as narrowly as the reason allows; an entry that matches nothing in a scan is stale
and fails it, so the lists only ever hold trade-offs that still exist.

checkov skips are applied to checkov's results rather than passed as ``--skip-check``: a
check checkov never runs cannot tell us whether its skip still matches anything.

Pure Python (stdlib only): the test suite checks the files without the scan environment.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parent.parent
CHECKOV_SKIPS = PROJECT_DIR / "scan" / "checkov-skips.toml"
IAM_EXCLUSIONS = PROJECT_DIR / "scan" / "iam-exclusions.toml"
CHECK_ID = re.compile(r"^CKV2?_[A-Z0-9]+_[0-9]+$")
RESOURCE_PATTERN = re.compile(r"^aws_[a-z0-9_]+\.[^.\s]+$")
# A reason is a sentence that says why, not "n/a".
MIN_REASON_CHARS = 40
# cloudsplaining's categories: of its policy analysis, and of its trust-policy analysis.
POLICY_CATEGORIES = (
    "PrivilegeEscalation",
    "ResourceExposure",
    "CredentialsExposure",
    "DataExfiltration",
    "ServiceWildcard",
    "InfrastructureModification",
)
TRUST_CATEGORY = "AssumableByComputeService"
IAM_CATEGORIES = (*POLICY_CATEGORIES, TRUST_CATEGORY)


class ScanListError(ValueError):
    """A list entry without a reason, with an unknown key, or malformed."""


@dataclass(frozen=True, kw_only=True)
class CheckovSkip:
    """Skip check ``id`` on ``resources`` (globs over ``<type>.<name>``) in ``stacks`` (globs
    over stack names); both default to everything."""

    id: str
    reason: str
    resources: tuple[str, ...] = ("*",)
    stacks: tuple[str, ...] = ("*",)

    def matches(self, stack: str, check_id: str, resource: str) -> bool:
        return (
            check_id == self.id
            and any(fnmatchcase(stack, s) for s in self.stacks)
            and any(fnmatchcase(resource, r) for r in self.resources)
        )


@dataclass(frozen=True, kw_only=True)
class IamExclusion:
    """Exclude findings of ``category`` whose text matches ``finding`` (a glob) in the policies
    whose label (``<stack> <type>.<name>.<attribute>``) matches one of ``policies``."""

    category: str
    finding: str
    policies: tuple[str, ...]
    reason: str

    def matches(self, label: str, category: str, finding: str) -> bool:
        return (
            category == self.category
            and fnmatchcase(finding, self.finding)
            and any(fnmatchcase(label, p) for p in self.policies)
        )


def _entries(path: Path, table: str) -> list[dict[str, Any]]:
    with path.open("rb") as file:
        data = tomllib.load(file)
    unknown = sorted(set(data) - {table})
    if unknown:
        raise ScanListError(f"{path.name}: unknown top-level key(s) {unknown}; entries are [[{table}]] tables")
    return data.get(table, [])


def _reason_problem(where: str, entry: dict[str, Any]) -> list[str]:
    reason = entry.get("reason")
    if not isinstance(reason, str) or len(reason.strip()) < MIN_REASON_CHARS:
        return [f"{where}: needs a reason (a sentence of at least {MIN_REASON_CHARS} characters saying why)"]
    return []


def _string_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, str) and v for v in value)


def _skip_problems(where: str, entry: dict[str, Any]) -> list[str]:
    problems = _reason_problem(where, entry)
    unknown = sorted(set(entry) - {"id", "reason", "resources", "stacks"})
    if unknown:
        problems.append(f"{where}: unknown key(s) {unknown} (expected id, reason, resources, stacks)")
    if not CHECK_ID.match(str(entry.get("id", ""))):
        problems.append(f"{where}: id {entry.get('id')!r} is not a checkov id (e.g. CKV_AWS_117 or CKV2_AWS_29)")
    for key in ("resources", "stacks"):
        if key in entry and not _string_list(entry[key]):
            problems.append(f"{where}: {key} must be a non-empty list of globs")
    bad = [r for r in entry.get("resources", []) if isinstance(r, str) and not RESOURCE_PATTERN.match(r)]
    if bad:
        problems.append(f"{where}: resources {bad} must look like <aws type>.<name glob>")
    return problems


def load_checkov_skips(path: Path = CHECKOV_SKIPS) -> list[CheckovSkip]:
    entries = _entries(path, "skip")
    problems = [
        p for i, e in enumerate(entries) for p in _skip_problems(f"{path.name} skip #{i + 1} ({e.get('id')})", e)
    ]
    if problems:
        raise ScanListError("\n".join(problems))
    return [
        CheckovSkip(
            id=e["id"],
            reason=e["reason"].strip(),
            resources=tuple(e.get("resources", ["*"])),
            stacks=tuple(e.get("stacks", ["*"])),
        )
        for e in entries
    ]


def _exclusion_problems(where: str, entry: dict[str, Any]) -> list[str]:
    problems = _reason_problem(where, entry)
    unknown = sorted(set(entry) - {"category", "finding", "policies", "reason"})
    if unknown:
        problems.append(f"{where}: unknown key(s) {unknown} (expected category, finding, policies, reason)")
    if entry.get("category") not in IAM_CATEGORIES:
        problems.append(f"{where}: category {entry.get('category')!r} is not one of {', '.join(IAM_CATEGORIES)}")
    if not isinstance(entry.get("finding"), str) or not entry.get("finding"):
        problems.append(f"{where}: finding must be a glob over the finding's text (e.g. an action)")
    if not _string_list(entry.get("policies")):
        problems.append(f"{where}: policies must be a non-empty list of globs over '<stack> <type>.<name>.<attribute>'")
    return problems


def load_iam_exclusions(path: Path = IAM_EXCLUSIONS) -> list[IamExclusion]:
    entries = _entries(path, "exclude")
    problems = [
        p
        for i, e in enumerate(entries)
        for p in _exclusion_problems(f"{path.name} exclude #{i + 1} ({e.get('category')})", e)
    ]
    if problems:
        raise ScanListError("\n".join(problems))
    return [
        IamExclusion(
            category=e["category"], finding=e["finding"], policies=tuple(e["policies"]), reason=e["reason"].strip()
        )
        for e in entries
    ]
