"""Environment files: schema, loading and validation.

An environment file (``environments/<env>.toml``) is data only. ``load_environment`` turns it
into a frozen ``EnvironmentConfig`` or raises ``ConfigError`` naming the field, the value
received and what was expected. Nothing here imports cdktf or the provider binding, so a bad
file is reported in well under a second, before anything is synthesized or written.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

# Commercial AWS regions where DynamoDB global tables, API Gateway, Lambda and ACM all exist.
AWS_REGIONS: frozenset[str] = frozenset(
    {
        "us-east-1", "us-east-2", "us-west-1", "us-west-2",
        "af-south-1",
        "ap-east-1", "ap-south-1", "ap-south-2", "ap-southeast-1", "ap-southeast-2",
        "ap-southeast-3", "ap-southeast-4", "ap-southeast-5", "ap-southeast-7",
        "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
        "ca-central-1", "ca-west-1",
        "eu-central-1", "eu-central-2", "eu-west-1", "eu-west-2", "eu-west-3",
        "eu-north-1", "eu-south-1", "eu-south-2",
        "il-central-1", "me-central-1", "me-south-1", "mx-central-1", "sa-east-1",
    }
)

ROUTING_MODES = ("latency", "failover", "weighted")
LAMBDA_RUNTIMES = ("python3.11", "python3.12", "python3.13")
ARCHITECTURES = ("arm64", "x86_64")
TABLE_ENCRYPTION = ("customer_managed", "aws_managed", "aws_owned")
STATE_BACKENDS = ("local", "s3", "cloud")
# The values CloudWatch Logs accepts for retention_in_days.
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
    2922, 3288, 3653,
)
HEALTH_CHECK_INTERVALS = (10, 30)
# API Gateway's integration timeout is 29 s; a Lambda that runs longer only burns money.
MAX_LAMBDA_TIMEOUT = 29

_NAME = re.compile(r"^[a-z][a-z0-9-]{0,19}$")
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_ACCOUNT_ID = re.compile(r"^[0-9]{12}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_STAGE = re.compile(r"^[A-Za-z0-9_]{1,64}$")
_TAG_KEY = re.compile(r"^[\w .:/=+@-]{1,128}$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_WORKSPACE = re.compile(r"^[A-Za-z0-9_-]{1,90}$")
_RELATIVE_PATH = re.compile(r"^[A-Za-z0-9_./-]+$")


class ConfigError(ValueError):
    """An environment file that must not be synthesized. The message names the file,
    the field, the value received and what was expected."""


@dataclass(frozen=True, kw_only=True)
class DomainConfig:
    """Custom domain. ``zone_name`` is an existing public hosted zone (looked up by name);
    ``record_name`` is the API's name inside it, e.g. ``api.example.com``."""

    zone_name: str
    record_name: str


@dataclass(frozen=True, kw_only=True)
class RoutingConfig:
    """How Route53 spreads clients over regions. ``mode``: latency (default), failover
    (exactly two regions, primary first) or weighted (``weights`` per region, 1-255)."""

    mode: str = "latency"
    weights: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class HealthCheckConfig:
    """Route53 health check of each region's ``/health``. Defaults: 30 s, 3 failures."""

    interval: int = 30
    failure_threshold: int = 3
    path: str = "/health"


@dataclass(frozen=True, kw_only=True)
class LambdaConfig:
    """Function settings shared by every handler. ``reserved_concurrency`` None means
    unreserved (the account pool)."""

    runtime: str = "python3.12"
    architecture: str = "arm64"
    memory: int = 256
    timeout: int = 10
    reserved_concurrency: int | None = None
    log_retention_days: int = 30


@dataclass(frozen=True, kw_only=True)
class ApiConfig:
    """REST API stage and its default throttling (requests per second and burst)."""

    stage: str = "v1"
    throttle_rate_limit: float = 100.0
    throttle_burst_limit: int = 200


@dataclass(frozen=True, kw_only=True)
class TableConfig:
    """The global table. ``name`` is the component in ``{project}-{env}-{name}``.
    ``encryption``: customer_managed (a KMS key per region, default), aws_managed, aws_owned."""

    name: str = "items"
    point_in_time_recovery: bool = True
    deletion_protection: bool = False
    encryption: str = "customer_managed"


@dataclass(frozen=True, kw_only=True)
class AlarmConfig:
    """Where alarms go: an SNS topic always, an email subscription when ``email`` is set."""

    email: str | None = None


@dataclass(frozen=True, kw_only=True)
class StateConfig:
    """Terraform state. ``backend``: local (``path``, relative to the project), s3
    (``bucket``, ``key``, ``region``, ``use_lockfile``) or cloud (``organization``,
    ``workspace``, ``hostname``)."""

    backend: str = "local"
    path: str = ""
    bucket: str = ""
    key: str = ""
    region: str = ""
    use_lockfile: bool = True
    organization: str = ""
    workspace: str = ""
    hostname: str = "app.terraform.io"


@dataclass(frozen=True, kw_only=True)
class EnvironmentConfig:
    """One environment: everything the stack needs, validated."""

    project: str
    environment: str
    regions: tuple[str, ...]
    domain: DomainConfig | None = None
    routing: RoutingConfig = field(default_factory=RoutingConfig)
    health_check: HealthCheckConfig = field(default_factory=HealthCheckConfig)
    lambda_: LambdaConfig = field(default_factory=LambdaConfig)
    api: ApiConfig = field(default_factory=ApiConfig)
    table: TableConfig = field(default_factory=TableConfig)
    alarms: AlarmConfig = field(default_factory=AlarmConfig)
    state: StateConfig = field(default_factory=StateConfig)
    tags: Mapping[str, str] = field(default_factory=dict)
    allowed_account_ids: tuple[str, ...] = ()
    emulator: bool = False

    @property
    def primary_region(self) -> str:
        return self.regions[0]

    @property
    def secondary_regions(self) -> tuple[str, ...]:
        return self.regions[1:]

    @property
    def stack_name(self) -> str:
        return f"backend-{self.environment}"


# ---------------------------------------------------------------------------------------
# Loading


def load_environment(path: Path) -> EnvironmentConfig:
    """Read and validate one environment file; the environment name is the file's stem."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML: {err}") from None
    except OSError as err:
        raise ConfigError(f"{path}: cannot be read: {err.strerror}") from None
    return parse_environment(raw, environment=path.stem, source=str(path))


def load_environments(directory: Path, names: list[str] | None = None) -> list[EnvironmentConfig]:
    """Load every ``*.toml`` in ``directory`` (sorted), or only ``names`` when given.
    All files are validated before any is returned, and every error is reported at once."""
    directory = Path(directory)
    available = {p.stem: p for p in sorted(directory.glob("*.toml"))}
    if names:
        unknown = [n for n in names if n not in available]
        if unknown:
            raise ConfigError(
                f"environment {', '.join(repr(n) for n in unknown)} not found in {directory}/ "
                f"(expected one of: {', '.join(sorted(available)) or 'none'})"
            )
        chosen = [available[n] for n in dict.fromkeys(names)]
    else:
        chosen = list(available.values())
    if not chosen:
        raise ConfigError(f"{directory}/: no environment files (expected <env>.toml)")
    configs, errors = [], []
    for p in chosen:
        try:
            configs.append(load_environment(p))
        except ConfigError as err:
            errors.append(str(err))
    if errors:
        raise ConfigError("\n".join(errors))
    return configs


def parse_environment(raw: Mapping[str, Any], *, environment: str, source: str = "<config>") -> EnvironmentConfig:
    """Validate a parsed TOML document. Raises ConfigError listing every problem found."""
    r = _Reader(source)
    r.check_name("environment (file name)", environment)
    top = r.table(raw, "", _TOP_KEYS)
    project = r.value(top, "project", str, required=True)
    if project is not None:
        r.check_name("project", project)
    regions = _regions(r, top)
    emulator = r.value(top, "emulator", bool, default=False)
    config = EnvironmentConfig(
        project=project or "",
        environment=environment,
        regions=regions,
        domain=_domain(r, top),
        routing=_routing(r, top, regions),
        health_check=_health_check(r, top),
        lambda_=_lambda(r, top),
        api=_api(r, top),
        table=_table(r, top),
        alarms=_alarms(r, top),
        state=_state(r, top, environment),
        tags=_tags(r, top),
        allowed_account_ids=_accounts(r, top),
        emulator=emulator,
    )
    r.raise_if_errors()
    return config


_TOP_KEYS = {
    "project", "regions", "domain", "routing", "health_check", "lambda", "api", "table",
    "alarms", "state", "tags", "allowed_account_ids", "primary_region", "emulator",
}


class _Reader:
    """Collects every problem in a file so the user fixes them in one pass."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.errors: list[str] = []

    def error(self, field_name: str, value: Any, expected: str) -> None:
        self.errors.append(f"{self.source}: {field_name}: {_show(value)} {expected}")

    def raise_if_errors(self) -> None:
        if self.errors:
            raise ConfigError("\n".join(self.errors))

    def table(self, raw: Any, prefix: str, allowed: set[str]) -> Mapping[str, Any]:
        if not isinstance(raw, Mapping):
            self.error(prefix.rstrip("."), raw, "is not a table (expected [section] with keys)")
            return {}
        for key in raw:
            if key not in allowed:
                hint = _closest(key, allowed)
                self.error(
                    f"{prefix}{key}",
                    key,
                    f"is not a known key{f' (did you mean {hint!r}?)' if hint else ''} "
                    f"(expected one of: {', '.join(sorted(allowed))})",
                )
        return raw

    def section(self, top: Mapping[str, Any], name: str, allowed: set[str]) -> Mapping[str, Any]:
        if name not in top:
            return {}
        return self.table(top[name], f"{name}.", allowed)

    def value(self, table: Mapping[str, Any], key: str, kind: type | tuple[type, ...], *,
              prefix: str = "", default: Any = None, required: bool = False) -> Any:
        name = f"{prefix}{key}"
        if key not in table:
            if required:
                self.error(name, None, f"is missing (expected {_a(_kind(kind))})")
            return default
        v = table[key]
        # bool is an int in Python; never accept true for a number or 1 for a flag.
        ok = isinstance(v, kind) and not (isinstance(v, bool) and bool not in _as_tuple(kind))
        if not ok:
            self.error(name, v, f"is {_a(_toml_type(v))} (expected {_a(_kind(kind))})")
            return default
        return v

    def number(self, table: Mapping[str, Any], key: str, *, prefix: str, default: Any,
               low: float, high: float, kind: type | tuple[type, ...] = int) -> Any:
        v = self.value(table, key, kind, prefix=prefix, default=None)
        if v is None:
            return default
        if not low <= v <= high:
            self.error(f"{prefix}{key}", v, f"is out of range (expected {low:g} to {high:g})")
            return default
        return v

    def choice(self, table: Mapping[str, Any], key: str, choices: tuple, *, prefix: str, default: Any) -> Any:
        v = self.value(table, key, type(choices[0]), prefix=prefix, default=None)
        if v is None:
            return default
        if v not in choices:
            self.error(f"{prefix}{key}", v, f"is not allowed (expected one of: {', '.join(map(str, choices))})")
            return default
        return v

    def check_name(self, field_name: str, value: str) -> None:
        if not _NAME.match(value):
            self.error(
                field_name, value,
                "is not a valid name (expected 1-20 characters: lowercase letters, digits, "
                "'-', starting with a letter)",
            )


def _regions(r: _Reader, top: Mapping[str, Any]) -> tuple[str, ...]:
    regions = r.value(top, "regions", list, required=True)
    if regions is None:
        return ()
    good: list[str] = []
    for i, region in enumerate(regions):
        if not isinstance(region, str):
            r.error(f"regions[{i}]", region, "is not a string (expected a region name like \"eu-west-1\")")
        elif region not in AWS_REGIONS:
            hint = _closest(region, AWS_REGIONS)
            r.error(
                "regions", region,
                f"is not an AWS region (expected e.g. {hint or 'eu-west-1'})",
            )
        elif region in good:
            r.error("regions", region, "is listed twice (expected each region once)")
        else:
            good.append(region)
    if len(regions) < 2:
        r.error(
            "regions", regions,
            "has fewer than two regions (expected at least two; the first is the primary)",
        )
    primary = r.value(top, "primary_region", str)
    if primary is not None:
        if primary not in good:
            r.error(
                "primary_region", primary,
                f"is not one of regions (expected one of: {', '.join(good) or 'the listed regions'})",
            )
        else:
            good.remove(primary)
            good.insert(0, primary)
    return tuple(good)


def _domain(r: _Reader, top: Mapping[str, Any]) -> DomainConfig | None:
    if "domain" not in top:
        return None
    d = r.section(top, "domain", {"zone_name", "record_name"})
    zone = r.value(d, "zone_name", str, prefix="domain.", required=True)
    record = r.value(d, "record_name", str, prefix="domain.", required=True)
    ok = True
    for key, name in (("zone_name", zone), ("record_name", record)):
        if name is not None and not _is_domain(name):
            r.error(
                f"domain.{key}", name,
                "is not a valid domain name (expected lowercase labels separated by dots, "
                "e.g. \"api.example.com\", no trailing dot)",
            )
            ok = False
    if zone is None or record is None or not ok:
        return None
    if not record.endswith("." + zone):
        r.error(
            "domain.record_name", record,
            f"is not inside the zone {zone!r} (expected a name ending in \".{zone}\")",
        )
        return None
    return DomainConfig(zone_name=zone, record_name=record)


def _routing(r: _Reader, top: Mapping[str, Any], regions: tuple[str, ...]) -> RoutingConfig:
    t = r.section(top, "routing", {"mode", "weights"})
    mode = r.choice(t, "mode", ROUTING_MODES, prefix="routing.", default="latency")
    weights_raw = r.value(t, "weights", Mapping, prefix="routing.", default={})
    weights: dict[str, int] = {}
    if mode == "failover" and len(regions) != 2:
        r.error(
            "routing.mode", "failover",
            f"needs exactly two regions (got {len(regions)}: {', '.join(regions)}); "
            "expected latency or weighted routing for more",
        )
    if mode != "weighted":
        if weights_raw:
            r.error("routing.weights", dict(weights_raw), f"is only used with mode = \"weighted\" (mode is {mode!r})")
        return RoutingConfig(mode=mode)
    for region, w in weights_raw.items():
        if region not in regions:
            r.error(f"routing.weights.{region}", region, f"is not one of regions (expected one of: {', '.join(regions)})")
        elif not isinstance(w, int) or isinstance(w, bool) or not 1 <= w <= 255:
            r.error(f"routing.weights.{region}", w, "is not a positive weight (expected an integer from 1 to 255)")
        else:
            weights[region] = w
    missing = [reg for reg in regions if reg not in weights_raw]
    if missing:
        r.error(
            "routing.weights", dict(weights_raw),
            f"has no weight for {', '.join(missing)} (expected a weight for every region with mode = \"weighted\")",
        )
    return RoutingConfig(mode=mode, weights=weights)


def _health_check(r: _Reader, top: Mapping[str, Any]) -> HealthCheckConfig:
    p = "health_check."
    t = r.section(top, "health_check", {"interval", "failure_threshold", "path"})
    d = HealthCheckConfig()
    interval = r.choice(t, "interval", HEALTH_CHECK_INTERVALS, prefix=p, default=d.interval)
    threshold = r.number(t, "failure_threshold", prefix=p, default=d.failure_threshold, low=1, high=10)
    path = r.value(t, "path", str, prefix=p, default=d.path)
    if not re.match(r"^/[A-Za-z0-9_./-]{0,254}$", path):
        r.error(f"{p}path", path, "is not a URL path (expected e.g. \"/health\")")
        path = d.path
    return HealthCheckConfig(interval=interval, failure_threshold=threshold, path=path)


def _lambda(r: _Reader, top: Mapping[str, Any]) -> LambdaConfig:
    p = "lambda."
    t = r.section(top, "lambda", {"runtime", "architecture", "memory", "timeout", "reserved_concurrency", "log_retention_days"})
    d = LambdaConfig()
    reserved = r.number(t, "reserved_concurrency", prefix=p, default=None, low=1, high=10000)
    return LambdaConfig(
        runtime=r.choice(t, "runtime", LAMBDA_RUNTIMES, prefix=p, default=d.runtime),
        architecture=r.choice(t, "architecture", ARCHITECTURES, prefix=p, default=d.architecture),
        memory=r.number(t, "memory", prefix=p, default=d.memory, low=128, high=10240),
        timeout=r.number(t, "timeout", prefix=p, default=d.timeout, low=1, high=MAX_LAMBDA_TIMEOUT),
        reserved_concurrency=reserved,
        log_retention_days=r.choice(t, "log_retention_days", LOG_RETENTION_DAYS, prefix=p, default=d.log_retention_days),
    )


def _api(r: _Reader, top: Mapping[str, Any]) -> ApiConfig:
    p = "api."
    t = r.section(top, "api", {"stage", "throttle_rate_limit", "throttle_burst_limit"})
    d = ApiConfig()
    stage = r.value(t, "stage", str, prefix=p, default=d.stage)
    if not _STAGE.match(stage):
        r.error(f"{p}stage", stage, "is not a valid stage name (expected 1-64 letters, digits or '_')")
        stage = d.stage
    rate = r.number(t, "throttle_rate_limit", prefix=p, default=d.throttle_rate_limit, low=1, high=10000, kind=(int, float))
    burst = r.number(t, "throttle_burst_limit", prefix=p, default=d.throttle_burst_limit, low=1, high=5000)
    return ApiConfig(stage=stage, throttle_rate_limit=float(rate), throttle_burst_limit=burst)


def _table(r: _Reader, top: Mapping[str, Any]) -> TableConfig:
    p = "table."
    t = r.section(top, "table", {"name", "point_in_time_recovery", "deletion_protection", "encryption"})
    d = TableConfig()
    name = r.value(t, "name", str, prefix=p, default=d.name)
    if not _NAME.match(name):
        r.error(f"{p}name", name, "is not a valid name (expected 1-20 characters: lowercase letters, digits, '-')")
        name = d.name
    return TableConfig(
        name=name,
        point_in_time_recovery=r.value(t, "point_in_time_recovery", bool, prefix=p, default=d.point_in_time_recovery),
        deletion_protection=r.value(t, "deletion_protection", bool, prefix=p, default=d.deletion_protection),
        encryption=r.choice(t, "encryption", TABLE_ENCRYPTION, prefix=p, default=d.encryption),
    )


def _alarms(r: _Reader, top: Mapping[str, Any]) -> AlarmConfig:
    t = r.section(top, "alarms", {"email"})
    email = r.value(t, "email", str, prefix="alarms.")
    if email is not None and not _EMAIL.match(email):
        r.error("alarms.email", email, "is not an email address (expected e.g. \"ops@example.com\")")
        email = None
    return AlarmConfig(email=email)


_STATE_KEYS = {
    "local": {"backend", "path"},
    "s3": {"backend", "bucket", "key", "region", "use_lockfile"},
    "cloud": {"backend", "organization", "workspace", "hostname"},
}


def _state(r: _Reader, top: Mapping[str, Any], environment: str) -> StateConfig:
    p = "state."
    raw = top.get("state", {})
    backend = r.choice(raw if isinstance(raw, Mapping) else {}, "backend", STATE_BACKENDS, prefix=p, default="local")
    t = r.section(top, "state", _STATE_KEYS[backend])
    if backend == "local":
        path = r.value(t, "path", str, prefix=p, default=f"state/backend-{environment}.tfstate")
        if not _RELATIVE_PATH.match(path) or path.startswith("/") or ".." in path.split("/"):
            r.error(f"{p}path", path, "is not a path inside the project (expected e.g. \"state/backend-dev.tfstate\")")
        return StateConfig(backend="local", path=path)
    if backend == "s3":
        bucket = r.value(t, "bucket", str, prefix=p, required=True)
        if bucket is not None and not _BUCKET.match(bucket):
            r.error(f"{p}bucket", bucket, "is not an S3 bucket name (expected 3-63 lowercase letters, digits, '.', '-')")
        region = r.value(t, "region", str, prefix=p, required=True)
        if region is not None and region not in AWS_REGIONS:
            r.error(f"{p}region", region, "is not an AWS region (expected e.g. eu-west-1)")
        key = r.value(t, "key", str, prefix=p, default=f"backend/{environment}/terraform.tfstate")
        if not _RELATIVE_PATH.match(key) or key.startswith("/"):
            r.error(f"{p}key", key, "is not a valid state key (expected e.g. \"backend/dev/terraform.tfstate\")")
        return StateConfig(
            backend="s3", bucket=bucket or "", key=key, region=region or "",
            use_lockfile=r.value(t, "use_lockfile", bool, prefix=p, default=True),
        )
    organization = r.value(t, "organization", str, prefix=p, required=True)
    workspace = r.value(t, "workspace", str, prefix=p, default=f"backend-{environment}")
    if not _WORKSPACE.match(workspace):
        r.error(f"{p}workspace", workspace, "is not a workspace name (expected letters, digits, '-', '_')")
    hostname = r.value(t, "hostname", str, prefix=p, default="app.terraform.io")
    if not _is_domain(hostname):
        r.error(f"{p}hostname", hostname, "is not a host name (expected e.g. \"app.terraform.io\")")
    return StateConfig(backend="cloud", organization=organization or "", workspace=workspace, hostname=hostname)


def _tags(r: _Reader, top: Mapping[str, Any]) -> dict[str, str]:
    raw = r.value(top, "tags", Mapping, default={})
    tags: dict[str, str] = {}
    for k, v in raw.items():
        if not _TAG_KEY.match(k) or k.lower().startswith("aws:"):
            r.error(f"tags.{k}", k, "is not a valid tag key (expected 1-128 characters, not starting with \"aws:\")")
        elif not isinstance(v, str) or len(v) > 256:
            r.error(f"tags.{k}", v, "is not a valid tag value (expected a string of at most 256 characters)")
        else:
            tags[k] = v
    return tags


def _accounts(r: _Reader, top: Mapping[str, Any]) -> tuple[str, ...]:
    raw = r.value(top, "allowed_account_ids", list, default=[])
    good = []
    for a in raw:
        if not isinstance(a, str) or not _ACCOUNT_ID.match(a):
            r.error("allowed_account_ids", a, "is not an AWS account id (expected a string of 12 digits)")
        else:
            good.append(a)
    return tuple(good)


# ---------------------------------------------------------------------------------------
# Helpers


def _is_domain(name: str) -> bool:
    labels = name.split(".")
    return len(name) <= 253 and len(labels) >= 2 and all(_LABEL.match(label) for label in labels)


def _closest(word: str, options: set[str] | frozenset[str]) -> str | None:
    import difflib

    match = difflib.get_close_matches(word, sorted(options), n=1, cutoff=0.75)
    return match[0] if match else None


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _kind(kind: type | tuple[type, ...]) -> str:
    names = {str: "string", int: "integer", float: "number", bool: "boolean", list: "list", Mapping: "table"}
    return " or ".join(names.get(k, k.__name__) for k in _as_tuple(kind))


def _toml_type(v: Any) -> str:
    for t, name in ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"), (list, "list"), (Mapping, "table")):
        if isinstance(v, t):
            return name
    return type(v).__name__


def _show(v: Any) -> str:
    if isinstance(v, str):
        return f'"{v}"'
    if isinstance(v, bool):
        return "true" if v else "false"
    if v is None:
        return "(not set)"
    return repr(v) if not isinstance(v, Mapping) else repr(dict(v))


def _a(noun: str) -> str:
    return f"{'an' if noun[0] in 'aeiou' else 'a'} {noun}"
