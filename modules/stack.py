"""``backend-<env>``: one stack per environment, one aliased AWS provider per region (plus
us-east-1 for Route53 health-check metrics), wiring the constructs together."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cdktf import (
    AssetType,
    CloudBackend,
    LocalBackend,
    NamedCloudWorkspace,
    S3Backend,
    TerraformAsset,
    TerraformOutput,
    TerraformStack,
    TerraformVariable,
    TerraformVariableValidationConfig,
)
from constructs import Construct

from modules.bootstrap.deploy_policy import permissions_boundary_arn
from modules.config.rules import fis_bucket_name
from modules.constructs.chaos_fis import (
    FaultConfigBucket,
    FaultConfigBucketProps,
    FaultInjection,
    FisExperiments,
    FisExperimentsProps,
    FisRole,
    FisRoleProps,
)
from modules.constructs.global_routing import GlobalRouting, GlobalRoutingProps, RegionEndpoint
from modules.constructs.global_table import GlobalTable, GlobalTableProps
from modules.constructs.monitoring import (
    AlarmTopic,
    AlarmTopicProps,
    HealthAlarms,
    HealthAlarmsProps,
    RegionalAlarms,
    RegionalAlarmsProps,
)
from modules.constructs.regional_api import RegionalApi, RegionalApiProps
from modules.constructs.regional_domain import (
    DnsValidation,
    DnsValidationProps,
    RegionalCertificate,
    RegionalCertificateProps,
    RegionalDomain,
    RegionalDomainProps,
    region_domain_name,
)
from modules.constructs.regional_key import RegionalKey, RegionalKeyProps
from modules.constructs.regional_waf import RegionalWaf, RegionalWafProps
from modules.naming import Naming, provider_alias
from modules.provider import aws
from modules.provider.emulator import emulator_provider_settings
from modules.routes import ROUTES

if TYPE_CHECKING:
    from pathlib import Path

    from cdktf_cdktf_provider_aws.acm_certificate import AcmCertificate
    from cdktf_cdktf_provider_aws.provider import AwsProvider
    from cdktf_cdktf_provider_aws.route53_health_check import Route53HealthCheck

    from modules.config.sections import DomainConfig, EnvironmentConfig

GLOBAL_REGION = "us-east-1"
# Emulator mode only: the local issuer's URL, chosen by ops/deploy.py at deploy time (a free
# loopback port) and passed as TF_VAR_local_issuer_url, so the deployed authorizer is
# configured through Terraform like any other setting rather than patched afterwards.
LOCAL_ISSUER_VARIABLE = "local_issuer_url"
REPLICATION_EMULATED = (
    "emulated: the global table's replicas are created by the emulator (local/dynamodb_replicas.py), "
    "items replicated from each replica's stream by local/replicator.py, last writer wins"
)
# The DynamoDB item operations the functions call, whose throttles and system errors are
# alarmed (DescribeTable, a control-plane call, would not be counted; no route uses it now).
TABLE_OPERATIONS: tuple[str, ...] = tuple(
    sorted({action.removeprefix("dynamodb:") for route in ROUTES for action in route.actions} - {"DescribeTable"})
)


@dataclass(frozen=True, kw_only=True)
class FunctionsCode:
    """The Lambda zip built from ``functions/`` and its base64 SHA-256."""

    path: Path
    sha256: str


class BackendStack(TerraformStack):
    """Exposes ``providers`` (region -> provider, the environment's regions),
    ``global_provider`` (us-east-1), ``region_scopes`` (region -> the construct holding that
    region's resources, us-east-1 included), ``table``, ``apis`` (region -> RegionalApi),
    ``domains`` (region -> RegionalDomain, empty without a domain), ``alarm_topics`` (region
    -> AlarmTopic, us-east-1 included), ``regional_alarms`` (region -> RegionalAlarms),
    ``routing``, and where ``[chaos] fis`` is on ``fault_buckets`` (region -> FaultConfigBucket)
    and ``fis_experiments`` (region -> FisExperiments); both empty otherwise."""

    def __init__(
        self,
        scope: Construct,
        config: EnvironmentConfig,
        code: FunctionsCode,
        project_dir: Path,
        authorizer_code: FunctionsCode | None = None,
    ) -> None:
        super().__init__(scope, config.stack_name)
        self.config = config
        self._naming = Naming(project=config.project, environment=config.environment)
        self._state_backend(project_dir)

        every_region = with_global_region(config.regions)
        every_provider = {region: self._provider(region) for region in every_region}
        self.providers = {region: every_provider[region] for region in config.regions}
        self.global_provider = every_provider[GLOBAL_REGION]
        # Each region's resources are grouped under one scope, made here once.
        self.region_scopes = {region: Construct(self, region) for region in every_region}

        account_id = aws.data_aws_caller_identity.DataAwsCallerIdentity(
            self, "account", provider=self.global_provider
        ).account_id
        keys = self._keys(every_provider, account_id)
        self.table = self._global_table(keys)
        boundary = permissions_boundary_arn(account_id, self._naming.prefix)  # every role's (the bootstrap's)
        self.fault_buckets = self._fault_buckets()
        self.apis = self._apis(keys, code, authorizer_code, boundary)
        self._wafs(keys)
        self.domains: dict[str, RegionalDomain] = {}
        zone_id = None
        if config.domain is not None:
            zone_id = self._zone_id(config.domain)
            self.domains = self._domains(config.domain, zone_id)
        self.alarm_topics = self._alarm_topics(every_provider, keys)
        self.regional_alarms = self._regional_alarms()
        self.routing = self._routing(zone_id)
        self._health_alarms()
        self.fis_experiments = self._fis(account_id, boundary, keys)
        self._outputs()

    # --- providers and state ------------------------------------------------------------

    def _provider(self, region: str) -> AwsProvider:
        config = self.config
        tags = self._default_tags()
        if config.emulator:
            settings = emulator_provider_settings()
        elif config.allowed_account_ids:
            settings = {"allowed_account_ids": list(config.allowed_account_ids)}
        else:
            settings = {}
        return aws.provider.AwsProvider(
            self,
            f"aws_{provider_alias(region)}",
            region=region,
            alias=provider_alias(region),
            default_tags=[aws.provider.AwsProviderDefaultTags(tags=tags)],
            **settings,
        )

    def _default_tags(self) -> dict[str, str]:
        config = self.config
        return {"project": config.project, "environment": config.environment, "managed-by": "cdktf", **config.tags}

    def _state_backend(self, project_dir: Path) -> None:
        state = self.config.state
        if state.backend == "s3":
            backend = S3Backend(self, bucket=state.bucket, key=state.key, region=state.region, encrypt=True)
            # cdktf 0.21's S3Backend predates native S3 locking (Terraform >= 1.10).
            backend.add_override("use_lockfile", state.use_lockfile)
        elif state.backend == "cloud":
            CloudBackend(
                self,
                organization=state.organization,
                workspaces=NamedCloudWorkspace(state.workspace),
                hostname=state.hostname,
            )
        else:
            # Terraform runs in cdktf.out/stacks/<stack>; keep state in the project, not there.
            stack_dir = project_dir / "cdktf.out" / "stacks" / self.config.stack_name
            LocalBackend(self, path=os.path.relpath(project_dir / state.path, stack_dir))

    # --- per-region building blocks -------------------------------------------------------

    def _keys(self, every_provider: dict[str, AwsProvider], account_id: str) -> dict[str, RegionalKey]:
        """A KMS key in every region, us-east-1 included (its alarm topic)."""
        return {
            region: RegionalKey(
                self.region_scopes[region],
                "key",
                RegionalKeyProps(
                    provider=provider,
                    region=region,
                    alias=self._naming.prefix,
                    account_id=account_id,
                    retain=self.config.table.deletion_protection,
                ),
            )
            for region, provider in every_provider.items()
        }

    def _global_table(self, keys: dict[str, RegionalKey]) -> GlobalTable:
        return GlobalTable(
            self,
            "global_table",
            GlobalTableProps(
                name=self._naming.name(self.config.table.name),
                providers=self.providers,
                kms_key_arns={region: keys[region].arn for region in self.providers},
                table_config=self.config.table,
            ),
        )

    def _apis(
        self,
        keys: dict[str, RegionalKey],
        code: FunctionsCode,
        authorizer_code: FunctionsCode | None,
        permissions_boundary: str,
    ) -> dict[str, RegionalApi]:
        asset = TerraformAsset(self, "functions_code", path=str(code.path), type=AssetType.FILE)
        authorizer = self._authorizer_settings(authorizer_code)
        customer_managed = self.config.table.encryption == "customer_managed"
        return {
            region: RegionalApi(
                self.region_scopes[region],
                "api",
                RegionalApiProps(
                    provider=provider,
                    region=region,
                    naming=self._naming,
                    table_name=self.table.name,
                    table_arn=self.table.arns[region],
                    kms_key_arn=keys[region].arn,
                    table_kms_key_arn=keys[region].arn if customer_managed else None,
                    code_path=asset.path,
                    code_hash=code.sha256,
                    lambda_config=self.config.lambda_,
                    api_config=self.config.api,
                    auth_config=self.config.auth,
                    emulated=self.config.emulator,
                    permissions_boundary=permissions_boundary,
                    fault_injection=self._fault_injection(region),
                    **authorizer,
                ),
            )
            for region, provider in self.providers.items()
        }

    def _fault_injection(self, region: str) -> FaultInjection | None:
        bucket = self.fault_buckets.get(region)
        return bucket.fault_injection if bucket else None

    # --- FIS experiments ([chaos] fis = true; docs/chaos.md) -----------------------------

    def _fault_buckets(self) -> dict[str, FaultConfigBucket]:
        """Where the environment has FIS: each region's bucket FIS and the Lambda extension
        share (the loader refuses FIS without an account, or with the emulator)."""
        config = self.config
        if not config.chaos.fis:
            return {}
        account = config.allowed_account_ids[0]
        return {
            region: FaultConfigBucket(
                self.region_scopes[region],
                "fis_config",
                FaultConfigBucketProps(
                    provider=provider,
                    name=fis_bucket_name(config.project, config.environment, account, region),
                    architecture=config.lambda_.architecture,
                    extension_version=config.chaos.fis_extension_version,
                ),
            )
            for region, provider in self.providers.items()
        }

    def _fis(self, account_id: str, boundary: str, keys: dict[str, RegionalKey]) -> dict[str, FisExperiments]:
        """One experiment role, and each region's templates stopped by its API 5XX alarm."""
        chaos = self.config.chaos
        if not chaos.fis:
            return {}
        role = FisRole(
            self,
            "fis_role",
            FisRoleProps(
                # IAM is global; the role is made with the primary region's provider, like the table.
                provider=self.providers[self.config.primary_region],
                name=self._naming.name("fis"),
                account_id=account_id,
                table_arns=tuple(self.table.arns[region] for region in self.providers),
                function_arns=tuple(f.arn for api in self.apis.values() for f in api.functions.values()),
                bucket_arns=tuple(bucket.bucket.arn for bucket in self.fault_buckets.values()),
                key_arns={region: keys[region].arn for region in self.providers},
                permissions_boundary=boundary,
            ),
        ).role
        return {
            region: FisExperiments(
                self.region_scopes[region],
                "fis",
                FisExperimentsProps(
                    provider=provider,
                    name_prefix=self._naming.prefix,
                    region=region,
                    role_arn=role.arn,
                    table_arn=self.table.arns[region],
                    functions={route: function.arn for route, function in self.apis[region].functions.items()},
                    stop_alarm_arns=(self.regional_alarms[region].api_5xx.arn,),
                    duration_minutes=chaos.fis_duration_minutes,
                    error_percent=chaos.fis_lambda_error_percent,
                    delay_ms=chaos.fis_lambda_delay_ms,
                    tags=self._default_tags(),
                ),
            )
            for region, provider in self.providers.items()
        }

    def _authorizer_settings(self, authorizer_code: FunctionsCode | None) -> dict[str, str]:
        """The authorizer's zip (its own asset) and the issuer it trusts; nothing when public."""
        auth = self.config.auth
        if auth.public:
            return {}
        if authorizer_code is None:
            raise ValueError(f"{self.config.stack_name}: [auth] is on but no authorizer zip was built")
        asset = TerraformAsset(self, "authorizer_code", path=str(authorizer_code.path), type=AssetType.FILE)
        issuer = auth.issuer
        if self.config.emulator:
            issuer = TerraformVariable(
                self,
                LOCAL_ISSUER_VARIABLE,
                type="string",
                nullable=False,
                description="The local issuer `make deploy` starts (emulator mode only)",
                validation=[
                    TerraformVariableValidationConfig(
                        # Terraform JSON reads an expression only inside ${...}.
                        condition=f'${{can(regex("^http://127[.]0[.]0[.]1:[0-9]+$", var.{LOCAL_ISSUER_VARIABLE}))}}',
                        error_message="The local issuer must be http://127.0.0.1:PORT.",
                    )
                ],
            ).string_value
        return {
            "issuer_url": issuer,
            "authorizer_code_path": asset.path,
            "authorizer_code_hash": authorizer_code.sha256,
        }

    def _wafs(self, keys: dict[str, RegionalKey]) -> None:
        """A web ACL on each region's stage where [waf] is on (README, "WAF")."""
        if not self.config.waf.enabled:
            return
        for region, provider in self.providers.items():
            RegionalWaf(
                self.region_scopes[region],
                "waf",
                RegionalWafProps(
                    provider=provider,
                    region=region,
                    naming=self._naming,
                    stage_arn=self.apis[region].stage.arn,
                    health_paths=(
                        self.config.health_check.path,
                        f"/{self.config.api.stage}{self.config.health_check.path}",
                    ),
                    waf_config=self.config.waf,
                    kms_key_arn=keys[region].arn,
                    checker_regions=self.config.health_check.regions,
                ),
            )

    # --- custom domain and routing --------------------------------------------------------

    def _zone_id(self, domain: DomainConfig) -> str:
        return aws.data_aws_route53_zone.DataAwsRoute53Zone(
            self, "zone", provider=self.global_provider, name=domain.zone_name, private_zone=False
        ).zone_id

    def _domains(self, domain: DomainConfig, zone_id: str) -> dict[str, RegionalDomain]:
        """A certificate and custom domains per region; the shared name's validation record
        is made once, each region's own name's in that region's scope."""
        names = {region: region_domain_name(region, domain.record_name) for region in self.providers}
        certificates = {
            region: RegionalCertificate(
                self.region_scopes[region],
                "certificate",
                RegionalCertificateProps(
                    provider=provider, domain_name=domain.record_name, alternative_names=(names[region],)
                ),
            ).certificate
            for region, provider in self.providers.items()
        }
        validation = DnsValidation(
            self,
            "certificate_validation",
            DnsValidationProps(
                provider=self.global_provider,
                zone_id=zone_id,
                certificate=certificates[self.config.primary_region],
                domain_name=domain.record_name,
            ),
        )
        return {
            region: RegionalDomain(
                self.region_scopes[region],
                "domain",
                RegionalDomainProps(
                    provider=provider,
                    domain_name=domain.record_name,
                    region_domain_name=names[region],
                    certificate=certificates[region],
                    validation_fqdns=[
                        *validation.fqdns,
                        *self._region_validation(region, zone_id, certificates, names),
                    ],
                    rest_api_id=self.apis[region].rest_api.id,
                    stage_name=self.apis[region].stage.stage_name,
                    zone_id=zone_id,
                ),
            )
            for region, provider in self.providers.items()
        }

    def _region_validation(
        self, region: str, zone_id: str, certificates: dict[str, AcmCertificate], names: dict[str, str]
    ) -> list[str]:
        """The validation record of the region's own name (on its certificate only)."""
        return DnsValidation(
            self.region_scopes[region],
            "region_validation",
            DnsValidationProps(
                provider=self.providers[region],
                zone_id=zone_id,
                certificate=certificates[region],
                domain_name=names[region],
            ),
        ).fqdns

    def _routing(self, zone_id: str | None) -> GlobalRouting:
        endpoints = tuple(
            RegionEndpoint(
                region=region,
                execute_api_host=self.apis[region].execute_api_host,
                stage=self.config.api.stage,
                alarm=self.regional_alarms[region].api_5xx,
                traffic_alarm=self.regional_alarms[region].api_traffic,
                authorizer_alarm=self.regional_alarms[region].authorizer_outage,
                target_name=self.domains[region].domain.regional_domain_name if region in self.domains else None,
                target_zone_id=self.domains[region].domain.regional_zone_id if region in self.domains else None,
                check_host=self.domains[region].region_record.fqdn if region in self.domains else None,
            )
            for region in self.config.regions
        )
        return GlobalRouting(
            self,
            "routing",
            GlobalRoutingProps(
                provider=self.global_provider,
                name_prefix=self._naming.prefix,
                endpoints=endpoints,
                health_check_config=self.config.health_check,
                routing_config=self.config.routing,
                domain=self.config.domain,
                zone_id=zone_id,
                emulated=self.config.emulator,
            ),
        )

    # --- alarms and outputs ---------------------------------------------------------------

    def _alarm_topics(
        self, every_provider: dict[str, AwsProvider], keys: dict[str, RegionalKey]
    ) -> dict[str, AlarmTopic]:
        """A topic in every region: CloudWatch publishes only to its own region's."""
        return {
            region: AlarmTopic(
                self.region_scopes[region],
                "alarm_topic",
                AlarmTopicProps(
                    provider=provider,
                    name=self._naming.name("alarms"),
                    kms_key_arn=keys[region].arn,
                    alarm_config=self.config.alarms,
                ),
            )
            for region, provider in every_provider.items()
        }

    def _regional_alarms(self) -> dict[str, RegionalAlarms]:
        alarms = {}
        for region, provider in self.providers.items():
            api = self.apis[region]
            alarms[region] = RegionalAlarms(
                self.region_scopes[region],
                "alarms",
                RegionalAlarmsProps(
                    provider=provider,
                    name_prefix=self._naming.prefix,
                    region=region,
                    topic_arn=self.alarm_topics[region].topic.arn,
                    api_name=api.rest_api.name,
                    stage_name=api.stage.stage_name,
                    function_names={route_id: function.function_name for route_id, function in api.functions.items()},
                    table_name=self.table.name,
                    table_operations=TABLE_OPERATIONS,
                    lambda_config=self.config.lambda_,
                    alarm_config=self.config.alarms,
                    replication_targets=self._replication_targets(region),
                    authorizer_function_name=api.authorizer.function.function_name if api.authorizer else None,
                    certificate_arn=self.domains[region].domain.regional_certificate_arn
                    if region in self.domains
                    else None,
                ),
            )
        return alarms

    def _health_alarms(self) -> None:
        """In us-east-1 (Route53's metrics): one per region's calculated check, the one the
        records use, so the alarm means traffic has left that region."""
        HealthAlarms(
            self,
            "health_alarms",
            HealthAlarmsProps(
                provider=self.global_provider,
                name_prefix=self._naming.prefix,
                topic_arn=self.alarm_topics[GLOBAL_REGION].topic.arn,
                health_check_ids={region: check.id for region, check in self.routing.routing_checks.items()},
            ),
        )

    def _replication_targets(self, region: str) -> tuple[str, ...]:
        """The regions ``region``'s table replicates to."""
        return tuple(other for other in self.config.regions if other != region)

    def _outputs(self) -> None:
        config = self.config
        TerraformOutput(
            self,
            "regions",
            value={region: self._region_output(region) for region in config.regions},
            description="Per region: invoke URL, REST API id, stage, function names, health checks (HTTP, the "
            "calculated one the records use, the API 5XX rate alarm one and the alarm checks guarding it), domain "
            "target, table ARN",
        )
        TerraformOutput(
            self,
            "global_url",
            value=f"https://{config.domain.record_name}" if config.domain else "",
            description="The one URL clients use; Route53 picks the region (empty without a domain)",
        )
        TerraformOutput(self, "table_name", value=self.table.name)
        TerraformOutput(self, "table_arn", value=self.table.table.arn, description="The primary region's table")
        TerraformOutput(
            self,
            "replication",
            value=REPLICATION_EMULATED if config.emulator else "DynamoDB global table (version 2019.11.21)",
        )

    def _alarm_check_output(self, region: str) -> dict:
        """The region's 5XX rate alarm check as applied (the local router needs it: moto's
        Route53 does not keep the alarm identifier)."""
        return _alarm_check(self.routing.alarm_checks[region])

    def _region_output(self, region: str) -> dict:
        api = self.apis[region]
        return {
            "invoke_url": api.invoke_url,
            "rest_api_id": api.rest_api.id,
            "stage": api.stage.stage_name,
            "functions": {route_id: function.function_name for route_id, function in api.functions.items()},
            "execute_api_host": api.execute_api_host,
            "health_check_id": self.routing.health_checks[region].id,
            "routing_health_check_id": self.routing.routing_checks[region].id,
            "alarm_check": self._alarm_check_output(region),
            "guard_checks": [_alarm_check(check) for check in self.routing.guard_checks[region]],
            "custom_domain_target": self.domains[region].domain.regional_domain_name if region in self.domains else "",
            "table_arn": self.table.arns[region],
        }


def _alarm_check(check: Route53HealthCheck) -> dict:
    return {
        "id": check.id,
        "alarm_name": check.cloudwatch_alarm_name,
        "alarm_region": check.cloudwatch_alarm_region,
        # as configured: moto drops it, so the applied attribute would read back empty
        "insufficient_data_health_status": check.insufficient_data_health_status_input,
    }


def with_global_region(regions: tuple[str, ...]) -> tuple[str, ...]:
    """``regions``, then us-east-1 (Route53 health-check metrics) when it is not among them."""
    return regions if GLOBAL_REGION in regions else (*regions, GLOBAL_REGION)
