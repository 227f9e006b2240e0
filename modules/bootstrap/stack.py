"""``bootstrap``: what every environment needs before its first plan, made once per account
by an administrator.

- per S3 state bucket named by an environment file (``[state] backend = "s3"``): the bucket in
  that environment's account and region, versioned, encrypted, private, TLS-only, old state
  versions expiring, and ``prevent_destroy``;
- per account: the GitHub Actions OIDC provider (and Terraform Cloud's, when an environment
  in the account keeps its state there);
- per environment: a deploy role and a read-only plan role, trusted only by this repository's
  workflows in the GitHub environments ``<env>`` and ``<env>-plan`` (and, for Terraform Cloud
  environments, by that workspace's apply and plan runs), with the policies that
  ``modules/bootstrap/deploy_policy.py`` derives from the environment's synthesized stack (customer-managed
  policies: the explicit actions of a multi-region stack exceed an inline policy's size), and
  the permissions boundary every role of that stack carries, which the deploy role cannot
  change.

An account is the environment's first ``allowed_account_ids`` entry; environments without one
share the caller's account. Each account gets its own provider, which assumes
``delivery.toml``'s ``bootstrap.assume_role`` there when set.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cdktf import App, LocalBackend, TerraformOutput, TerraformResourceLifecycle, TerraformStack
from constructs import Construct

from modules.provider import aws

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from pathlib import Path

    from cdktf_cdktf_provider_aws.provider import AwsProvider

    from modules.config.sections import EnvironmentConfig
from modules.bootstrap.delivery import BOOTSTRAP_STACK, DeliverySettings
from modules.bootstrap.deploy_policy import (
    DELIVERY_PATH,
    PolicyInputs,
    boundary_policy,
    compact_json,
    deploy_policy,
    permissions_boundary_name,
    plan_policy,
    split_policy,
)
from modules.constructs.private_bucket import private_bucket_settings
from modules.naming import Naming, provider_alias
from modules.provider.emulator import emulator_provider_settings

GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
GITHUB_AUDIENCE = "sts.amazonaws.com"
# How long a role's session may last. Adding a region copies the table into a new replica,
# which can take longer than an hour for a large table, and Terraform keeps the deploy role's
# session for the whole apply: 4 hours (the apply job's timeout and role-duration-seconds in
# .github/workflows/environment.yml match). A plan needs no more than the default hour.
SESSION_SECONDS = {"deploy": 4 * 3600, "plan": 3600}
TFC_AUDIENCE = "aws.workload.identity"
IAM_HOME_REGION = "us-east-1"
ROLE_PATH = DELIVERY_PATH
CALLER = "caller"
# Twelve characters, like the account id it stands for while policies are sized and split.
ACCOUNT_PLACEHOLDER = "ACCOUNT-ID-X"
# Thirty-two characters, the longest a Route53 hosted zone id is, for the environment's zone.
ZONE_PLACEHOLDER = "ZONE-ID-PLACEHOLDER-XXXXXXXXXXXX"


@dataclass(frozen=True, kw_only=True)
class EnvironmentTarget:
    """An environment the bootstrap prepares, with its synthesized Terraform JSON."""

    config: EnvironmentConfig
    doc: Mapping[str, Any]

    @property
    def account(self) -> str:
        return self.config.allowed_account_ids[0] if self.config.allowed_account_ids else CALLER


@dataclass(frozen=True, kw_only=True)
class StateBucketProps:
    """A Terraform state bucket. ``noncurrent_version_days``: how long old versions stay."""

    provider: AwsProvider
    bucket: str
    noncurrent_version_days: int


class StateBucket(Construct):
    """Versioned, SSE-S3 encrypted, private, TLS-only, old versions expiring, never destroyed
    by Terraform (``prevent_destroy``). Exposes ``bucket``."""

    def __init__(self, scope: Construct, id: str, props: StateBucketProps) -> None:
        super().__init__(scope, id)
        p = props.provider
        self.bucket = aws.s3_bucket.S3Bucket(
            self, "bucket", provider=p, bucket=props.bucket, lifecycle=TerraformResourceLifecycle(prevent_destroy=True)
        )
        private_bucket_settings(self, p, self.bucket)
        bucket_id = self.bucket.id
        self._lifecycle(p, bucket_id, props.noncurrent_version_days)

    def _lifecycle(self, provider: Any, bucket_id: str, days: int) -> None:
        lc = aws.s3_bucket_lifecycle_configuration
        lc.S3BucketLifecycleConfiguration(
            self,
            "lifecycle",
            provider=provider,
            bucket=bucket_id,
            rule=[
                lc.S3BucketLifecycleConfigurationRule(
                    id="expire-old-state-versions",
                    status="Enabled",
                    filter=[lc.S3BucketLifecycleConfigurationRuleFilter(prefix="")],
                    noncurrent_version_expiration=[
                        lc.S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(noncurrent_days=days)
                    ],
                    abort_incomplete_multipart_upload=[
                        lc.S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(days_after_initiation=7)
                    ],
                )
            ],
        )


def github_trust(provider_arn: str, repository: str, github_environment: str) -> dict:
    """Only jobs of ``repository`` running in ``github_environment`` may assume the role."""
    return {
        "Effect": "Allow",
        "Principal": {"Federated": provider_arn},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {
            "StringEquals": {
                f"{GITHUB_OIDC_HOST}:aud": GITHUB_AUDIENCE,
                f"{GITHUB_OIDC_HOST}:sub": f"repo:{repository}:environment:{github_environment}",
            }
        },
    }


def tfc_trust(provider_arn: str, hostname: str, organization: str, workspace: str, run_phase: str) -> dict:
    """Only ``run_phase`` runs of that Terraform Cloud workspace may assume the role."""
    return {
        "Effect": "Allow",
        "Principal": {"Federated": provider_arn},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {
            "StringEquals": {f"{hostname}:aud": TFC_AUDIENCE},
            "StringLike": {
                f"{hostname}:sub": f"organization:{organization}:project:*:workspace:{workspace}:run_phase:{run_phase}"
            },
        },
    }


@dataclass(frozen=True, kw_only=True)
class DeliveryRolesProps:
    """The deploy and plan roles of one environment. ``tfc_provider_arn`` is set for
    environments whose state (and runs) are in Terraform Cloud."""

    provider: AwsProvider
    target: EnvironmentTarget
    repository: str
    account_id: str
    github_provider_arn: str
    tfc_provider_arn: str | None = None


class DeliveryRoles(Construct):
    """Exposes ``deploy_role``, ``plan_role`` and ``boundary`` (the permissions boundary of the
    environment's own roles). Roles and policies live under the ``/delivery/`` path, outside
    the ``<project>-<env>-*`` names the deploy role may manage, so it cannot change its own
    permissions or the boundary."""

    def __init__(self, scope: Construct, id: str, props: DeliveryRolesProps) -> None:
        super().__init__(scope, id)
        config = props.target.config
        prefix = Naming(project=config.project, environment=config.environment).prefix
        # Policies are sized by IAM with the account id in them, not the longer reference to it.
        self._fills = {ACCOUNT_PLACEHOLDER: props.account_id}
        zone_id = ""
        if config.domain:
            # Both roles read the environment's zone (and the deploy role writes its records):
            # looked up by name as the stack does, so the grant names that zone only.
            zone = aws.data_aws_route53_zone.DataAwsRoute53Zone(
                self, "zone", provider=props.provider, name=config.domain.zone_name, private_zone=False
            )
            self._fills[ZONE_PLACEHOLDER] = zone.zone_id
            zone_id = ZONE_PLACEHOLDER
        inputs = PolicyInputs(
            prefix=prefix, environment=config.environment, account=ACCOUNT_PLACEHOLDER, zone_id=zone_id
        )
        policies = {"deploy": deploy_policy(props.target.doc, inputs), "plan": plan_policy(props.target.doc, inputs)}
        self.boundary = aws.iam_policy.IamPolicy(
            self,
            "boundary",
            provider=props.provider,
            name=permissions_boundary_name(prefix),
            path=DELIVERY_PATH,
            description=f"the most any role of {config.stack_name} may do",
            policy=self._with_account(boundary_policy(props.target.doc, inputs)),
        )
        github_envs = {"deploy": config.environment, "plan": f"{config.environment}-plan"}
        run_phases = {"deploy": "apply", "plan": "plan"}
        roles = {}
        for kind, policy in policies.items():
            trust = [github_trust(props.github_provider_arn, props.repository, github_envs[kind])]
            if props.tfc_provider_arn:
                s = config.state
                trust.append(
                    tfc_trust(props.tfc_provider_arn, s.hostname, s.organization, s.workspace, run_phases[kind])
                )
            roles[kind] = aws.iam_role.IamRole(
                self,
                f"{kind}_role",
                provider=props.provider,
                name=f"{kind}-{prefix}",
                path=ROLE_PATH,
                description=f"{kind} {config.stack_name} from GitHub Actions ({github_envs[kind]})",
                assume_role_policy=json.dumps({"Version": "2012-10-17", "Statement": trust}),
                max_session_duration=SESSION_SECONDS[kind],
            )
            self._attach(roles[kind], kind, f"{kind}-{config.stack_name}", policy, props.provider)
        self.deploy_role, self.plan_role = roles["deploy"], roles["plan"]

    def _with_account(self, policy: dict) -> str:
        text = compact_json(policy)
        for placeholder, value in self._fills.items():
            text = text.replace(placeholder, value)
        return text

    def _attach(self, role: Any, kind: str, name: str, policy: dict, provider: Any) -> None:
        """``policy`` as customer-managed policies (as few as IAM's size limit allows) on ``role``."""
        for number, part in enumerate(split_policy(policy), start=1):
            managed = aws.iam_policy.IamPolicy(
                self,
                f"{kind}_policy_{number}",
                provider=provider,
                name=f"{name}-{number}",
                path=DELIVERY_PATH,
                policy=self._with_account(part),
            )
            aws.iam_role_policy_attachment.IamRolePolicyAttachment(
                self, f"{kind}_policy_{number}_attachment", provider=provider, role=role.name, policy_arn=managed.arn
            )


@dataclass(frozen=True, kw_only=True)
class BootstrapProps:
    """``targets``: the environments to prepare (emulator environments excluded by the
    caller). ``emulator``: providers with test credentials for moto's server (tests)."""

    targets: tuple[EnvironmentTarget, ...]
    settings: DeliverySettings
    project_dir: Path
    emulator: bool = False


class BootstrapStack(TerraformStack):
    """Exposes ``buckets`` (name -> StateBucket), ``roles`` (environment -> DeliveryRoles)
    and ``github_providers`` (account -> OIDC provider)."""

    def __init__(self, scope: Construct, props: BootstrapProps) -> None:
        super().__init__(scope, BOOTSTRAP_STACK)
        self.props = props
        stack_dir = props.project_dir / "cdktf.out" / "stacks" / BOOTSTRAP_STACK
        LocalBackend(self, path=os.path.relpath(props.project_dir / "state" / "bootstrap.tfstate", stack_dir))
        self._providers: dict[tuple[str, str], Any] = {}
        self.buckets: dict[str, StateBucket] = {}
        self.roles: dict[str, DeliveryRoles] = {}
        self.github_providers: dict[str, Any] = {}
        accounts = list(dict.fromkeys(t.account for t in props.targets))
        for account in accounts:
            self._account(account, [t for t in props.targets if t.account == account])
        self._outputs()

    def _github_provider(self, scope: Construct, account: str, home: Any) -> Any:
        """GitHub's OIDC provider: read where it already exists (an account has one per URL,
        and creating a second fails), created everywhere else."""
        url = f"https://{GITHUB_OIDC_HOST}"
        if account in self.props.settings.existing_github_oidc_accounts:
            return aws.data_aws_iam_openid_connect_provider.DataAwsIamOpenidConnectProvider(
                scope, "github_oidc", provider=home, url=url
            )
        return aws.iam_openid_connect_provider.IamOpenidConnectProvider(
            scope, "github_oidc", provider=home, url=url, client_id_list=[GITHUB_AUDIENCE]
        )

    def _account(self, account: str, targets: list[EnvironmentTarget]) -> None:
        scope = Construct(self, f"account_{account}")
        home = self.provider(account, IAM_HOME_REGION)
        account_id = aws.data_aws_caller_identity.DataAwsCallerIdentity(scope, "identity", provider=home).account_id
        github = self._github_provider(scope, account, home)
        self.github_providers[account] = github
        tfc_providers = {}
        for host in dict.fromkeys(t.config.state.hostname for t in targets if t.config.state.backend == "cloud"):
            tfc_providers[host] = aws.iam_openid_connect_provider.IamOpenidConnectProvider(
                scope,
                f"tfc_oidc_{host.replace('.', '_')}",
                provider=home,
                url=f"https://{host}",
                client_id_list=[TFC_AUDIENCE],
            )
        for target in targets:
            state = target.config.state
            if state.backend == "s3" and state.bucket not in self.buckets:
                self.buckets[state.bucket] = StateBucket(
                    scope,
                    f"state_{state.bucket}",
                    StateBucketProps(
                        provider=self.provider(account, state.region),
                        bucket=state.bucket,
                        noncurrent_version_days=self.props.settings.noncurrent_version_days,
                    ),
                )
            tfc = tfc_providers.get(state.hostname) if state.backend == "cloud" else None
            self.roles[target.config.environment] = DeliveryRoles(
                scope,
                target.config.environment,
                DeliveryRolesProps(
                    provider=home,
                    target=target,
                    repository=self.props.settings.github_repository,
                    account_id=account_id,
                    github_provider_arn=github.arn,
                    tfc_provider_arn=tfc.arn if tfc else None,
                ),
            )

    def provider(self, account: str, region: str) -> Any:
        """One provider per account and region, made on first use."""
        key = (account, region)
        if key not in self._providers:
            self._providers[key] = aws.provider.AwsProvider(
                self,
                f"aws_{account}_{provider_alias(region)}",
                alias=f"account_{account}_{provider_alias(region)}",
                region=region,
                default_tags=[
                    aws.provider.AwsProviderDefaultTags(tags={"managed-by": "cdktf", "stack": BOOTSTRAP_STACK})
                ],
                **self._credentials(account),
            )
        return self._providers[key]

    def _credentials(self, account: str) -> dict:
        kwargs: dict[str, Any] = {}
        if account != CALLER:
            kwargs["allowed_account_ids"] = [account]
            if self.props.settings.assume_role:
                role_arn = f"arn:aws:iam::{account}:role/{self.props.settings.assume_role}"
                kwargs["assume_role"] = [
                    aws.provider.AwsProviderAssumeRole(role_arn=role_arn, session_name="bootstrap")
                ]
        if self.props.emulator:
            # As in the backend stack: test credentials, and anything not for loopback goes
            # to a dead proxy. moto's STS switches to the account of an assumed role.
            kwargs.update(emulator_provider_settings())
        return kwargs

    def _outputs(self) -> None:
        roles = {
            env: {"deploy_role_arn": r.deploy_role.arn, "plan_role_arn": r.plan_role.arn}
            for env, r in self.roles.items()
        }
        TerraformOutput(
            self,
            "roles",
            value=roles,
            description="Per environment: the role ARNs for the GitHub environments <env> and <env>-plan",
        )
        TerraformOutput(self, "state_buckets", value=sorted(self.buckets), description="Terraform state buckets")


def targets_from_stacks(
    stacks: Mapping[str, TerraformStack], configs: list[EnvironmentConfig]
) -> tuple[EnvironmentTarget, ...]:
    """Pair each non-emulator environment with its stack's Terraform JSON."""
    return tuple(
        EnvironmentTarget(config=c, doc=stacks[c.environment].to_terraform()) for c in configs if not c.emulator
    )


def add_bootstrap(
    app: App,
    configs: list[EnvironmentConfig],
    settings: DeliverySettings,
    project_dir: Path,
    build_app: Callable[[list[EnvironmentConfig]], App],
) -> BootstrapStack:
    """Add the bootstrap stack to ``app``. Environment stacks already in ``app`` are reused;
    the others are built in a scratch app (``build_app``) that is never synthesized."""
    real = [c for c in configs if not c.emulator]
    built = _stacks_by_name(app)
    missing = [c for c in real if c.stack_name not in built]
    if missing:
        built.update(_stacks_by_name(build_app(missing)))
    stacks = {c.environment: built[c.stack_name] for c in real}
    props = BootstrapProps(targets=targets_from_stacks(stacks, real), settings=settings, project_dir=project_dir)
    return BootstrapStack(app, props)


def _stacks_by_name(app: App) -> dict[str, TerraformStack]:
    return {child.node.id: child for child in app.node.children if isinstance(child, TerraformStack)}
