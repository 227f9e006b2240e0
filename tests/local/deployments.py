"""Deployments as ``deployment_file.load()`` gives them, for tests that set only the fields they use."""

from __future__ import annotations

from pathlib import Path

from local import deployment_file

ACCOUNT = "123456789012"


def typed(emulator_url: str, regions: dict[str, dict], **more: object) -> deployment_file.Deployment:
    """``regions``: region -> the fields that matter to the test; the others a gateway on a closed port
    (``http://127.0.0.1:9/v1``) serving no functions. Read through the file's own check."""
    served = {
        region: {"api_url": "http://127.0.0.1:9/v1", "rest_api_id": "none", "stage": "v1", "functions": {}, **fields}
        for region, fields in regions.items()
    }
    return deployment_file.check(deployment_file.build(emulator_url, ACCOUNT, Path(), served, **more), "test")
