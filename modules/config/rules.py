"""The rules that involve more than one key of one environment file: each reads its keys
through the ``Reader`` and reports what is wrong with them together (``EXPLICIT`` names the
fields they produce; ``modules/config/loader.py`` reads the others straight from their
declarations)."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from modules.config.limits import (
    AWS_REGIONS,
    HEALTH_RESERVED_CONCURRENCY,
    MAX_BUCKET_NAME,
    MAX_WEIGHT,
    MIN_UNRESERVED_CONCURRENCY,
    MIN_WEIGHT,
    RUNTIME_DEPRECATION,
    RUNTIME_NOTICE_DAYS,
)
from modules.config.schema import Reader, closest
from modules.config.sections import (
    ACCOUNTS,
    PRIMARY_REGION,
    REGIONS,
    SECTIONS,
    AuthConfig,
    ChaosConfig,
    DomainConfig,
    LambdaConfig,
    RoutingConfig,
    StateConfig,
    WafConfig,
)


def _regions(reader: Reader, top: Mapping[str, Any], values: Mapping[str, Any]) -> tuple[str, ...]:
    """At least two known regions, each once; ``primary_region`` moved to the front."""
    regions = reader.read(top, REGIONS)
    if regions is None:
        return ()
    good: list[str] = []
    for index, region in enumerate(regions):
        if not isinstance(region, str):
            reader.error(f"regions[{index}]", region, 'is not a string (expected a region name like "eu-west-1")')
        elif region not in AWS_REGIONS:
            hint = closest(region, AWS_REGIONS)
            reader.error("regions", region, f"is not an AWS region (expected e.g. {hint or 'eu-west-1'})")
        elif region in good:
            reader.error("regions", region, "is listed twice (expected each region once)")
        else:
            good.append(region)
    if len(regions) < 2:
        reader.error("regions", regions, "has fewer than two regions (expected at least two; the first is the primary)")
    primary = reader.read(top, PRIMARY_REGION)
    if primary is not None:
        if primary not in good:
            reader.error(
                "primary_region",
                primary,
                f"is not one of regions (expected one of: {', '.join(good) or 'the listed regions'})",
            )
        else:
            good.remove(primary)
            good.insert(0, primary)
    return tuple(good)


def _domain(reader: Reader, top: Mapping[str, Any], values: Mapping[str, Any]) -> DomainConfig | None:
    """The record must lie inside the zone."""
    if "domain" not in top:
        return None
    read = reader.read_section(top, SECTIONS["domain"])
    zone, record = read["zone_name"], read["record_name"]
    if zone is None or record is None:
        return None
    if not record.endswith("." + zone):
        reader.error(
            "domain.record_name", record, f'is not inside the zone {zone!r} (expected a name ending in ".{zone}")'
        )
        return None
    return DomainConfig(zone_name=zone, record_name=record)


def _routing(reader: Reader, top: Mapping[str, Any], values: Mapping[str, Any]) -> RoutingConfig:
    """Failover needs exactly two regions; weights go with weighted routing, one per region;
    failover within a region's rule only exists in a traffic policy."""
    read = reader.read_section(top, SECTIONS["routing"])
    mode, weights, regions = read["mode"], read["weights"], values["regions"]
    within = bool(read["failover_within_region"])
    if within and mode != "traffic-policy":
        reader.error(
            "routing.failover_within_region", True, f'is only used with mode = "traffic-policy" (mode is {mode!r})'
        )
    if mode == "failover" and len(regions) != 2:
        reader.error(
            "routing.mode",
            "failover",
            f"needs exactly two regions (got {len(regions)}: {', '.join(regions)}); "
            "expected latency or weighted routing for more",
        )
    if mode != "weighted":
        if weights:
            reader.error("routing.weights", dict(weights), f'is only used with mode = "weighted" (mode is {mode!r})')
        return RoutingConfig(mode=mode, failover_within_region=within and mode == "traffic-policy")
    return RoutingConfig(mode=mode, weights=_weights(reader, weights, regions))


def _weights(reader: Reader, weights: Mapping[str, Any], regions: tuple[str, ...]) -> dict[str, int]:
    good: dict[str, int] = {}
    for region, weight in weights.items():
        if region not in regions:
            reader.error(
                f"routing.weights.{region}", region, f"is not one of regions (expected one of: {', '.join(regions)})"
            )
        elif not isinstance(weight, int) or isinstance(weight, bool) or not MIN_WEIGHT <= weight <= MAX_WEIGHT:
            reader.error(
                f"routing.weights.{region}",
                weight,
                f"is not a positive weight (expected an integer from {MIN_WEIGHT} to {MAX_WEIGHT})",
            )
        else:
            good[region] = weight
    missing = [region for region in regions if region not in weights]
    if missing:
        reader.error(
            "routing.weights",
            dict(weights),
            f'has no weight for {", ".join(missing)} (expected a weight for every region with mode = "weighted")',
        )
    return good


def _state(reader: Reader, top: Mapping[str, Any], values: Mapping[str, Any]) -> StateConfig:
    """Only the chosen backend's keys are known keys."""
    keys = {key.name: key for key in SECTIONS["state"].keys()}  # noqa: SIM118 (a Section, not a dict)
    raw = top.get("state", {})
    backend = reader.read(raw if isinstance(raw, Mapping) else {}, keys["backend"])
    own = [key for key in keys.values() if key.setting.backend == backend]
    table = reader.section(top, "state", ["backend", *(key.name for key in own)])
    return StateConfig(backend=backend, **{key.field: reader.read(table, key) for key in own})


def _auth(reader: Reader, top: Mapping[str, Any], values: Mapping[str, Any]) -> AuthConfig:
    """Authentication is on unless ``public = true``, which a protected environment may not
    say; a real environment names its issuer, an emulated one gets the local issuer."""
    read = reader.read_section(top, SECTIONS["auth"])
    if read["public"]:
        if values["protected"]:
            reader.error(
                "auth.public",
                True,
                "is not allowed in a protected environment (expected an issuer "
                "and audience: every item route needs a token)",
            )
        return AuthConfig(**read)
    if values["emulator"] and read["issuer"]:
        reader.error(
            "auth.issuer",
            read["issuer"],
            "is not used in emulator mode (expected it unset: `make deploy` starts a local issuer on 127.0.0.1)",
        )
    if not values["emulator"] and not read["issuer"]:
        reader.error(
            "auth.issuer",
            None,
            "is missing (expected the https URL of the OpenID Connect issuer "
            "whose tokens are accepted, or public = true for no authentication)",
        )
    if not read["audience"]:
        reader.error(
            "auth.audience",
            None,
            "is missing (expected the audience every token must name, or public = true for no authentication)",
        )
    return AuthConfig(**read)


def _waf(reader: Reader, top: Mapping[str, Any], values: Mapping[str, Any]) -> WafConfig:
    """WAF defaults to on exactly where the environment is protected."""
    read = reader.read_section(top, SECTIONS["waf"])
    enabled = values["protected"] if read["enabled"] is None else read["enabled"]
    return WafConfig(**{**read, "enabled": enabled})


def fis_bucket_name(project: str, environment: str, account: str, region: str) -> str:
    """The region's bucket FIS writes fault configurations to (S3 names are global: the
    account makes it unique)."""
    return f"{project}-{environment}-fis-{account}-{region}"


def _chaos(reader: Reader, top: Mapping[str, Any], values: Mapping[str, Any]) -> ChaosConfig:
    """FIS exists only on AWS: an emulator environment cannot have its templates; the
    configuration buckets' names must fit S3's limit."""
    settings = ChaosConfig(**reader.read_section(top, SECTIONS["chaos"]))
    if not settings.fis:
        return settings
    if values.get("emulator"):
        reader.error(
            "chaos.fis",
            settings.fis,
            "is not available with emulator = true (expected false: the emulator has no AWS FIS; "
            "the local experiments inject their faults into the local deployment instead)",
        )
        return replace(settings, fis=False)
    # Every account id has 12 digits: the length does not depend on which.
    names = [fis_bucket_name(values.get("project") or "", reader.environment, "0" * 12, r) for r in values["regions"]]
    longest = max(names, key=len, default="")
    if len(longest) > MAX_BUCKET_NAME:
        reader.error(
            "chaos.fis",
            settings.fis,
            f"needs a bucket per region named {fis_bucket_name('<project>', '<env>', '<account>', '<region>')}, "
            f"{len(longest)} characters for {longest!r} (expected at most {MAX_BUCKET_NAME}: S3's limit; "
            "use a shorter project or environment name)",
        )
    return settings


def runtime_refusal(runtime: str, today: datetime.date) -> str | None:
    """Why ``runtime`` may not be deployed to Lambda on ``today``, or None."""
    deprecated = RUNTIME_DEPRECATION.get(runtime)
    if deprecated is None or (deprecated - today).days > RUNTIME_NOTICE_DAYS:
        return None
    when = "was deprecated" if deprecated <= today else "is deprecated"
    later = sorted(r for r, d in RUNTIME_DEPRECATION.items() if (d - today).days > RUNTIME_NOTICE_DAYS)
    return (
        f"{when} by AWS Lambda on {deprecated.isoformat()}, within {RUNTIME_NOTICE_DAYS} days of {today.isoformat()} "
        f"(expected one of: {', '.join(later) or 'none left: update RUNTIME_DEPRECATION'}; Lambda runtimes page)"
    )


def _lambda(reader: Reader, top: Mapping[str, Any], values: Mapping[str, Any]) -> LambdaConfig:
    """The functions' reservations must leave the minimum unreserved in each region, and the
    runtime must not be deprecated within 6 months (the emulator runs the machine's Python)."""
    settings = LambdaConfig(**reader.read_section(top, SECTIONS["lambda"]))
    refusal = None if values.get("emulator") else runtime_refusal(settings.runtime, datetime.date.today())
    if refusal:
        reader.error("lambda.runtime", settings.runtime, refusal)
    left = settings.account_concurrency - settings.reserved_per_region
    if left < MIN_UNRESERVED_CONCURRENCY:
        field_name, value = (
            ("lambda.reserved_concurrency", settings.reserved_concurrency)
            if settings.reserved_concurrency
            else ("lambda.account_concurrency", settings.account_concurrency)
        )
        reader.error(
            field_name,
            value,
            f"reserves {settings.reserved_per_region} per region (the item functions' reservations and "
            f"{HEALTH_RESERVED_CONCURRENCY} for health), which leaves {left} of lambda.account_concurrency = "
            f"{settings.account_concurrency} unreserved (expected at least {MIN_UNRESERVED_CONCURRENCY} unreserved, "
            "which Lambda requires: reserve less, or raise the account's quota and lambda.account_concurrency)",
        )
    return settings


def _accounts(reader: Reader, top: Mapping[str, Any], values: Mapping[str, Any]) -> tuple[str, ...]:
    """A real environment names its account, so it cannot be applied into another's."""
    accounts = reader.read(top, ACCOUNTS)
    given = top.get(ACCOUNTS.name)
    if not given and not values["emulator"]:
        reader.error(
            ACCOUNTS.path,
            given,
            f"{'is missing' if given is None else 'names no account'} (expected the environment's AWS account, "
            'e.g. ["123456789012"]; only emulator environments may leave it out)',
        )
    return accounts


# Fields read by the functions above rather than straight from their declarations.
EXPLICIT = {
    "regions": _regions,
    "domain": _domain,
    "routing": _routing,
    "lambda_": _lambda,
    "auth": _auth,
    "waf": _waf,
    "chaos": _chaos,
    "state": _state,
    "allowed_account_ids": _accounts,
}
