"""``.emulator/deployment.json``: what ``make deploy`` deployed locally and where it
answers, for scripts and tests to read instead of guessing (schema in docs/local-stand-in.md, "The
deployment file"). Later work adds fields; readers ignore the ones they do not know."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

from local.emulator import LOOPBACK

FUNCTIONS = ("create_item", "get_item", "delete_item", "health")


class DeploymentFileError(ValueError):
    pass


def build(emulator_url: str, account_id: str, stack_dir: Path, regions: dict[str, dict], **more: object) -> dict:
    """``regions``: region -> {"api_url", "rest_api_id", "stage", "functions", ...}.
    ``more``: the later top-level fields (docs/local-stand-in.md, "The deployment file"): ``global_url``, and
    ``auth``, the local issuer {"issuer", "audience", "key_dir", "token_command"} (left out when
    the API is public), ...; a field whose value is None is left out."""
    return {
        "emulator_url": emulator_url,
        "account_id": account_id,
        "stack_dir": str(stack_dir),
        "regions": regions,
        **{name: value for name, value in more.items() if value is not None},
    }


def write(path: Path, deployment: dict) -> None:
    check(deployment, str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(deployment, indent=2, sort_keys=True) + "\n")
    partial.replace(path)


def load(path: Path) -> dict:
    try:
        deployment = json.loads(Path(path).read_text())
    except (OSError, ValueError) as err:
        raise DeploymentFileError(f"cannot read the deployment file {path}: {err}") from None
    check(deployment, str(path))
    return deployment


def check(deployment: dict, source: str) -> None:
    """The fields every reader relies on, and every URL on loopback."""
    missing = [key for key in ("emulator_url", "account_id", "stack_dir", "regions") if key not in deployment]
    if missing:
        raise DeploymentFileError(f"{source}: missing {', '.join(missing)}")
    if not (
        isinstance(deployment["account_id"], str)
        and deployment["account_id"].isdigit()
        and len(deployment["account_id"]) == 12
    ):
        raise DeploymentFileError(f"{source}: account_id {deployment['account_id']!r} is not 12 digits")
    _loopback(deployment["emulator_url"], f"{source}: emulator_url")
    if "global_url" in deployment:
        _loopback(deployment["global_url"], f"{source}: global_url")
    for region, served in deployment["regions"].items():
        absent = [key for key in ("api_url", "rest_api_id", "stage", "functions") if key not in served]
        if absent:
            raise DeploymentFileError(f"{source}: region {region} lacks {', '.join(absent)}")
        _loopback(served["api_url"], f"{source}: regions.{region}.api_url")
    if "auth" in deployment:
        absent = [key for key in ("issuer", "audience", "key_dir") if key not in deployment["auth"]]
        if absent:
            raise DeploymentFileError(f"{source}: auth lacks {', '.join(absent)}")
        _loopback(deployment["auth"]["issuer"], f"{source}: auth.issuer")


def _loopback(url: str, where: str) -> None:
    if urlsplit(url).hostname not in (LOOPBACK, "localhost"):
        raise DeploymentFileError(f"{where} {url!r} is not on loopback (expected http://{LOOPBACK}:PORT)")


def require(deployment: dict, fields: tuple[str, ...], source: str, reader: str) -> None:
    """Fields a reader needs that older deployment files may lack."""
    missing = [name for name in fields if name not in deployment]
    if missing:
        raise DeploymentFileError(f"{source}: {reader} needs {', '.join(missing)} (deploy again with `make deploy`)")
