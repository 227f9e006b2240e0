"""The rules across environment files: what one environment may not do because of another
in the same account (one owner of a hosted zone and of API Gateway's account settings, one
concurrency quota shared)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from modules.config.limits import MIN_UNRESERVED_CONCURRENCY

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from modules.config.sections import EnvironmentConfig


def check_across(loaded: Mapping[str, EnvironmentConfig], chosen: set[str]) -> list[str]:
    """Problems between environments (source -> config) that involve a ``chosen`` source.
    Emulator environments have no account and take no part."""
    real = {source: config for source, config in sorted(loaded.items()) if not config.emulator}
    problems = _zones_across(real) + _account_settings_across(real) + _reservations_across(real)
    return [text for sources, text in problems if set(sources) & chosen]


def _zones_across(real: Mapping[str, EnvironmentConfig]) -> list[tuple[tuple[str, ...], str]]:
    """A public hosted zone is owned by one account: environments naming the same zone must
    run in the same account, or one of them waits for a validation record it cannot see.
    And no two environments serve the same name."""
    problems: list[tuple[tuple[str, ...], str]] = []
    for later, earlier, config, other in _pairs(real):
        if config.domain is None or other.domain is None:
            continue
        if config.domain.record_name == other.domain.record_name:
            problems.append(
                (
                    (later, earlier),
                    (
                        f'{later}: domain.record_name: "{config.domain.record_name}" is also the name of {earlier} '
                        "(expected a name of its own: two stacks would take each other's records and validation record)"
                    ),
                )
            )
        if config.domain.zone_name != other.domain.zone_name:
            continue
        if set(config.allowed_account_ids) != set(other.allowed_account_ids):
            zone = config.domain.zone_name
            problems.append(
                (
                    (later, earlier),
                    (
                        f'{later}: domain.zone_name: "{zone}" is also the zone of {earlier}, in another account '
                        f"({', '.join(config.allowed_account_ids)} vs {', '.join(other.allowed_account_ids)}); "
                        f"a public hosted zone belongs to one account (expected a zone of this environment's own, e.g. "
                        f'"{config.environment}.{zone}" delegated from "{zone}")'
                    ),
                )
            )
    return problems


def _account_settings_across(real: Mapping[str, EnvironmentConfig]) -> list[tuple[tuple[str, ...], str]]:
    """API Gateway keeps one CloudWatch role per account and region: exactly one environment
    there sets it."""
    problems: list[tuple[tuple[str, ...], str]] = []
    for later, earlier, config, other in _pairs(real):
        shared = [region for region in config.regions if region in other.regions]
        accounts = [account for account in config.allowed_account_ids if account in other.allowed_account_ids]
        if shared and accounts and config.api.manage_account_settings and other.api.manage_account_settings:
            problems.append(
                (
                    (later, earlier),
                    (
                        f"{later}: api.manage_account_settings: true is also set by {earlier} for account "
                        f"{accounts[0]} in {', '.join(shared)}; API Gateway keeps one CloudWatch role per account "
                        "and region, so each would overwrite the other's and destroying one would break the other's "
                        "logs (expected true in exactly one environment per account and region, false in the others)"
                    ),
                )
            )
    for source, config in real.items():
        if not config.api.manage_account_settings:
            problems += _unowned(source, config, real)
    return problems


def _unowned(source: str, config: EnvironmentConfig, real: Mapping[str, EnvironmentConfig]) -> list:
    problems: list[tuple[tuple[str, ...], str]] = []
    for account in config.allowed_account_ids:
        missing = [
            region
            for region in config.regions
            if not any(
                other.api.manage_account_settings and account in other.allowed_account_ids and region in other.regions
                for other in real.values()
            )
        ]
        if missing:
            problems.append(
                (
                    (source,),
                    (
                        f"{source}: api.manage_account_settings: false, but no environment manages them in account "
                        f"{account} in {', '.join(missing)} (expected one environment of that account with true "
                        "in each of these regions: API Gateway refuses execution logging without the account's "
                        "CloudWatch role)"
                    ),
                )
            )
    return problems


def _reservations_across(real: Mapping[str, EnvironmentConfig]) -> list[tuple[tuple[str, ...], str]]:
    """Environments in one account and region share its concurrency quota."""
    sharing: dict[tuple[str, str], list[str]] = {}
    for source, config in real.items():
        for account in config.allowed_account_ids:
            for region in config.regions:
                sharing.setdefault((account, region), []).append(source)
    problems: list[tuple[tuple[str, ...], str]] = []
    for (account, region), sources in sharing.items():
        if len(sources) < 2:
            continue
        total = sum(real[source].lambda_.reserved_per_region for source in sources)
        quota = min(real[source].lambda_.account_concurrency for source in sources)
        if quota - total < MIN_UNRESERVED_CONCURRENCY:
            *others, last = sources
            problems.append(
                (
                    tuple(sources),
                    (
                        f"{last}: lambda.reserved_concurrency: {real[last].lambda_.reserved_concurrency} "
                        f"shares account {account} in {region} with {', '.join(others)}: they reserve {total} "
                        f"together, leaving {quota - total} of lambda.account_concurrency = {quota} (expected at least "
                        f"{MIN_UNRESERVED_CONCURRENCY} unreserved: reserve less, or raise the quota and "
                        "lambda.account_concurrency)"
                    ),
                )
            )
    return problems


def _pairs(real: Mapping[str, EnvironmentConfig]) -> Iterator[tuple[str, str, EnvironmentConfig, EnvironmentConfig]]:
    """(later source, earlier source, later config, earlier config) for every pair, in order."""
    sources = list(real)
    for index, later in enumerate(sources):
        for earlier in sources[:index]:
            yield later, earlier, real[later], real[earlier]
