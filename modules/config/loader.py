"""Environment files: every key declared once, loading and validation.

An environment file (``environments/<env>.toml``) is data only. Each key is declared once,
as a field of the dataclasses below (name, TOML type, default, constraint, description,
required-ness; see ``modules/config/schema.py``); validation and the README's environment
table both come from those declarations, and the rules that involve several keys are the
explicit checks further down. ``load_environment`` turns a file into a frozen
``EnvironmentConfig`` or raises ``ConfigError`` naming the file, the field, the value
received and what was expected, for every problem at once. Nothing here imports cdktf or
the provider binding, so a bad file is reported in well under a second, before anything is
synthesized or written.

``python -m modules.config.loader --markdown`` prints the README table; ``make docs`` rewrites it.
"""

from __future__ import annotations

import argparse
import datetime
import re
import sys
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from functions.schema import LOG_LEVELS
from modules.config.schema import (
    ConfigError,
    Key,
    PerEnvironment,
    Reader,
    Rule,
    Section,
    Setting,
    between,
    closest,
    declarations,
    markdown_table,
    marked_span,
    matches,
    one_of,
    section,
    setting,
)
from modules.routes import ROUTES

# Commercial AWS regions where DynamoDB global tables, API Gateway, Lambda and ACM all exist.
AWS_REGIONS: frozenset[str] = frozenset(
    {
        "us-east-1",
        "us-east-2",
        "us-west-1",
        "us-west-2",
        "af-south-1",
        "ap-east-1",
        "ap-south-1",
        "ap-south-2",
        "ap-southeast-1",
        "ap-southeast-2",
        "ap-southeast-3",
        "ap-southeast-4",
        "ap-southeast-5",
        "ap-southeast-7",
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-northeast-3",
        "ca-central-1",
        "ca-west-1",
        "eu-central-1",
        "eu-central-2",
        "eu-west-1",
        "eu-west-2",
        "eu-west-3",
        "eu-north-1",
        "eu-south-1",
        "eu-south-2",
        "il-central-1",
        "me-central-1",
        "me-south-1",
        "mx-central-1",
        "sa-east-1",
    }
)
# The values CloudWatch Logs accepts for retention_in_days.
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)
# AWS Lambda's deprecation dates of the Python runtimes: the "Supported runtimes" table of the
# Lambda Developer Guide, https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html
# (read 2026-12-05; AWS may move a date, update it here). After it, Lambda stops patching the
# runtime and soon blocks creating and updating functions on it.
RUNTIME_DEPRECATION = {
    "python3.11": datetime.date(2026, 6, 30),
    "python3.12": datetime.date(2028, 10, 31),
    "python3.13": datetime.date(2029, 6, 30),
}
# A runtime deprecated within this many days is refused (about 6 months).
RUNTIME_NOTICE_DAYS = 183
# API Gateway's integration timeout is 29 s; a Lambda that runs longer only burns money.
MAX_LAMBDA_TIMEOUT = 29
# The weights a region may get with weighted routing.
MIN_WEIGHT, MAX_WEIGHT = 1, 255
# Lambda refuses a reservation that leaves fewer than 100 concurrent executions of the
# account's regional quota unreserved (for the functions without a reservation).
MIN_UNRESERVED_CONCURRENCY = 100
# Where Route53 may run health checkers (HealthCheckConfig.Regions, Route53 API reference)
# and how many of those regions a check must use at least.
ROUTE53_CHECKER_REGIONS = (
    "us-east-1",
    "us-west-1",
    "us-west-2",
    "eu-west-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-northeast-1",
    "sa-east-1",
)
MIN_CHECKER_REGIONS = 3
DEFAULT_CHECKER_REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-1")
# Route53 does not publish how many checkers probe from each region; about 15-16 over its 8
# default regions is what AWS describes (2 a region), so 3 a region is the margin assumed.
CHECKERS_PER_REGION = 3
# Route53 HTTPS checks on each region's /health: one per signal check of its routing check,
# 3 with an authorizer (rate, traffic floor, authorizer), 2 without; sized for the most
# (modules/constructs/global_routing.py). Each is probed by every checker.
HTTPS_CHECKS_PER_REGION = 3
# One more concurrent execution for an operator's or the smoke step's own probe.
OPERATOR_HEALTH_PROBES = 1
# /health reserves this much, so item traffic can never throttle the health checks (a
# throttled check fails, and Route53 takes the region out). A check answers in at most ~1 s
# (the DynamoDB timeout), less than the 10 or 30 s interval, so each checker has at most one
# request in flight per check: 3 regions x 3 checkers x 3 HTTPS checks + 1 = 28. It is also a
# cap: more is throttled (docs/production-signals.md, "/health").
HEALTH_RESERVED_CONCURRENCY = (
    len(DEFAULT_CHECKER_REGIONS) * CHECKERS_PER_REGION * HTTPS_CHECKS_PER_REGION + OPERATOR_HEALTH_PROBES
)
# The health route: the only path Route53 may check.
HEALTH_ROUTE = next(route for route in ROUTES if route.id == "health")

_NAME = r"^[a-z][a-z0-9-]{0,19}$"
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_ACCOUNT_ID = re.compile(r"^[0-9]{12}$")
_TAG_KEY = re.compile(r"^[\w .:/=+@-]{1,128}$")
_RELATIVE_PATH = re.compile(r"^[A-Za-z0-9_./-]+$")


def _is_domain(name: str) -> bool:
    labels = name.split(".")
    return len(name) <= 253 and len(labels) >= 2 and all(_LABEL.match(label) for label in labels)


NAME = matches(
    _NAME,
    "is not a valid name (expected 1-20 characters: lowercase letters, digits, '-', starting with a letter)",
    "name: `[a-z][a-z0-9-]{0,19}`",
)
DOMAIN_NAME = Rule(
    _is_domain,
    'is not a valid domain name (expected lowercase labels separated by dots, e.g. "api.example.com", no trailing dot)',
    "domain name",
)
AWS_REGION = Rule(lambda value: value in AWS_REGIONS, "is not an AWS region (expected e.g. eu-west-1)", "AWS region")


# --- declarations: one field per key ---------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class DomainConfig:
    """``[domain]``: the API's custom name."""

    zone_name: str = setting("existing public hosted zone, looked up by name", required=True, rule=DOMAIN_NAME)
    record_name: str = setting(
        "the API's name inside the zone, e.g. `api.example.com`",
        required=True,
        rule=DOMAIN_NAME,
        type_doc="domain name inside the zone",
    )


@dataclass(frozen=True, kw_only=True)
class RoutingConfig:
    """``[routing]``: how Route53 spreads clients over regions."""

    mode: str = setting(
        "how Route53 picks a region for each client; `failover` needs exactly two regions; `traffic-policy`: "
        "a Traffic Flow policy record routing by latency (billed monthly per record, docs/traffic-policy.md)",
        default="latency",
        rule=one_of("latency", "failover", "weighted", "traffic-policy"),
    )
    weights: Mapping[str, int] = setting(
        "weight per region, every region present",
        default={},
        type_doc=f"table of region = {MIN_WEIGHT}..{MAX_WEIGHT}",
        required_doc="with `weighted`",
    )
    failover_within_region: bool = setting(
        "with `traffic-policy`: each region's rule fails over to the next region in `regions` (the last to the "
        "first) when the region's own endpoint is unhealthy, instead of leaving the choice to latency",
        default=False,
    )


@dataclass(frozen=True, kw_only=True)
class HealthCheckConfig:
    """``[health_check]``: the Route53 health check of each region's health path."""

    interval: int = setting("Route53 request interval, seconds", default=30, rule=one_of(10, 30))
    failure_threshold: int = setting("failures before a region is unhealthy", default=3, rule=between(1, 10))
    path: str = setting(
        "health path after the stage; only the API's health route (any other path fails in every region, and "
        "Route53 then routes to all of them)",
        default=HEALTH_ROUTE.path,
        rule=Rule(
            lambda value: value == HEALTH_ROUTE.path,
            f'is not the path of the health route (expected "{HEALTH_ROUTE.path}", the path the API serves '
            f"{HEALTH_ROUTE.method} on)",
            f"`{HEALTH_ROUTE.path}`",
        ),
    )
    regions: tuple[str, ...] = setting(
        f"the {MIN_CHECKER_REGIONS} Route53 regions whose checkers probe (Route53's minimum: fewer probes, and "
        "/health's reservation is sized for them); WAF exempts only their published address ranges from its rate limit",
        default=DEFAULT_CHECKER_REGIONS,
        default_doc=", ".join(f"`{region}`" for region in DEFAULT_CHECKER_REGIONS),
        rule=Rule(
            lambda value: len(value) == MIN_CHECKER_REGIONS,
            f"is not {MIN_CHECKER_REGIONS} regions (expected {MIN_CHECKER_REGIONS}: /health's reserved "
            "concurrency is sized for that many)",
            f"{MIN_CHECKER_REGIONS} Route53 checker regions",
        ),
        each=one_of(*ROUTE53_CHECKER_REGIONS),
    )


@dataclass(frozen=True, kw_only=True)
class LambdaConfig:
    """``[lambda]``: function settings shared by every handler."""

    runtime: str = setting(
        "Lambda runtime", default="python3.12", rule=one_of("python3.11", "python3.12", "python3.13")
    )
    architecture: str = setting("CPU architecture", default="arm64", rule=one_of("arm64", "x86_64"))
    memory: int = setting("memory, MB", default=256, rule=between(128, 10240))
    timeout: int = setting(
        f"timeout, seconds (API Gateway stops waiting at {MAX_LAMBDA_TIMEOUT})",
        default=10,
        rule=between(1, MAX_LAMBDA_TIMEOUT),
    )
    reserved_concurrency: int | None = setting(
        "reserved concurrency of each item function (create, get, delete); the health function always "
        f"reserves {HEALTH_RESERVED_CONCURRENCY}",
        default=None,
        rule=between(1, 10000),
        default_doc="unreserved",
    )
    account_concurrency: int = setting(
        'the account\'s Lambda concurrency quota in each region (Service Quotas: "Concurrent executions"); '
        f"the environment's reservations must leave {MIN_UNRESERVED_CONCURRENCY} of it unreserved",
        default=1000,
        rule=between(1, 100_000),
    )
    log_retention_days: int = setting(
        "retention of function, access and execution logs",
        default=30,
        rule=one_of(*LOG_RETENTION_DAYS, doc="a CloudWatch Logs value (1, 3, 5, 7, 14, 30, ...)"),
    )
    log_level: str = setting(
        "application log level: Lambda drops lines below it (`logging_config.application_log_level`)",
        default="INFO",
        rule=one_of(*LOG_LEVELS),
    )

    def reserved_for(self, route_id: str) -> int | None:
        """The reservation of the route's function: fixed for health, configured for items."""
        return HEALTH_RESERVED_CONCURRENCY if route_id == HEALTH_ROUTE.id else self.reserved_concurrency

    @property
    def reserved_per_region(self) -> int:
        """What the environment's functions reserve in each of its regions."""
        return sum(self.reserved_for(route.id) or 0 for route in ROUTES)


@dataclass(frozen=True, kw_only=True)
class ApiConfig:
    """``[api]``: the REST API stage and its default throttling."""

    stage: str = setting(
        "stage name, part of every invoke URL and the health check path",
        default="v1",
        rule=matches(
            r"^[A-Za-z0-9_]{1,64}$",
            "is not a valid stage name (expected 1-64 letters, digits or '_')",
            "`[A-Za-z0-9_]{1,64}`",
        ),
    )
    throttle_rate_limit: float = setting(
        "default steady-state requests per second", default=100.0, rule=between(1, 10000)
    )
    throttle_burst_limit: int = setting("default burst", default=200, rule=between(1, 5000))
    manage_account_settings: bool = setting(
        "set API Gateway's CloudWatch role (`aws_api_gateway_account`), one setting per account and region: "
        "exactly one environment per account and region sets it, the others set `false`",
        default=True,
    )
    detailed_metrics: bool = setting(
        "API Gateway's per-method CloudWatch metrics (billed per metric); the alarms need only the per-stage ones",
        default=False,
    )
    cors_origins: tuple[str, ...] = setting(
        "browser origins allowed to call the API (CORS): preflight `OPTIONS` on every resource and the "
        '`Access-Control-Allow-Origin` header on every answer; see docs/api.md, "CORS"',
        default=(),
        each=matches(
            r"^https?://[a-z0-9.-]+(:[0-9]{1,5})?$",
            'is not an origin (expected scheme://host[:port], e.g. "https://app.example.com", no path)',
            "origins `scheme://host[:port]`",
        ),
    )


_HTTPS_URL = r"^https://[a-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~%/-]*)?$"


def _empty_or(pattern: str, what: str, doc: str) -> Rule:
    compiled = re.compile(pattern)
    return Rule(lambda value: value == "" or bool(compiled.match(value)), f"is not {what}", doc)


@dataclass(frozen=True, kw_only=True)
class AuthConfig:
    """``[auth]``: who may call the item routes: a JWT Lambda authorizer in every region
    (``/health`` stays open: Route53 cannot sign). See docs/api.md, "Authentication"."""

    public: bool = setting("no authentication on the item routes; never allowed with `protected`", default=False)
    issuer: str = setting(
        "OpenID Connect issuer whose tokens are accepted (its `iss`); emulator mode: leave unset, "
        "`make deploy` starts a local issuer",
        default="",
        rule=_empty_or(_HTTPS_URL, 'an https URL (expected e.g. "https://login.example.com/")', "https URL"),
        default_doc="none",
        required_doc="unless `public` or `emulator`",
    )
    audience: str = setting(
        "the `aud` every token must name",
        default="",
        rule=_empty_or(r"^[\x21-\x7e]{1,256}$", "a valid audience (expected 1-256 printable characters)", "string"),
        default_doc="none",
        required_doc="unless `public`",
    )
    jwks_url: str = setting(
        "the issuer's signing keys (JWKS)",
        default="",
        rule=_empty_or(_HTTPS_URL, 'an https URL (expected e.g. "https://login.example.com/jwks.json")', "https URL"),
        default_doc="`jwks_uri` of the issuer's discovery document",
    )
    cache_ttl: int = setting(
        "API Gateway's authorizer cache per token, seconds: a token stays accepted that long after it "
        "expires or its key is withdrawn",
        default=300,
        rule=between(1, 3600),
    )
    jwks_max_age: int = setting(
        "how long fetched signing keys keep serving while the issuer is unreachable, seconds",
        default=3600,
        rule=between(300, 86400),
    )


@dataclass(frozen=True, kw_only=True)
class WafConfig:
    """``[waf]``: a regional AWS WAF web ACL on each region's stage. See docs/api.md, "WAF"."""

    enabled: bool | None = setting(
        "AWS managed common and known-bad-inputs rules, a rate limit per client IP (not `/health`) and a "
        "body-size rule, logged",
        default=None,
        default_doc="`protected`",
    )
    rate_limit: int = setting(
        "requests per client IP in any 5 minutes before WAF blocks that IP (Route53's checkers on `/health` exempt)",
        default=2000,
        rule=between(10, 2000000000),
    )
    log_retention_days: int = setting(
        "retention of WAF's log, which keeps only blocked and counted requests",
        default=30,
        rule=one_of(*LOG_RETENTION_DAYS, doc="a CloudWatch Logs value (1, 3, 5, 7, 14, 30, ...)"),
    )


@dataclass(frozen=True, kw_only=True)
class TableConfig:
    """``[table]``: the global table."""

    name: str = setting(
        "table component of the name `{project}-{env}-{name}`",
        default="items",
        rule=matches(
            _NAME,
            "is not a valid name (expected 1-20 characters: lowercase letters, digits, '-')",
            "name: `[a-z][a-z0-9-]{0,19}`",
        ),
    )
    point_in_time_recovery: bool = setting("PITR on the table and every replica", default=True)
    deletion_protection: bool = setting("deletion protection on the table and every replica", default=False)
    encryption: str = setting(
        "table encryption; `customer_managed` is a KMS key per region, rotation on",
        default="customer_managed",
        rule=one_of("customer_managed", "aws_managed", "aws_owned"),
    )


@dataclass(frozen=True, kw_only=True)
class AlarmConfig:
    """``[alarms]``: where alarms go (an SNS topic per region always)."""

    email: str | None = setting(
        "email subscribed to every alarm topic; without one, alarms reach nobody (console only)",
        rule=matches(
            r"^[^@\s]+@[^@\s]+\.[^@\s]+$", 'is not an email address (expected e.g. "ops@example.com")', "email"
        ),
    )
    api_p99_latency_ms: int = setting(
        "the API's p99 latency, in milliseconds, above which each region's latency alarm fires",
        default=1000,
        rule=between(10, 29000),
    )
    api_5xx_rate: float = setting(
        "share of a region's requests answered 5XX (Average of 5XXError per minute) in 3 of 5 minutes "
        "above which the region leaves DNS",
        default=0.05,
        rule=between(0.001, 1),
    )
    api_min_requests: int = setting(
        "requests a minute below which a region's 5XX rate never takes it out of DNS (too few to mean "
        "anything; docs/production-signals.md)",
        default=60,
        rule=between(1, 1_000_000),
    )


@dataclass(frozen=True, kw_only=True)
class ChaosConfig:
    """``[chaos]``: the steady state every chaos experiment checks, and FIS on AWS. See docs/chaos.md."""

    max_error_rate: float = setting(
        "share of the requests through the global name that may fail (over the hypothesis's window) "
        "for the steady state to hold",
        default=0.01,
        rule=between(0, 1),
    )
    max_p99_ms: int = setting(
        "p99 latency, in milliseconds, through the global name under which the steady state holds",
        default=2000,
        rule=between(1, 60000),
    )
    fis: bool = setting(
        "AWS FIS experiment templates in every region (paused replication, Lambda errors and delay), their "
        "role and the Lambda extension's bucket; not with `emulator` (no FIS)",
        default=False,
    )
    fis_duration_minutes: int = setting("how long each FIS experiment's fault lasts", default=5, rule=between(1, 60))
    fis_lambda_error_percent: int = setting(
        "share of invocations of the region's functions that `aws:lambda:invocation-error` fails, in percent",
        default=100,
        rule=between(1, 100),
    )
    fis_lambda_delay_ms: int = setting(
        "delay `aws:lambda:invocation-add-delay` adds to half the invocations of the item functions",
        default=300,
        rule=between(1, 900000),
    )
    fis_extension_version: int | None = setting(
        "version of the public SSM parameter naming the FIS Lambda extension layer "
        "(`/aws/service/fis/lambda-extension/AWS-FIS-extension-<arch>/1.x.x:<n>`) in each region, so a new "
        "layer reaches the functions only when this changes (docs/chaos.md)",
        default=None,
        rule=between(1, 100000),
        default_doc="unpinned (the parameter's latest)",
    )


@dataclass(frozen=True, kw_only=True)
class StateConfig:
    """``[state]``: Terraform state. Keys of another backend than the chosen one are unknown
    keys; their fields hold the ``unset`` values."""

    backend: str = setting("where Terraform keeps the state", default="local", rule=one_of("local", "s3", "cloud"))
    path: str = setting(
        "state file, relative to the project",
        default=PerEnvironment("state/backend-{environment}.tfstate"),
        unset="",
        backend="local",
        rule=Rule(
            lambda value: (
                bool(_RELATIVE_PATH.match(value)) and not value.startswith("/") and ".." not in value.split("/")
            ),
            'is not a path inside the project (expected e.g. "state/backend-dev.tfstate")',
            "relative path",
        ),
    )
    bucket: str = setting(
        "bucket",
        required=True,
        unset="",
        backend="s3",
        rule=matches(
            r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$",
            "is not an S3 bucket name (expected 3-63 lowercase letters, digits, '.', '-')",
            "S3 bucket name",
        ),
    )
    region: str = setting("the bucket's region", required=True, unset="", backend="s3", rule=AWS_REGION)
    key: str = setting(
        "object key",
        default=PerEnvironment("backend/{environment}/terraform.tfstate"),
        unset="",
        backend="s3",
        rule=Rule(
            lambda value: bool(_RELATIVE_PATH.match(value)) and not value.startswith("/"),
            'is not a valid state key (expected e.g. "backend/dev/terraform.tfstate")',
            "object key",
        ),
    )
    use_lockfile: bool = setting("native S3 locking (Terraform >= 1.10)", default=True, backend="s3")
    organization: str = setting("Terraform Cloud organization", required=True, unset="", backend="cloud")
    workspace: str = setting(
        "workspace",
        default=PerEnvironment("backend-{environment}"),
        unset="",
        backend="cloud",
        rule=matches(
            r"^[A-Za-z0-9_-]{1,90}$", "is not a workspace name (expected letters, digits, '-', '_')", "workspace name"
        ),
    )
    hostname: str = setting(
        "host",
        default="app.terraform.io",
        backend="cloud",
        rule=Rule(_is_domain, 'is not a host name (expected e.g. "app.terraform.io")', "host name"),
    )


@dataclass(frozen=True, kw_only=True)
class EnvironmentConfig:
    """One environment: everything the stack needs, validated. ``environment`` is the file's
    name, not a key."""

    project: str = setting(
        "project name, first part of every physical name `{project}-{env}-{component}`", required=True, rule=NAME
    )
    environment: str
    regions: tuple[str, ...] = setting(
        "regions to deploy to, in order; the first is the primary (holds the table, `PRIMARY` in failover)",
        required=True,
        type_doc="list of AWS regions, at least 2, no duplicates",
    )
    emulator: bool = setting(
        "emulator mode: providers point at the emulator (credentials from the environment: the "
        "pipeline's roles under `make deploy`), the same table and replicas as on AWS",
        default=False,
    )
    protected: bool = setting(
        "production safeguards: tools that change a running deployment (the failover drill, region "
        "evacuation) ask for confirmation, and stricter defaults apply",
        default=False,
    )
    domain: DomainConfig | None = section("domain", DomainConfig, optional=True)
    routing: RoutingConfig = section("routing", RoutingConfig)
    health_check: HealthCheckConfig = section("health_check", HealthCheckConfig)
    lambda_: LambdaConfig = section("lambda", LambdaConfig)
    api: ApiConfig = section("api", ApiConfig)
    auth: AuthConfig = section("auth", AuthConfig)
    waf: WafConfig = section("waf", WafConfig)
    table: TableConfig = section("table", TableConfig)
    alarms: AlarmConfig = section("alarms", AlarmConfig)
    chaos: ChaosConfig = section("chaos", ChaosConfig)
    state: StateConfig = section("state", StateConfig)
    tags: Mapping[str, str] = setting(
        "tags on every resource (provider default tags), plus `project`, `environment`, `managed-by`",
        default={},
        type_doc="table of strings",
        each_key=Rule(
            lambda key: bool(_TAG_KEY.match(key)) and not key.lower().startswith("aws:"),
            'is not a valid tag key (expected 1-128 characters, not starting with "aws:")',
            "tag key",
        ),
        each=Rule(
            lambda value: isinstance(value, str) and len(value) <= 256,
            "is not a valid tag value (expected a string of at most 256 characters)",
            "tag value",
        ),
    )
    allowed_account_ids: tuple[str, ...] = setting(
        "the environment's AWS account (the first is its account); providers refuse to run against any other",
        default=(),
        required_doc="unless `emulator`",
        each=Rule(
            lambda value: isinstance(value, str) and bool(_ACCOUNT_ID.match(value)),
            "is not an AWS account id (expected a string of 12 digits)",
            "12-digit strings",
        ),
    )

    @property
    def primary_region(self) -> str:
        return self.regions[0]

    @property
    def secondary_regions(self) -> tuple[str, ...]:
        return self.regions[1:]

    @property
    def stack_name(self) -> str:
        return f"backend-{self.environment}"


# A key without a field of its own: it moves one region to the front of ``regions``.
PRIMARY_REGION = Key(
    "primary_region",
    "",
    Setting(
        description="moves this region to the front of `regions`",
        type_doc="one of `regions`",
        default_doc="first of `regions`",
    ),
    (str,),
)
# (field name, key or section) of EnvironmentConfig, in the order files are read.
FIELDS = declarations(EnvironmentConfig)
SECTIONS: dict[str, Section] = {item.name: item for _, item in FIELDS if isinstance(item, Section)}


def _every_key() -> tuple[Key, ...]:
    """Every key in file order (the README's order), ``primary_region`` after ``regions``."""
    found: list[Key] = []
    for field_name, item in FIELDS:
        found += item.keys() if isinstance(item, Section) else [item]
        if field_name == "regions":
            found.append(PRIMARY_REGION)
    return tuple(found)


KEYS = _every_key()
REGIONS = next(key for key in KEYS if key.path == "regions")
ACCOUNTS = next(key for key in KEYS if key.path == "allowed_account_ids")
TOP_LEVEL_NAMES = frozenset(item.name for _, item in FIELDS) | {PRIMARY_REGION.name}


# --- loading ---------------------------------------------------------------------------


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
    All files are validated before any is returned, and every error is reported at once.
    The rules across environments (one zone per account, one owner of API Gateway's account
    settings, reservations that share a quota) also read the files that were not chosen:
    choosing one environment must not hide its conflict with another. A file that is not
    chosen and does not load is left out of them (its own errors show when it is chosen)."""
    directory = Path(directory)
    available = {path.stem: path for path in sorted(directory.glob("*.toml"))}
    chosen = _chosen_files(directory, available, names)
    configs: dict[str, EnvironmentConfig] = {}
    errors: list[str] = []
    for path in chosen:
        try:
            configs[str(path)] = load_environment(path)
        except ConfigError as err:
            errors.append(str(err))
    if errors:
        raise ConfigError("\n".join(errors))
    everything = {**_loadable(path for path in available.values() if path not in chosen), **configs}
    errors = check_across(everything, chosen=set(configs))
    if errors:
        raise ConfigError("\n".join(errors))
    return list(configs.values())


def _chosen_files(directory: Path, available: Mapping[str, Path], names: list[str] | None) -> list[Path]:
    if names:
        unknown = [name for name in names if name not in available]
        if unknown:
            raise ConfigError(
                f"environment {', '.join(repr(name) for name in unknown)} not found in {directory}/ "
                f"(expected one of: {', '.join(sorted(available)) or 'none'})"
            )
        chosen = [available[name] for name in dict.fromkeys(names)]
    else:
        chosen = list(available.values())
    if not chosen:
        raise ConfigError(f"{directory}/: no environment files (expected <env>.toml)")
    return chosen


def _loadable(paths: Iterable[Path]) -> dict[str, EnvironmentConfig]:
    """The files among ``paths`` that load, by path."""
    loaded = {}
    for path in paths:
        try:
            loaded[str(path)] = load_environment(path)
        except ConfigError:
            continue
    return loaded


def parse_environment(raw: Mapping[str, Any], *, environment: str, source: str = "<config>") -> EnvironmentConfig:
    """Validate a parsed TOML document. Raises ConfigError listing every problem found."""
    reader = Reader(source, environment)
    reader.check("environment (file name)", environment, NAME)
    top = reader.table(raw, "", TOP_LEVEL_NAMES)
    values: dict[str, Any] = {}
    for field_name, item in FIELDS:
        if field_name in _EXPLICIT:
            values[field_name] = _EXPLICIT[field_name](reader, top, values)
        elif isinstance(item, Section):
            values[field_name] = item.config_class(**reader.read_section(top, item))
        else:
            values[field_name] = reader.read(top, item)
    reader.raise_if_errors()
    return EnvironmentConfig(environment=environment, **values)


# --- rules that involve more than one key ------------------------------------------------


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


# S3's limit on a bucket name.
MAX_BUCKET_NAME = 63


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
_EXPLICIT = {
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


# --- rules across environments -------------------------------------------------------------


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


# --- the README's environment table ------------------------------------------------------

README_BEGIN = "<!-- environment-keys: begin (generated from modules/config/loader.py by `make docs`) -->"
README_END = "<!-- environment-keys: end -->"
SUMMARY_BEGIN = "<!-- environments: begin (generated from environments/*.toml by `make docs`) -->"
SUMMARY_END = "<!-- environments: end -->"
ENVIRONMENTS_DIR = Path(__file__).resolve().parent.parent.parent / "environments"


def environments_table(configs: Iterable[EnvironmentConfig]) -> str:
    """The README's summary of the shipped environments: where each runs, who its alarms
    reach, and the Lambda concurrency quota it needs in each of its regions."""
    lines = [
        "| environment | account | zone | regions | alarms reach | Lambda reserved per region "
        "| Lambda quota it needs per region | API Gateway account settings |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for config in configs:
        reserved = config.lambda_.reserved_per_region
        cells = [
            f"`{config.environment}`",
            ", ".join(config.allowed_account_ids) or "(emulator)",
            f"`{config.domain.zone_name}`" if config.domain else "(no domain)",
            ", ".join(config.regions),
            config.alarms.email or "**nobody**: no `alarms.email`, alarms show in the CloudWatch console only",
            f"{reserved}",
            f"{reserved + MIN_UNRESERVED_CONCURRENCY} (declared: {config.lambda_.account_concurrency})",
            "set here" if config.api.manage_account_settings else "set by another environment",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def readme_with_table(readme: str, configs: Iterable[EnvironmentConfig] | None = None) -> str:
    """``readme`` with the environment-key table and, given ``configs``, the summary of the
    environments regenerated between their markers."""
    start, stop = marked_span(readme, README_BEGIN, README_END)
    readme = readme[:start] + markdown_table(KEYS) + readme[stop:]
    if configs is not None:
        start, stop = marked_span(readme, SUMMARY_BEGIN, SUMMARY_END)
        readme = readme[:start] + environments_table(configs) + readme[stop:]
    return readme


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m modules.config.loader", description="The environment-file keys.")
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--markdown", action="store_true", help="print the README's environment table")
    action.add_argument("--update-readme", metavar="README", type=Path, help="regenerate the tables in README")
    parser.add_argument(
        "--environments",
        metavar="DIR",
        type=Path,
        default=ENVIRONMENTS_DIR,
        help="the environment files the README's summary describes (default: environments/)",
    )
    args = parser.parse_args(argv)
    if args.markdown:
        sys.stdout.write(markdown_table(KEYS))
        return 0
    readme = args.update_readme.read_text(encoding="utf-8")
    configs = load_environments(args.environments) if SUMMARY_BEGIN in readme else None
    updated = readme_with_table(readme, configs)
    if updated != readme:
        args.update_readme.write_text(updated, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
