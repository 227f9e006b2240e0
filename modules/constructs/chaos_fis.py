"""AWS FIS experiments on a real environment (``[chaos] fis = true``; never with the emulator,
which has no FIS): per region, the bucket FIS and its Lambda extension talk through, and three
experiment templates (paused replication, Lambda invocation errors, Lambda invocation delay)
stopped by the region's alarms; one least-privilege FIS role for the environment.

Sources (AWS FIS User Guide, read 2026-12-05):
- "Use the AWS FIS aws:lambda:function actions" (use-lambda-actions.html): the extension is a
  layer whose ARN the public SSM parameter
  ``/aws/service/fis/lambda-extension/AWS-FIS-extension-<arch>/1.x.x`` holds in each region
  (actions-lambda-extension-arns.html); the function sets ``AWS_LAMBDA_EXEC_WRAPPER`` to
  ``/opt/aws-fis/bootstrap`` and ``AWS_FIS_CONFIGURATION_LOCATION`` to
  ``arn:aws:s3:::<bucket>/<prefix>/``, a bucket in the function's region; its role lists that
  prefix and reads its objects; FIS writes and deletes them there.
- "AWS FIS Actions reference" (fis-actions-reference.html): each action's resource type,
  parameters and permissions, which the role below grants and no more.

The AWS provider 5.100 (the last CDKTF binding) refuses ``Functions`` as an action's target
key (its ``aws_fis_experiment_template`` knows the keys up to 2023; ``terraform validate``:
"expected action.0.target.0.key to be one of [...], got Functions"), so the two Lambda
templates are made through the Cloud Control API (``aws_cloudcontrolapi_resource`` of type
``AWS::FIS::ExperimentTemplate``), which takes FIS's own template document; provider default
tags do not reach those, so their tags are given here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cdktf import Fn
from constructs import Construct

from modules.constructs.private_bucket import private_bucket_settings
from modules.provider import aws

if TYPE_CHECKING:
    from collections.abc import Mapping

    from cdktf import TerraformResource
    from cdktf_cdktf_provider_aws.provider import AwsProvider

# Where FIS writes the fault configuration the extension polls (a prefix of the bucket).
CONFIGURATION_PREFIX = "FisConfigs"
EXEC_WRAPPER = "/opt/aws-fis/bootstrap"
# How long the extension may wait for a fresh configuration before an invocation (the actions
# reference recommends a non-zero value with preventExecution, e.g. 2000 ms).
POLL_MAX_WAIT_MS = "2000"
# Functions that never wait for it: Route53's HTTPS checks need /health's answer within 2 s of
# connecting, so a 2 s wait would fail checks during every experiment. Health stays a target
# (the errors experiment failing it is a failover drill); it applies the configuration it has.
NO_POLL_WAIT_ROUTES = frozenset({"health"})
# The tag ``make chaos ENV=<env>`` finds a region's template by (ops/chaos_aws.py).
EXPERIMENT_TAG = "chaos-experiment"
# The experiment names (docs/chaos.md), as make chaos spells them.
REPLICATION_PAUSE = "fis-replication-pause"
LAMBDA_ERRORS = "fis-lambda-errors"
LAMBDA_LATENCY = "fis-lambda-latency"
# The item functions the latency experiment delays (as the local lambda-latency does).
ITEM_ROUTES = ("create_item", "get_item")
# Actions the experiment role needs, per the actions reference.
TABLE_ACTIONS = (
    "dynamodb:PutResourcePolicy",
    "dynamodb:DeleteResourcePolicy",
    "dynamodb:GetResourcePolicy",
    "dynamodb:DescribeTable",
)
FUNCTION_ACTIONS = ("lambda:GetFunction",)
CONFIGURATION_WRITE_ACTIONS = ("s3:PutObject", "s3:DeleteObject")


def extension_parameter(architecture: str, version: int | None) -> str:
    """The public SSM parameter holding the extension layer's ARN for ``architecture``, at
    ``version`` of its history when given (GetParameter's ``name:<version>`` selector): the
    parameter moves to every new layer, which would change every targeted function at the next
    plan with code nobody reviewed."""
    name = f"/aws/service/fis/lambda-extension/AWS-FIS-extension-{architecture}/1.x.x"
    return f"{name}:{version}" if version is not None else name


@dataclass(frozen=True, kw_only=True)
class FaultInjection:
    """What a function needs to run under the FIS extension: the layer, and the region's
    configuration bucket (its ARN, e.g. ``arn:aws:s3:::items-staging-fis-eu-west-1-…``)."""

    layer_arn: str
    bucket_arn: str

    @property
    def location(self) -> str:
        return f"{self.bucket_arn}/{CONFIGURATION_PREFIX}/"

    def variables(self, route_id: str) -> dict[str, str]:
        """The extension's variables for the function of ``route_id``."""
        wait = {} if route_id in NO_POLL_WAIT_ROUTES else {"AWS_FIS_POLL_MAX_WAIT_MILLISECONDS": POLL_MAX_WAIT_MS}
        return {"AWS_LAMBDA_EXEC_WRAPPER": EXEC_WRAPPER, "AWS_FIS_CONFIGURATION_LOCATION": self.location, **wait}

    def statements(self) -> list[dict]:
        """The execution role lists the prefix and reads the configurations FIS writes there."""
        return [
            {
                "Sid": "FisConfigurationList",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": self.bucket_arn,
                "Condition": {"StringLike": {"s3:prefix": [f"{CONFIGURATION_PREFIX}/*"]}},
            },
            {
                "Sid": "FisConfigurationRead",
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": f"{self.location}*",
            },
        ]


@dataclass(frozen=True, kw_only=True)
class FaultConfigBucketProps:
    """``name``: the bucket's (global) name. ``architecture``: the functions' (the layer's).
    ``extension_version``: the extension parameter's version to read (default None: its latest)."""

    provider: AwsProvider
    name: str
    architecture: str
    extension_version: int | None = None


class FaultConfigBucket(Construct):
    """The region's configuration bucket: private (owner-enforced, public access blocked),
    TLS only, SSE-S3 encrypted, versioned, every version gone after a day (a fault
    configuration lives for one experiment). Exposes ``bucket`` and ``fault_injection``."""

    def __init__(self, scope: Construct, id_: str, props: FaultConfigBucketProps) -> None:
        super().__init__(scope, id_)
        p = props.provider
        self.bucket = aws.s3_bucket.S3Bucket(self, "bucket", provider=p, bucket=props.name)
        private_bucket_settings(self, p, self.bucket)
        bucket_id = self.bucket.id
        self._lifecycle(p, bucket_id)
        layer = aws.data_aws_ssm_parameter.DataAwsSsmParameter(
            self, "extension_layer", provider=p, name=extension_parameter(props.architecture, props.extension_version)
        )
        # insecure_value: a public String parameter; ``value`` is marked sensitive by the
        # provider, which would hide every function's layers in plans.
        self.fault_injection = FaultInjection(layer_arn=layer.insecure_value, bucket_arn=f"arn:aws:s3:::{props.name}")

    def _lifecycle(self, provider: AwsProvider, bucket_id: str) -> None:
        lc = aws.s3_bucket_lifecycle_configuration
        lc.S3BucketLifecycleConfiguration(
            self,
            "lifecycle",
            provider=provider,
            bucket=bucket_id,
            rule=[
                lc.S3BucketLifecycleConfigurationRule(
                    id="expire-fault-configurations",
                    status="Enabled",
                    filter=[lc.S3BucketLifecycleConfigurationRuleFilter(prefix="")],
                    expiration=[lc.S3BucketLifecycleConfigurationRuleExpiration(days=1)],
                    noncurrent_version_expiration=[
                        lc.S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(noncurrent_days=1)
                    ],
                    abort_incomplete_multipart_upload=[
                        lc.S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(days_after_initiation=1)
                    ],
                )
            ],
        )


@dataclass(frozen=True, kw_only=True)
class FisRoleProps:
    """The environment's experiment role. ``table_arns``: every region's table or replica;
    ``function_arns``: every targeted function; ``bucket_arns``: every region's configuration
    bucket; ``key_arns``: region -> the key encrypting that region's function environments;
    ``permissions_boundary``: the boundary every role of the stack carries."""

    provider: AwsProvider
    name: str
    account_id: str
    table_arns: tuple[str, ...]
    function_arns: tuple[str, ...]
    bucket_arns: tuple[str, ...]
    key_arns: Mapping[str, str]
    permissions_boundary: str | None = None


class FisRole(Construct):
    """Assumable by FIS for experiments of this account only; may change only the
    environment's tables' (and streams') resource policies, read its functions (and decrypt
    their environments through Lambda) and write the fault configurations. Exposes ``role``."""

    def __init__(self, scope: Construct, id_: str, props: FisRoleProps) -> None:
        super().__init__(scope, id_)
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "fis.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                    "Condition": {
                        "StringEquals": {"aws:SourceAccount": props.account_id},
                        "ArnLike": {"aws:SourceArn": f"arn:aws:fis:*:{props.account_id}:experiment/*"},
                    },
                }
            ],
        }
        self.role = aws.iam_role.IamRole(
            self,
            "role",
            provider=props.provider,
            name=props.name,
            assume_role_policy=json.dumps(trust),
            permissions_boundary=props.permissions_boundary,
        )
        aws.iam_role_policy.IamRolePolicy(
            self,
            "policy",
            provider=props.provider,
            role=self.role.id,
            name="least-privilege",
            policy=json.dumps({"Version": "2012-10-17", "Statement": fis_statements(props)}),
        )


def fis_statements(props: FisRoleProps) -> list[dict]:
    """The actions reference's permissions for the three actions, on the environment's ARNs
    (``tag:GetResources`` has no resource-level permissions)."""
    tables = [arn for table in props.table_arns for arn in (table, f"{table}/stream/*")]
    return [
        {"Sid": "PauseReplication", "Effect": "Allow", "Action": list(TABLE_ACTIONS), "Resource": tables},
        {
            "Sid": "ReadTargetFunctions",
            "Effect": "Allow",
            "Action": list(FUNCTION_ACTIONS),
            "Resource": list(props.function_arns),
        },
        {
            "Sid": "WriteFaultConfigurations",
            "Effect": "Allow",
            "Action": list(CONFIGURATION_WRITE_ACTIONS),
            "Resource": [f"{bucket}/{CONFIGURATION_PREFIX}/*" for bucket in props.bucket_arns],
        },
        _environment_keys(props),
        {"Sid": "ResolveTargets", "Effect": "Allow", "Action": "tag:GetResources", "Resource": "*"},
    ]


def _environment_keys(props: FisRoleProps) -> dict:
    """FIS reads AWS_FIS_CONFIGURATION_LOCATION with lambda:GetFunction; Lambda returns a
    function's environment, encrypted with the region's customer-managed key, only to a caller
    allowed to decrypt it through Lambda, with that function's ARN as encryption context."""
    return {
        "Sid": "ReadTargetEnvironments",
        "Effect": "Allow",
        "Action": ["kms:Decrypt"],
        "Resource": [props.key_arns[region] for region in sorted(props.key_arns)],
        "Condition": {
            "StringEquals": {
                "kms:ViaService": [f"lambda.{region}.amazonaws.com" for region in sorted(props.key_arns)],
                "kms:EncryptionContext:aws:lambda:FunctionArn": list(props.function_arns),
            }
        },
    }


@dataclass(frozen=True, kw_only=True)
class FisExperimentsProps:
    """One region's templates. ``table_arn``: the region's table or replica; ``functions``:
    route id -> function ARN; ``stop_alarm_arns``: alarms that stop every experiment when in
    ALARM (the region's API 5XX rate alarm at least); ``duration_minutes``,
    ``error_percent``, ``delay_ms``: from ``[chaos]``; ``tags``: the stack's default tags
    (the Cloud Control templates do not get the provider's)."""

    provider: AwsProvider
    name_prefix: str
    region: str
    role_arn: str
    table_arn: str
    functions: Mapping[str, str]
    stop_alarm_arns: tuple[str, ...]
    duration_minutes: int
    error_percent: int
    delay_ms: int
    tags: Mapping[str, str]


class FisExperiments(Construct):
    """Exposes ``templates`` (experiment name -> the template resource: an
    ``aws_fis_experiment_template`` or an ``aws_cloudcontrolapi_resource``)."""

    def __init__(self, scope: Construct, id_: str, props: FisExperimentsProps) -> None:
        super().__init__(scope, id_)
        self._props = props
        duration = f"PT{props.duration_minutes}M"
        every = tuple(props.functions.values())
        items = tuple(arn for route, arn in props.functions.items() if route in ITEM_ROUTES)
        self.templates = {
            REPLICATION_PAUSE: self._template(
                "replication_pause",
                REPLICATION_PAUSE,
                "aws:dynamodb:global-table-pause-replication",
                {"duration": duration},
                ("aws:dynamodb:global-table", "Tables", (props.table_arn,)),
            ),
            LAMBDA_ERRORS: self._lambda_template(
                "lambda_errors",
                LAMBDA_ERRORS,
                "aws:lambda:invocation-error",
                {"duration": duration, "invocationPercentage": str(props.error_percent), "preventExecution": "true"},
                every,
            ),
            LAMBDA_LATENCY: self._lambda_template(
                "lambda_latency",
                LAMBDA_LATENCY,
                "aws:lambda:invocation-add-delay",
                {"duration": duration, "invocationPercentage": "50", "startupDelayMilliseconds": str(props.delay_ms)},
                items,
            ),
        }

    def _template(
        self,
        id_: str,
        name: str,
        action_id: str,
        parameters: Mapping[str, str],
        target: tuple[str, str, tuple[str, ...]],
    ) -> TerraformResource:
        props = self._props
        fis = aws.fis_experiment_template
        resource_type, key, arns = target
        return fis.FisExperimentTemplate(
            self,
            id_,
            provider=props.provider,
            description=f"{props.name_prefix} {name} in {props.region} (docs/chaos.md)",
            role_arn=props.role_arn,
            action=[
                fis.FisExperimentTemplateAction(
                    name=id_,
                    action_id=action_id,
                    parameter=[fis.FisExperimentTemplateActionParameter(key=k, value=v) for k, v in parameters.items()],
                    target=fis.FisExperimentTemplateActionTarget(key=key, value="targets"),
                )
            ],
            target=[
                fis.FisExperimentTemplateTarget(
                    name="targets", resource_type=resource_type, selection_mode="ALL", resource_arns=list(arns)
                )
            ],
            stop_condition=[
                fis.FisExperimentTemplateStopCondition(source="aws:cloudwatch:alarm", value=arn)
                for arn in props.stop_alarm_arns
            ],
            experiment_options=fis.FisExperimentTemplateExperimentOptions(
                account_targeting="single-account", empty_target_resolution_mode="fail"
            ),
            tags=self._tags(name),
        )

    def _tags(self, name: str) -> dict[str, str]:
        return {"Name": f"{self._props.name_prefix}-{name}-{self._props.region}", EXPERIMENT_TAG: name}

    def _lambda_template(
        self, id_: str, name: str, action_id: str, parameters: Mapping[str, str], functions: tuple[str, ...]
    ) -> aws.cloudcontrolapi_resource.CloudcontrolapiResource:
        """The same template as ``_template`` makes, in FIS's document form (CreateExperimentTemplate)."""
        props = self._props
        document = {
            "Description": f"{props.name_prefix} {name} in {props.region} (docs/chaos.md)",
            "RoleArn": props.role_arn,
            "Targets": {
                "targets": {
                    "ResourceType": "aws:lambda:function",
                    "SelectionMode": "ALL",
                    "ResourceArns": list(functions),
                }
            },
            "Actions": {
                id_: {"ActionId": action_id, "Parameters": dict(parameters), "Targets": {"Functions": "targets"}}
            },
            "StopConditions": [{"Source": "aws:cloudwatch:alarm", "Value": arn} for arn in props.stop_alarm_arns],
            "ExperimentOptions": {"AccountTargeting": "single-account", "EmptyTargetResolutionMode": "fail"},
            "Tags": {**props.tags, **self._tags(name)},
        }
        return aws.cloudcontrolapi_resource.CloudcontrolapiResource(
            self,
            id_,
            provider=props.provider,
            type_name="AWS::FIS::ExperimentTemplate",
            desired_state=Fn.jsonencode(document),
        )
