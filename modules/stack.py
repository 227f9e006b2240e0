"""``backend-<env>``: one stack per environment, one aliased AWS provider per region (plus
us-east-1 for Route53 health-check metrics), wiring the constructs together."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cdktf import (
    AssetType,
    CloudBackend,
    LocalBackend,
    NamedCloudWorkspace,
    S3Backend,
    TerraformAsset,
    TerraformOutput,
    TerraformStack,
)
from constructs import Construct

from modules import aws
from modules.config import EnvironmentConfig, StateConfig
from modules.global_routing import GlobalRouting, GlobalRoutingProps, RegionEndpoint
from modules.global_table import GlobalTable, GlobalTableProps
from modules.monitoring import (
    AlarmTopic,
    AlarmTopicProps,
    HealthAlarms,
    HealthAlarmsProps,
    RegionalAlarms,
    RegionalAlarmsProps,
)
from modules.naming import Naming, provider_alias
from modules.regional_api import RegionalApi, RegionalApiProps
from modules.regional_domain import (
    DnsValidation,
    DnsValidationProps,
    RegionalCertificate,
    RegionalCertificateProps,
    RegionalDomain,
    RegionalDomainProps,
)
from modules.regional_key import RegionalKey, RegionalKeyProps

GLOBAL_REGION = "us-east-1"
# Nothing listens on port 1: in emulator mode, anything not bound for loopback fails here.
EMULATOR_DEAD_PROXY = "http://127.0.0.1:1"
REPLICATION_NOT_EMULATED = (
    "not emulated: each region has its own independent table (moto does not create DynamoDB replicas)"
)


@dataclass(frozen=True, kw_only=True)
class FunctionsCode:
    """The Lambda zip built from ``functions/`` and its base64 SHA-256."""

    path: Path
    sha256: str


class BackendStack(TerraformStack):
    """Exposes ``providers`` (region -> provider), ``global_provider``, ``table``,
    ``apis`` (region -> RegionalApi), ``domains`` and ``routing``."""

    def __init__(self, scope: Construct, config: EnvironmentConfig, code: FunctionsCode, project_dir: Path) -> None:
        super().__init__(scope, config.stack_name)
        self.config = config
        naming = Naming(project=config.project, environment=config.environment)
        self._backend(config.state, project_dir)

        tags = {"project": config.project, "environment": config.environment, "managed-by": "cdktf", **config.tags}
        self.providers = {region: self._provider(region, tags) for region in config.regions}
        self.global_provider = self.providers.get(GLOBAL_REGION) or self._provider(GLOBAL_REGION, tags)

        account_id = aws.data_aws_caller_identity.DataAwsCallerIdentity(
            self, "account", provider=self.global_provider
        ).account_id
        keys = {
            region: RegionalKey(
                Construct(self, region),
                "key",
                RegionalKeyProps(provider=p, region=region, alias=naming.prefix, account_id=account_id),
            )
            for region, p in self.providers.items()
        }
        global_key = keys.get(GLOBAL_REGION) or RegionalKey(
            Construct(self, GLOBAL_REGION),
            "key",
            RegionalKeyProps(provider=self.global_provider, region=GLOBAL_REGION, alias=naming.prefix, account_id=account_id),
        )

        table_cfg = config.table
        self.table = GlobalTable(
            self,
            "global_table",
            GlobalTableProps(
                name=naming.name(table_cfg.name),
                providers=self.providers,
                kms_key_arns={r: k.arn for r, k in keys.items()},
                table_config=table_cfg,
                emulated=config.emulator,
            ),
        )

        asset = TerraformAsset(self, "functions_code", path=str(code.path), type=AssetType.FILE)
        lam, api_cfg = config.lambda_, config.api
        self.apis: dict[str, RegionalApi] = {}
        for region, p in self.providers.items():
            self.apis[region] = RegionalApi(
                self.node.find_child(region),
                "api",
                RegionalApiProps(
                    provider=p,
                    region=region,
                    naming=naming,
                    table_name=self.table.name,
                    table_arn=self.table.arns[region],
                    kms_key_arn=keys[region].arn,
                    table_kms_key_arn=keys[region].arn if table_cfg.encryption == "customer_managed" else None,
                    code_path=asset.path,
                    code_hash=code.sha256,
                    lambda_config=lam,
                    api_config=api_cfg,
                    emulated=config.emulator,
                ),
            )

        self.domains: dict[str, RegionalDomain] = {}
        zone_id = None
        domain = config.domain
        if domain is not None:
            zone_id = aws.data_aws_route53_zone.DataAwsRoute53Zone(
                self, "zone", provider=self.global_provider, name=domain.zone_name, private_zone=False
            ).zone_id
            certificates = {
                region: RegionalCertificate(
                    self.node.find_child(region),
                    "certificate",
                    RegionalCertificateProps(provider=p, domain_name=domain.record_name),
                ).certificate
                for region, p in self.providers.items()
            }
            validation = DnsValidation(
                self,
                "certificate_validation",
                DnsValidationProps(
                    provider=self.global_provider, zone_id=zone_id, certificate=certificates[config.primary_region]
                ),
            )
            for region, p in self.providers.items():
                self.domains[region] = RegionalDomain(
                    self.node.find_child(region),
                    "domain",
                    RegionalDomainProps(
                        provider=p,
                        domain_name=domain.record_name,
                        certificate=certificates[region],
                        validation_fqdns=validation.fqdns,
                        rest_api_id=self.apis[region].rest_api.id,
                        stage_name=self.apis[region].stage.stage_name,
                    ),
                )

        self.routing = GlobalRouting(
            self,
            "routing",
            GlobalRoutingProps(
                provider=self.global_provider,
                name_prefix=naming.prefix,
                endpoints=tuple(
                    RegionEndpoint(
                        region=region,
                        execute_api_host=self.apis[region].execute_api_host,
                        stage=api_cfg.stage,
                        target_name=self.domains[region].domain.regional_domain_name if domain else None,
                        target_zone_id=self.domains[region].domain.regional_zone_id if domain else None,
                    )
                    for region in config.regions
                ),
                health_check_config=config.health_check,
                routing_config=config.routing,
                domain=domain,
                zone_id=zone_id,
            ),
        )

        self._alarms(naming, keys, global_key)
        self._outputs(naming)

    # ------------------------------------------------------------------------------------

    def _provider(self, region: str, tags: dict[str, str]):
        kwargs: dict = {}
        if self.config.emulator:
            # Only emulator environments get these (tested): test credentials, no account or
            # metadata lookups, and every request that is not for loopback sent to a dead
            # proxy, so a run without the emulator fails instead of reaching AWS. The
            # emulator's URL comes from AWS_ENDPOINT_URL, set by tools/deploy.py: an
            # `endpoints` block costs each provider ~5 CPU-seconds per Terraform command.
            kwargs = dict(
                access_key="test",
                secret_key="test",
                skip_credentials_validation=True,
                skip_requesting_account_id=True,
                skip_metadata_api_check="true",
                skip_region_validation=True,
                http_proxy=EMULATOR_DEAD_PROXY,
                https_proxy=EMULATOR_DEAD_PROXY,
                no_proxy="127.0.0.1,localhost",
            )
        elif self.config.allowed_account_ids:
            kwargs["allowed_account_ids"] = list(self.config.allowed_account_ids)
        return aws.provider.AwsProvider(
            self,
            f"aws_{provider_alias(region)}",
            region=region,
            alias=provider_alias(region),
            default_tags=[aws.provider.AwsProviderDefaultTags(tags=tags)],
            **kwargs,
        )

    def _backend(self, state: StateConfig, project_dir: Path) -> None:
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

    def _alarms(self, naming: Naming, keys: dict[str, RegionalKey], global_key: RegionalKey) -> None:
        alarm_config = self.config.alarms
        replication_targets = {
            region: () if self.config.emulator else tuple(r for r in self.config.regions if r != region)
            for region in self.config.regions
        }
        for region, p in self.providers.items():
            scope = self.node.find_child(region)
            topic = AlarmTopic(
                scope,
                "alarm_topic",
                AlarmTopicProps(provider=p, name=naming.name("alarms"), kms_key_arn=keys[region].arn, alarm_config=alarm_config),
            )
            api = self.apis[region]
            RegionalAlarms(
                scope,
                "alarms",
                RegionalAlarmsProps(
                    provider=p,
                    name_prefix=naming.prefix,
                    region=region,
                    topic_arn=topic.topic.arn,
                    api_name=api.rest_api.name,
                    stage_name=api.stage.stage_name,
                    function_names={k: f.function_name for k, f in api.functions.items()},
                    table_name=self.table.name,
                    replication_targets=replication_targets[region],
                ),
            )
        global_scope = self.node.find_child(GLOBAL_REGION)
        health_topic = global_scope.node.try_find_child("alarm_topic") or AlarmTopic(
            global_scope,
            "alarm_topic",
            AlarmTopicProps(
                provider=self.global_provider, name=naming.name("alarms"), kms_key_arn=global_key.arn, alarm_config=alarm_config
            ),
        )
        HealthAlarms(
            self,
            "health_alarms",
            HealthAlarmsProps(
                provider=self.global_provider,
                name_prefix=naming.prefix,
                topic_arn=health_topic.topic.arn,
                health_check_ids={r: c.id for r, c in self.routing.health_checks.items()},
            ),
        )

    def _outputs(self, naming: Naming) -> None:
        config = self.config
        regions = {}
        for region in config.regions:
            api = self.apis[region]
            regions[region] = {
                "invoke_url": api.invoke_url,
                "rest_api_id": api.rest_api.id,
                "stage": api.stage.stage_name,
                "functions": {route_id: fn.function_name for route_id, fn in api.functions.items()},
                "execute_api_host": api.execute_api_host,
                "health_check_id": self.routing.health_checks[region].id,
                "custom_domain_target": self.domains[region].domain.regional_domain_name if region in self.domains else "",
                "table_arn": self.table.arns[region],
            }
        TerraformOutput(self, "regions", value=regions, description="Per region: invoke URL, REST API id, stage, function names, health check, domain target, table ARN")
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
            value=REPLICATION_NOT_EMULATED if config.emulator else "DynamoDB global table (version 2019.11.21)",
        )
