"""Delivery settings (``delivery.toml``): the GitHub repository trusted to deploy and how the
bootstrap reaches each account. Like the environment files, loading needs no cdktf, so a bad
value is reported before anything is synthesized."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from modules.config.schema import ConfigError

BOOTSTRAP_STACK = "bootstrap"
_REPOSITORY = re.compile(r"^[A-Za-z0-9-]{1,39}/[A-Za-z0-9._-]{1,100}$")
_ROLE_NAME = re.compile(r"^[\w+=,.@-]{0,64}$")
_ACCOUNT = re.compile(r"^[0-9]{12}$")


@dataclass(frozen=True, kw_only=True)
class DeliverySettings:
    """``github_repository``: ``owner/name`` whose workflows may assume the roles.
    ``assume_role``: role name the bootstrap assumes in each environment's account
    (default "": the caller's credentials). ``noncurrent_version_days``: how long the state
    bucket keeps overwritten state versions (default 90). ``existing_github_oidc_accounts``:
    accounts where GitHub's OIDC provider already exists (one per URL per account), read
    instead of created (default none)."""

    github_repository: str
    assume_role: str = ""
    noncurrent_version_days: int = 90
    existing_github_oidc_accounts: tuple[str, ...] = ()


def load_delivery(path: Path) -> DeliverySettings:
    """Read and check ``delivery.toml``; ConfigError names the key, the value and what was expected."""
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise ConfigError(f"{path}: cannot be read as TOML: {err}") from None
    repository = raw.get("github", {}).get("repository")
    bootstrap = raw.get("bootstrap", {})
    assume_role = bootstrap.get("assume_role", "")
    days = bootstrap.get("noncurrent_version_days", 90)
    if not isinstance(repository, str) or not _REPOSITORY.match(repository):
        raise ConfigError(f'{path}: github.repository: {repository!r} is not a repository (expected "owner/name")')
    if not isinstance(assume_role, str) or not _ROLE_NAME.match(assume_role):
        raise ConfigError(f"{path}: bootstrap.assume_role: {assume_role!r} is not an IAM role name")
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 3650:
        raise ConfigError(f"{path}: bootstrap.noncurrent_version_days: {days!r} is out of range (expected 1 to 3650)")
    existing = bootstrap.get("existing_github_oidc_accounts", [])
    bad = (
        [a for a in existing if not isinstance(a, str) or not _ACCOUNT.match(a)]
        if isinstance(existing, list)
        else [existing]
    )
    if bad:
        raise ConfigError(
            f"{path}: bootstrap.existing_github_oidc_accounts: {bad[0]!r} is not an AWS account id (expected 12 digits)"
        )
    return DeliverySettings(
        github_repository=repository,
        assume_role=assume_role,
        noncurrent_version_days=days,
        existing_github_oidc_accounts=tuple(existing),
    )


def split_bootstrap(names: list[str] | None) -> tuple[bool, list[str] | None]:
    """``BACKEND_ENVIRONMENTS`` names -> (synthesize the bootstrap stack?, environment names).
    The bootstrap is made only when named (an administrator applies it, rarely): no selection
    means every environment; ``bootstrap`` alone means only it."""
    if names is None:
        return False, None
    return BOOTSTRAP_STACK in names, [n for n in names if n != BOOTSTRAP_STACK]
