"""The sorted Terraform addresses of each environment's stack are pinned in
``addresses/<env>.txt``. A construct id is a contract: renaming one replaces real resources,
so a rename must show up in review as a change to these files.

After an intended change: ``UPDATE_ADDRESSES=1 .venv/bin/python -m pytest tests/synth/test_addresses.py``.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

PINNED = Path(__file__).parent / "addresses"


def addresses(doc: dict) -> list[str]:
    found = [f"{t}.{name}" for t, items in doc.get("resource", {}).items() for name in items]
    found += [f"data.{t}.{name}" for t, items in doc.get("data", {}).items() for name in items]
    return sorted(found)


@pytest.mark.parametrize("environment", ["dev", "staging", "prod", "local"])
def test_resource_addresses_are_pinned(environment, synthesized):
    actual = addresses(synthesized[environment])
    path = PINNED / f"{environment}.txt"
    if os.environ.get("UPDATE_ADDRESSES"):
        path.write_text("\n".join(actual) + "\n")
    expected = path.read_text().splitlines()
    diff = "\n".join(difflib.unified_diff(expected, actual, "pinned", "synthesized", lineterm=""))
    assert actual == expected, (
        f"the addresses of backend-{environment} changed; resources would be replaced or created:\n{diff}\n"
        "If intended, re-pin with UPDATE_ADDRESSES=1 .venv/bin/python -m pytest tests/synth/test_addresses.py"
    )
