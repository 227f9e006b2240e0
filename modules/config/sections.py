"""The environment file's keys, each declared once: a field of the dataclasses below (name,
TOML type, default, constraint, description, required-ness; see ``modules/config/schema.py``),
grouped in sections, and ``EnvironmentConfig``, what a loaded file becomes. Validation
(``modules/config/loader.py``) and the README's environment table (``modules/config/docs.py``)
both come from these declarations."""

from __future__ import annotations

import re

# schema.declarations resolves the annotations at run time (typing.get_type_hints).
from collections.abc import Mapping  # noqa: TC003
from dataclasses import dataclass

from functions.schema import LOG_LEVELS
from modules.config.limits import (
    AWS_REGIONS,
    DEFAULT_CHECKER_REGIONS,
    HEALTH_RESERVED_CONCURRENCY,
    LOG_RETENTION_DAYS,
    MAX_LAMBDA_TIMEOUT,
    MAX_WEIGHT,
    MIN_CHECKER_REGIONS,
    MIN_UNRESERVED_CONCURRENCY,
    MIN_WEIGHT,
    ROUTE53_CHECKER_REGIONS,
)
from modules.config.schema import (
    Key,
    PerEnvironment,
    Rule,
    Section,
    Setting,
    between,
    declarations,
    matches,
    one_of,
    section,
    setting,
)
from modules.routes import ROUTES

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
