"""Issue 18 item 5: what each role of the local deployment is granted and never used in a run
(ops/iam_report.py), on a list with the reason for each. Keyed by the role's kind (its name
without the environment's prefix and the region), then an action pattern -> why it stays."""

from __future__ import annotations

import fnmatch
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ops.iam_report import RoleReport

NEVER_USED: dict[str, dict[str, str]] = {}

_REGION = re.compile(r"-[a-z]{2}(?:-gov)?-[a-z]+-\d$")


def role_kind(name: str, prefix: str = "items-local") -> str:
    """``items-local-get-item-eu-west-1`` -> ``get-item``; ``deploy-items-local`` -> ``deploy``."""
    name = _REGION.sub("", name)
    return name.removeprefix(f"{prefix}-").removesuffix(f"-{prefix}")


def _matches(action: str, pattern: str) -> bool:
    return fnmatch.fnmatchcase(action.lower(), pattern.lower())


def unlisted_and_stale(reports: list[RoleReport]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Per role kind: the never-used actions no entry lists, and the entries nothing matches."""
    never: dict[str, set[str]] = {}
    for report in reports:
        never.setdefault(role_kind(report.role), set()).update(report.never_used)
    unlisted = {
        kind: sorted(a for a in actions if not any(_matches(a, p) for p in NEVER_USED.get(kind, {})))
        for kind, actions in never.items()
    }
    stale = {
        kind: [p for p in entries if not any(_matches(a, p) for a in never.get(kind, ()))]
        for kind, entries in NEVER_USED.items()
    }
    return {k: v for k, v in unlisted.items() if v}, {k: v for k, v in stale.items() if v}
