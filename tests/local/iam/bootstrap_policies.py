"""The deploy and plan roles as the bootstrap stack synthesizes them (main.py run with
BACKEND_ENVIRONMENTS=bootstrap into a fresh cdktf.out), turned into evaluator principals."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from local.iam import Policy, Principal

PROJECT_DIR = Path(__file__).resolve().parents[3]
ACCOUNT_ID = re.compile(r"\$\{data\.aws_caller_identity\.account_(\d{12})_identity_\w+\.account_id\}")
ZONE_REFERENCE = re.compile(r"\$\{data\.aws_route53_zone\.(\w+)\.zone_id\}")
REFERENCE = re.compile(r"\$\{aws_iam_(?:role|policy)\.(\w+)\.(?:name|arn)\}")


def synthesize_bootstrap(outdir: Path) -> dict:
    env = {**os.environ, "CDKTF_OUTDIR": str(outdir), "BACKEND_ENVIRONMENTS": "bootstrap"}
    subprocess.run([sys.executable, "main.py"], cwd=PROJECT_DIR, env=env, check=True, capture_output=True)
    return json.loads((outdir / "stacks" / "bootstrap" / "cdk.tf.json").read_text())


def _referenced_id(reference: str) -> str:
    """``${aws_iam_policy.<id>.arn}`` -> ``<id>``."""
    match = REFERENCE.fullmatch(reference)
    assert match, f"not a reference to an IAM role or policy: {reference}"
    return match.group(1)


def zone_id_of(zone_name: str) -> str:
    """The id the evaluator's principals give the hosted zone named ``zone_name`` (the bootstrap
    stack looks it up by name): ``dev.example.com`` -> ``ZDEVEXAMPLECOM``."""
    return "Z" + zone_name.replace(".", "").upper()


def _document(resource: dict, zones: dict[str, str]) -> dict:
    text = ACCOUNT_ID.sub(lambda match: match.group(1), resource["policy"])
    return json.loads(ZONE_REFERENCE.sub(lambda match: zone_id_of(zones[match.group(1)]), text))


def _zones(doc: dict) -> dict[str, str]:
    """Data source id -> zone name of the bootstrap's zone look-ups."""
    return {key: zone["name"] for key, zone in doc.get("data", {}).get("aws_route53_zone", {}).items()}


def _policy_ids(resources: dict, role_id: str) -> list[str]:
    attachments = resources["aws_iam_role_policy_attachment"].values()
    return [
        _referenced_id(attachment["policy_arn"])
        for attachment in attachments
        if _referenced_id(attachment["role"]) == role_id
    ]


def managed_policy(doc: dict, name: str) -> Policy:
    """A managed policy of the bootstrap stack by its name (``boundary-items-dev``)."""
    (resource,) = [p for p in doc["resource"]["aws_iam_policy"].values() if p["name"] == name]
    return Policy(name, _document(resource, _zones(doc)))


def principal(doc: dict, role_name: str, account: str) -> Principal:
    """The role's attached managed policies (the stack gives the roles no inline ones) and its
    permissions boundary, if it has one."""
    resources = doc["resource"]
    (role_id,) = [key for key, role in resources["aws_iam_role"].items() if role["name"] == role_name]
    policies = resources["aws_iam_policy"]
    zones = _zones(doc)
    identity = tuple(
        Policy(policies[policy_id]["name"], _document(policies[policy_id], zones))
        for policy_id in _policy_ids(resources, role_id)
    )
    assert identity, f"{role_name} has no attached policies in the bootstrap stack"
    boundary_ref = resources["aws_iam_role"][role_id].get("permissions_boundary")
    boundary = None
    if boundary_ref:
        boundary_id = _referenced_id(boundary_ref)
        boundary = Policy(policies[boundary_id]["name"], _document(policies[boundary_id], zones))
    role = resources["aws_iam_role"][role_id]
    return Principal(f"arn:aws:iam::{account}:role{role.get('path', '/')}{role_name}", identity, boundary)
