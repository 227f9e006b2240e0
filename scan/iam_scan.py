"""cloudsplaining on policy documents: ``python -m scan.iam_scan POLICIES.json`` prints one
JSON list of findings. Runs in the scan environment (.venv-scan), where cloudsplaining is
installed; imports from the project only scan.lists (standard library alone), so the
project's pins never meet checkov's.

Input: a JSON list of ``{"label", "kind", "document"}`` (scan/policy_documents.py).
Output: ``[{"label", "category", "severity", "finding"}]``. Identity, key and bucket policies
go through cloudsplaining's policy analysis (PrivilegeEscalation, ResourceExposure,
CredentialsExposure, DataExfiltration, ServiceWildcard, InfrastructureModification) with its
default exclusions; trust policies through its assume-role analysis (AssumableByComputeService).
cloudsplaining counts an action as constrained when its statement names resources or has a
condition, the way AWS evaluates it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from cloudsplaining.output.policy_finding import PolicyFinding
from cloudsplaining.scan.assume_role_policy_document import AssumeRolePolicyDocument
from cloudsplaining.scan.policy_document import PolicyDocument
from cloudsplaining.shared.constants import DEFAULT_EXCLUSIONS_CONFIG, ISSUE_SEVERITY
from cloudsplaining.shared.exclusions import Exclusions

from scan.lists import POLICY_CATEGORIES, TRUST_CATEGORY


def findings_of(label: str, kind: str, document: dict[str, Any], exclusions: Exclusions) -> list[dict[str, str]]:
    """The findings of one document, one entry per action (or escalation method)."""
    if kind == "trust":
        services = AssumeRolePolicyDocument(document).role_assumable_by_compute_services
        category = TRUST_CATEGORY
        return [
            {"label": label, "category": category, "severity": ISSUE_SEVERITY[category], "finding": service}
            for service in services
        ]
    results = PolicyFinding(PolicyDocument(document, exclusions=exclusions), exclusions).results
    found = []
    for category in POLICY_CATEGORIES:
        for item in results[category]["findings"]:
            text = f"{item['type']}: {', '.join(item['actions'])}" if isinstance(item, dict) else str(item)
            found.append({"label": label, "category": category, "severity": ISSUE_SEVERITY[category], "finding": text})
    return found


def main(argv: list[str]) -> int:
    with Path(argv[0]).open(encoding="utf-8") as file:
        sources = json.load(file)
    exclusions = Exclusions(DEFAULT_EXCLUSIONS_CONFIG)
    findings = [f for s in sources for f in findings_of(s["label"], s["kind"], s["document"], exclusions)]
    json.dump(findings, sys.stdout, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
