"""IAM policies for an environment's deploy and plan roles, and the permissions boundary of
the roles the deploy role creates, derived from what that environment synthesizes.

``derive(doc, ...)`` walks the synthesized Terraform JSON of ``backend-<env>``: every
resource type must have a rule below (a new type without one is an error, so the deploy
role never silently lacks or gains a service), every literal physical name must carry the
environment's prefix (``items-dev``), and the regions come from the providers the
resources are bound to. The result names only the services the stack uses, scoped to the
ARNs its names produce in its regions:

- deploy role: for each resource type the stack has, the explicit actions Terraform's AWS
  provider calls to create, update, tag and delete it (``ServiceRule.write``), plus the plan
  role's reads, on those ARNs; the few actions AWS cannot scope to a resource
  (``kms:CreateKey``, ``acm:RequestCertificate``, ...) each narrowed by a condition where AWS
  offers one. Never ``<service>:*``.
- plan role: ``Describe*``/``Get*``/``List*`` on the same ARNs (never DynamoDB item reads).

Privilege escalation through the roles the deploy role creates: a role that may create a role,
give it any inline policy and pass it to a Lambda function it can invoke holds every
permission in the account. So every role the stack creates carries a permissions boundary
(``boundary_policy``: the union of what the stack's own roles are given, on the stack's ARNs),
made by the bootstrap stack outside the deploy role's reach; the deploy role may create a role,
or give one a policy, only with that boundary set (``iam:PermissionsBoundary``), may never
remove it, and may pass roles only to the services the stack's roles trust
(``iam:PassedToService``). Whatever policy it writes, a role it makes can do no more than the
boundary allows.

Both roles also get the environment's Terraform state (the S3 object and its lock file) when
the stack's backend is S3. Pure Python: no cdktf import, so it is tested on plain dicts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

TOKEN_MARK = "${"
# IAM path of everything the bootstrap makes for delivery (roles, boundaries): outside the
# ``role/<prefix>-*`` ARNs the deploy role manages, so it cannot change its own permissions.
DELIVERY_PATH = "/delivery/"


def permissions_boundary_name(prefix: str) -> str:
    return f"boundary-{prefix}"


def permissions_boundary_arn(account: str, prefix: str) -> str:
    """The boundary every role of the ``prefix`` environment carries (made by the bootstrap)."""
    return f"arn:aws:iam::{account}:policy{DELIVERY_PATH}{permissions_boundary_name(prefix)}"


class PolicyError(ValueError):
    """The synthesized stack uses something no rule covers, or a name outside the prefix."""


@dataclass(frozen=True, kw_only=True)
class ServiceRule:
    """How one service's resources become policy statements.

    ``write``: resource type -> the actions the AWS provider calls to create, update, tag and
    delete it (reads come from ``read``). ``names``: resource type -> attribute holding its
    physical name (checked against the prefix and turned into a name pattern). ``arns``:
    templates with ``{region}``, ``{account}`` and ``{name}`` (one per name pattern; templates
    without ``{name}`` are scoped by region only because the service's ARNs hold generated
    ids). ``read``: the plan role's actions (the deploy role's too). ``tag_scoped``: the ARNs
    carry generated ids, so the statement also requires the resource's ``environment`` tag.
    ``exact_names``: the names are DNS names chosen in the environment file (no prefix),
    granted exactly."""

    service: str
    write: Mapping[str, tuple[str, ...]]
    arns: tuple[str, ...]
    names: Mapping[str, str]
    read: tuple[str, ...]
    tag_scoped: bool = False
    exact_names: bool = False

    @property
    def types(self) -> tuple[str, ...]:
        return tuple(self.write)


_API_GATEWAY_WRITE = ("apigateway:POST", "apigateway:PUT", "apigateway:PATCH", "apigateway:DELETE")
RULES: tuple[ServiceRule, ...] = (
    ServiceRule(
        service="dynamodb",
        write={
            "aws_dynamodb_table": (
                "dynamodb:CreateTable",
                "dynamodb:UpdateTable",
                "dynamodb:DeleteTable",
                "dynamodb:UpdateContinuousBackups",
                "dynamodb:TagResource",
                "dynamodb:UntagResource",
            ),
            # Adding a replica to a global table (version 2019.11.21) needs these on the table in
            # every region: DynamoDB backfills the new replica with the caller's permissions.
            "aws_dynamodb_table_replica": (
                "dynamodb:UpdateTable",
                "dynamodb:CreateTableReplica",
                "dynamodb:DeleteTableReplica",
                "dynamodb:UpdateContinuousBackups",
                "dynamodb:TagResource",
                "dynamodb:UntagResource",
                "dynamodb:Scan",
                "dynamodb:Query",
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem",
                "dynamodb:BatchWriteItem",
            ),
            # The health sentinel item (see functions/schema.py HEALTH_SENTINEL_ID).
            "aws_dynamodb_table_item": (
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem",
                "dynamodb:GetItem",
            ),
        },
        arns=("arn:aws:dynamodb:{region}:{account}:table/{name}", "arn:aws:dynamodb:{region}:{account}:table/{name}/*"),
        names={"aws_dynamodb_table": "name"},
        # No Get*: that would include GetItem, i.e. reading the data.
        read=("dynamodb:Describe*", "dynamodb:List*", "dynamodb:GetResourcePolicy"),
    ),
    ServiceRule(
        service="lambda",
        write={
            "aws_lambda_function": (
                "lambda:CreateFunction",
                "lambda:DeleteFunction",
                "lambda:UpdateFunctionCode",
                "lambda:UpdateFunctionConfiguration",
                "lambda:PutFunctionConcurrency",
                "lambda:DeleteFunctionConcurrency",
                "lambda:TagResource",
                "lambda:UntagResource",
            ),
            "aws_lambda_permission": ("lambda:AddPermission", "lambda:RemovePermission"),
        },
        arns=("arn:aws:lambda:{region}:{account}:function:{name}",),
        names={"aws_lambda_function": "function_name"},
        read=("lambda:Get*", "lambda:List*"),
    ),
    ServiceRule(
        service="iam",
        # Creating a role and giving it permissions are in _role_statements (boundary required).
        write={
            "aws_iam_role": (
                "iam:DeleteRole",
                "iam:UpdateRole",
                "iam:UpdateRoleDescription",
                # No iam:UpdateAssumeRolePolicy: no condition key bounds the trust policy it writes,
                # so it could make a role assumable from outside the account. The provider calls it
                # only when a role's trust changes (CreateRole carries the trust): docs/iam-evaluation.md.
                "iam:TagRole",
                "iam:UntagRole",
            ),
            "aws_iam_role_policy": ("iam:DeleteRolePolicy",),
            "aws_iam_role_policy_attachment": ("iam:DetachRolePolicy",),
        },
        arns=("arn:aws:iam::{account}:role/{name}",),
        names={"aws_iam_role": "name"},
        read=(
            "iam:GetRole",
            "iam:GetRolePolicy",
            "iam:ListRolePolicies",
            "iam:ListAttachedRolePolicies",
            "iam:ListRoleTags",
            "iam:ListInstanceProfilesForRole",
        ),
    ),
    ServiceRule(
        service="logs",
        write={
            "aws_cloudwatch_log_group": (
                "logs:CreateLogGroup",
                "logs:DeleteLogGroup",
                "logs:PutRetentionPolicy",
                "logs:DeleteRetentionPolicy",
                "logs:AssociateKmsKey",
                "logs:DisassociateKmsKey",
                "logs:TagResource",
                # Not the deprecated TagLogGroup/UntagLogGroup: the provider calls TagResource.
                "logs:UntagResource",
            )
        },
        # API Gateway names a stage's execution log group after the REST API's generated id:
        # scoped by region, like the REST APIs themselves.
        arns=(
            "arn:aws:logs:{region}:{account}:log-group:{name}",
            "arn:aws:logs:{region}:{account}:log-group:{name}:*",
            "arn:aws:logs:{region}:{account}:log-group:API-Gateway-Execution-Logs_*",
            "arn:aws:logs:{region}:{account}:log-group:API-Gateway-Execution-Logs_*:*",
        ),
        names={"aws_cloudwatch_log_group": "name"},
        read=("logs:Describe*", "logs:List*"),
    ),
    ServiceRule(
        service="cloudwatch",
        write={
            "aws_cloudwatch_metric_alarm": (
                "cloudwatch:PutMetricAlarm",
                "cloudwatch:DeleteAlarms",
                "cloudwatch:TagResource",
                "cloudwatch:UntagResource",
            )
        },
        arns=("arn:aws:cloudwatch:{region}:{account}:alarm:{name}",),
        names={"aws_cloudwatch_metric_alarm": "alarm_name"},
        read=("cloudwatch:Describe*", "cloudwatch:ListTagsForResource"),
    ),
    ServiceRule(
        service="sns",
        write={
            "aws_sns_topic": (
                "sns:CreateTopic",
                "sns:DeleteTopic",
                "sns:SetTopicAttributes",
                "sns:TagResource",
                "sns:UntagResource",
            ),
            "aws_sns_topic_subscription": ("sns:Subscribe", "sns:Unsubscribe", "sns:SetSubscriptionAttributes"),
        },
        arns=("arn:aws:sns:{region}:{account}:{name}", "arn:aws:sns:{region}:{account}:{name}:*"),
        names={"aws_sns_topic": "name"},
        read=("sns:Get*", "sns:List*"),
    ),
    ServiceRule(
        service="kms",
        # CreateKey itself cannot be scoped to a key: _unscoped_statements.
        write={
            "aws_kms_key": (
                "kms:PutKeyPolicy",
                "kms:EnableKeyRotation",
                "kms:DisableKeyRotation",
                "kms:UpdateKeyDescription",
                "kms:ScheduleKeyDeletion",
                "kms:TagResource",
                "kms:UntagResource",
                # An alias is created, moved and deleted with permission on its key too.
                "kms:CreateAlias",
                "kms:UpdateAlias",
                "kms:DeleteAlias",
            )
        },
        arns=("arn:aws:kms:{region}:{account}:key/*",),
        names={},
        read=("kms:Describe*", "kms:Get*", "kms:List*"),
        tag_scoped=True,
    ),
    ServiceRule(
        service="kms",
        write={"aws_kms_alias": ("kms:CreateAlias", "kms:UpdateAlias", "kms:DeleteAlias")},
        arns=("arn:aws:kms:{region}:{account}:{name}",),
        names={"aws_kms_alias": "name"},
        read=("kms:Describe*", "kms:List*"),
    ),
    ServiceRule(
        service="acm",
        # RequestCertificate cannot be scoped to a certificate: _unscoped_statements.
        write={
            "aws_acm_certificate": (
                "acm:DeleteCertificate",
                "acm:AddTagsToCertificate",
                "acm:RemoveTagsFromCertificate",
            ),
            "aws_acm_certificate_validation": (),
        },
        arns=("arn:aws:acm:{region}:{account}:certificate/*",),
        names={},
        read=("acm:Describe*", "acm:Get*", "acm:List*"),
        tag_scoped=True,
    ),
    ServiceRule(
        service="apigateway",
        # API Gateway's IAM actions are the HTTP verbs of its management API, per resource path.
        write={
            **{
                t: _API_GATEWAY_WRITE
                for t in (
                    "aws_api_gateway_rest_api",
                    "aws_api_gateway_resource",
                    "aws_api_gateway_method",
                    "aws_api_gateway_integration",
                    "aws_api_gateway_deployment",
                    "aws_api_gateway_stage",
                    "aws_api_gateway_method_settings",
                    "aws_api_gateway_account",
                    "aws_api_gateway_base_path_mapping",
                    "aws_api_gateway_authorizer",
                    "aws_api_gateway_model",
                    "aws_api_gateway_request_validator",
                    "aws_api_gateway_method_response",
                    "aws_api_gateway_integration_response",
                    "aws_api_gateway_gateway_response",
                )
            },
            # Not AddCertificateToDomain/RemoveCertificateFromDomain: API Gateway checks them only
            # for a mutual TLS truststore, which the stack's domains do not have.
            "aws_api_gateway_domain_name": _API_GATEWAY_WRITE,
            # Associating a web ACL with a stage also needs this on the stage.
            "aws_wafv2_web_acl_association": ("apigateway:SetWebACL",),
        },
        # REST API ids are generated: scoped by region; domain names by the stack's names.
        arns=(
            "arn:aws:apigateway:{region}::/restapis",
            "arn:aws:apigateway:{region}::/restapis/*",
            "arn:aws:apigateway:{region}::/account",
            "arn:aws:apigateway:{region}::/tags/*",
            "arn:aws:apigateway:{region}::/domainnames",
            "arn:aws:apigateway:{region}::/domainnames/{name}",
            "arn:aws:apigateway:{region}::/domainnames/{name}/*",
        ),
        names={"aws_api_gateway_domain_name": "domain_name"},
        read=("apigateway:GET",),
        exact_names=True,
    ),
    ServiceRule(
        service="wafv2",
        write={
            "aws_wafv2_web_acl": (
                "wafv2:CreateWebACL",
                "wafv2:UpdateWebACL",
                "wafv2:DeleteWebACL",
                "wafv2:TagResource",
                "wafv2:UntagResource",
            ),
            "aws_wafv2_web_acl_association": ("wafv2:AssociateWebACL", "wafv2:DisassociateWebACL"),
            # Route53's checkers' addresses, which the rate rule exempts on /health.
            "aws_wafv2_ip_set": (
                "wafv2:CreateIPSet",
                "wafv2:UpdateIPSet",
                "wafv2:DeleteIPSet",
                "wafv2:TagResource",
                "wafv2:UntagResource",
            ),
            "aws_wafv2_web_acl_logging_configuration": (
                "wafv2:PutLoggingConfiguration",
                "wafv2:DeleteLoggingConfiguration",
            ),
        },
        # The ACL's ARN ends in a generated id; an ACL uses AWS's managed rule groups and is
        # associated with the stack's stages.
        arns=(
            "arn:aws:wafv2:{region}:{account}:regional/webacl/{name}/*",
            "arn:aws:wafv2:{region}:{account}:regional/ipset/{name}/*",
            "arn:aws:wafv2:{region}:*:regional/managedruleset/*/*",
            "arn:aws:apigateway:{region}::/restapis/*/stages/*",
        ),
        names={"aws_wafv2_web_acl": "name", "aws_wafv2_ip_set": "name"},
        read=("wafv2:Get*", "wafv2:List*"),
    ),
    ServiceRule(
        service="route53",
        # Records are changed in _unscoped_statements (a condition on the record names);
        # creating a health check cannot be scoped to one.
        write={
            "aws_route53_health_check": (
                "route53:UpdateHealthCheck",
                "route53:DeleteHealthCheck",
                "route53:ChangeTagsForResource",
            ),
            "aws_route53_record": (),
        },
        arns=("arn:aws:route53:::healthcheck/*", "arn:aws:route53:::change/*"),
        names={},
        read=("route53:Get*", "route53:List*"),
    ),
    # [chaos] fis = true only (modules/constructs/chaos_fis.py): each region's bucket FIS writes
    # fault configurations to. Its read calls are listed one by one: s3:Get* would include
    # GetObject (the data); HeadBucket is authorized as s3:ListBucket.
    ServiceRule(
        service="s3",
        write={
            "aws_s3_bucket": ("s3:CreateBucket", "s3:DeleteBucket", "s3:PutBucketTagging"),
            "aws_s3_bucket_ownership_controls": ("s3:PutBucketOwnershipControls",),
            "aws_s3_bucket_public_access_block": ("s3:PutBucketPublicAccessBlock",),
            "aws_s3_bucket_versioning": ("s3:PutBucketVersioning",),
            "aws_s3_bucket_server_side_encryption_configuration": ("s3:PutEncryptionConfiguration",),
            "aws_s3_bucket_policy": ("s3:PutBucketPolicy", "s3:DeleteBucketPolicy"),
            "aws_s3_bucket_lifecycle_configuration": ("s3:PutLifecycleConfiguration",),
        },
        arns=("arn:aws:s3:::{name}", "arn:aws:s3:::{name}/*"),
        names={"aws_s3_bucket": "bucket"},
        read=(
            "s3:ListBucket",
            "s3:GetBucketAcl",
            "s3:GetBucketCORS",
            "s3:GetBucketLogging",
            "s3:GetBucketObjectLockConfiguration",
            "s3:GetBucketOwnershipControls",
            "s3:GetBucketPolicy",
            "s3:GetBucketPublicAccessBlock",
            "s3:GetBucketRequestPayment",
            "s3:GetBucketTagging",
            "s3:GetBucketVersioning",
            "s3:GetBucketWebsite",
            "s3:GetAccelerateConfiguration",
            "s3:GetEncryptionConfiguration",
            "s3:GetLifecycleConfiguration",
            "s3:GetReplicationConfiguration",
        ),
    ),
    # FIS experiment templates have generated ids: tag-scoped; creating one carries the
    # environment's tag (_unscoped_writes), and names FIS's actions (action/*, AWS's).
    ServiceRule(
        service="fis",
        # The Lambda templates go through the Cloud Control API (AWS::FIS::ExperimentTemplate:
        # modules/constructs/chaos_fis.py), which calls FIS with the caller's permissions.
        write={
            t: ("fis:UpdateExperimentTemplate", "fis:DeleteExperimentTemplate", "fis:TagResource", "fis:UntagResource")
            for t in ("aws_fis_experiment_template", "aws_cloudcontrolapi_resource")
        },
        arns=("arn:aws:fis:{region}:{account}:experiment-template/*",),
        names={},
        read=("fis:GetExperimentTemplate", "fis:ListTagsForResource"),
        tag_scoped=True,
    ),
    # The sampling rule that leaves /health out of X-Ray (modules/constructs/regional_api.py).
    # Reading the rules (GetSamplingRules) has no resource-level permission: in _unscoped_statements.
    ServiceRule(
        service="xray",
        write={
            "aws_xray_sampling_rule": (
                "xray:CreateSamplingRule",
                "xray:UpdateSamplingRule",
                "xray:DeleteSamplingRule",
                "xray:TagResource",
                "xray:UntagResource",
            )
        },
        arns=("arn:aws:xray:{region}:{account}:sampling-rule/{name}",),
        names={"aws_xray_sampling_rule": "rule_name"},
        read=("xray:ListTagsForResource",),
    ),
    # The traffic-policy routing mode. Policies and their instances have generated ids;
    # creating a policy takes no resource, creating an instance is authorized on the zone too
    # (_traffic_policy_writes).
    ServiceRule(
        service="route53",
        write={
            "aws_route53_traffic_policy": (
                "route53:CreateTrafficPolicyVersion",
                "route53:UpdateTrafficPolicyComment",
                "route53:DeleteTrafficPolicy",
            ),
            "aws_route53_traffic_policy_instance": (
                "route53:UpdateTrafficPolicyInstance",
                "route53:DeleteTrafficPolicyInstance",
            ),
        },
        arns=("arn:aws:route53:::trafficpolicy/*", "arn:aws:route53:::trafficpolicyinstance/*"),
        names={},
        read=("route53:Get*", "route53:List*"),
    ),
)

# Terraform's built-in resource types: they call no AWS API, so they need no grant.
BUILTIN_TYPES = frozenset({"terraform_data"})

# Data sources and the actions they read with (none needs a resource-scoped grant).
DATA_SOURCES: Mapping[str, tuple[str, ...]] = {
    "aws_caller_identity": (),  # sts:GetCallerIdentity needs no permission
    "aws_ip_ranges": (),  # a public HTTPS GET of ip-ranges.amazonaws.com, no AWS API
    # Then GetHostedZone and ListTagsForResource on the zone it found: _zone_statements.
    "aws_route53_zone": ("route53:ListHostedZones", "route53:ListHostedZonesByName"),
    # The FIS Lambda extension's layer ARN, a public parameter of AWS: _public_parameters.
    "aws_ssm_parameter": (),
}
# Cloud Control API calls (no resource-level permissions, no condition keys), for the
# AWS::FIS::ExperimentTemplate resources only (walk refuses any other type through it).
# DescribeType: the resource's CustomizeDiff reads the type's schema during every plan while
# ``schema`` is not in state (the Service Authorization Reference names no resource type for it).
CLOUD_CONTROL_READS = (
    "cloudformation:GetResource",
    "cloudformation:GetResourceRequestStatus",
    "cloudformation:DescribeType",
)
CLOUD_CONTROL_WRITES = (
    "cloudformation:CreateResource",
    "cloudformation:UpdateResource",
    "cloudformation:DeleteResource",
)
CLOUD_CONTROL_TYPES = frozenset({"AWS::FIS::ExperimentTemplate"})
# The public SSM parameters the stack reads (AWS's, no account in their ARN), and the layers
# they name, which a function using them needs lambda:GetLayerVersion on.
# (/aws/ is reserved to AWS: no account can create a parameter under it, so the account form
# adds nothing.)
PUBLIC_PARAMETERS = (
    "arn:aws:ssm:{region}::parameter/aws/service/fis/lambda-extension/*",
    "arn:aws:ssm:{region}:{account}:parameter/aws/service/fis/lambda-extension/*",
)
FIS_EXTENSION_LAYERS = "arn:aws:lambda:{region}:*:layer:aws-fis-extension-*:*"
# The AWS-managed key DynamoDB encrypts a replica with when none is given: the provider reads
# a replica by calling kms:DescribeKey with this alias name. AWS-managed keys carry no tags, and
# no customer can create an alias under alias/aws/, so the alias in the request
# (kms:RequestAlias) names exactly this key.
DYNAMODB_MANAGED_KEY_ALIAS = "alias/aws/dynamodb"
# AWS managed policies the stack may attach, and their actions (for the boundary, which must
# let them work): a new one must be listed here, as a new resource type needs a rule.
MANAGED_POLICY_ACTIONS: Mapping[str, tuple[str, ...]] = {
    "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs": (
        "logs:CreateLogGroup",
        "logs:CreateLogStream",
        "logs:DescribeLogGroups",
        "logs:DescribeLogStreams",
        "logs:PutLogEvents",
        "logs:GetLogEvents",
        "logs:FilterLogEvents",
    )
}
# Actions that read a resource's data rather than its configuration: granted in the boundary
# only on resources named for the environment.
DATA_READ_VERBS = ("GetLogEvents", "FilterLogEvents")
# Services whose actions have no resource-level permissions (the boundary grants them on "*").
UNSCOPED_SERVICES = frozenset({"xray", "tag"})
# Services the deploy role has a key used through (see _key_statements), with what they need:
# Lambda encrypts environment variables with the caller's grant; DynamoDB encrypts tables.
KEY_USE_ACTIONS: Mapping[str, tuple[str, ...]] = {
    "lambda": ("kms:CreateGrant", "kms:Encrypt", "kms:Decrypt"),
    "dynamodb": (
        "kms:CreateGrant",
        "kms:DescribeKey",
        "kms:Encrypt",
        "kms:Decrypt",
        "kms:GenerateDataKey*",
        "kms:ReEncrypt*",
    ),
}
# WAF writes its logs to CloudWatch Logs through log delivery, which the caller sets up: these
# actions have no resource-level permissions and no condition keys.
WAF_LOG_DELIVERY_ACTIONS = (
    "logs:CreateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:GetLogDelivery",
    "logs:ListLogDeliveries",
    "logs:UpdateLogDelivery",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
)


@dataclass(frozen=True, kw_only=True)
class StackFacts:
    """What the walk found in one synthesized stack."""

    types: frozenset[str]
    data_types: frozenset[str]
    regions: tuple[str, ...]
    names: Mapping[str, tuple[str, ...]]  # resource type -> literal physical names
    managed_policy_arns: tuple[str, ...]
    record_names: tuple[str, ...]  # DNS names the stack writes records for
    state_bucket: str | None
    state_key: str | None
    trusted_services: tuple[str, ...] = ()  # service principals the stack's roles trust
    key_users: tuple[str, ...] = ()  # services the stack configures with a customer-managed key
    role_actions: tuple[str, ...] = ()  # every action the stack's role policies allow


def walk(doc: Mapping[str, Any]) -> StackFacts:
    """Collect types, regions, literal names and the S3 state location of a stack."""
    regions_by_alias = {
        f"aws.{p['alias']}": p["region"] for p in doc.get("provider", {}).get("aws", []) if "alias" in p
    }
    resources = doc.get("resource", {})
    names_attr = {t: attr for rule in RULES for t, attr in rule.names.items()}
    regions: dict[str, None] = {}
    names: dict[str, list[str]] = {}
    for rtype, items in resources.items():
        for body in items.values():
            region = regions_by_alias.get(body.get("provider", ""))
            if region:
                regions[region] = None
            value = body.get(names_attr.get(rtype, ""))
            if isinstance(value, str) and TOKEN_MARK not in value:
                names.setdefault(rtype, []).append(value)
    s3 = doc.get("terraform", {}).get("backend", {}).get("s3", {})
    _check_cloud_control(resources.get("aws_cloudcontrolapi_resource", {}))
    return StackFacts(
        types=frozenset(resources),
        data_types=frozenset(doc.get("data", {})),
        regions=tuple(regions),
        names={t: tuple(dict.fromkeys(v)) for t, v in names.items()},
        managed_policy_arns=_literals(resources.get("aws_iam_role_policy_attachment", {}), "policy_arn"),
        record_names=_literals(resources.get("aws_route53_record", {}), "name")
        + _literals(resources.get("aws_acm_certificate", {}), "domain_name"),
        state_bucket=s3.get("bucket"),
        state_key=s3.get("key"),
        trusted_services=_trusted_services(resources.get("aws_iam_role", {})),
        key_users=_key_users(resources),
        role_actions=_role_actions(resources.get("aws_iam_role_policy", {})),
    )


def _check_cloud_control(items: Mapping[str, Any]) -> None:
    """The deploy role's Cloud Control grants assume FIS templates (the fis rule)."""
    for name, body in items.items():
        if body.get("type_name") not in CLOUD_CONTROL_TYPES:
            raise PolicyError(
                f"aws_cloudcontrolapi_resource.{name}: type {body.get('type_name')!r} has no rule "
                f"(expected one of: {', '.join(sorted(CLOUD_CONTROL_TYPES))})"
            )


def _literals(items: Mapping[str, Any], attribute: str) -> tuple[str, ...]:
    values = (body.get(attribute) for body in items.values())
    return tuple(dict.fromkeys(v for v in values if isinstance(v, str) and TOKEN_MARK not in v))


def _statements_of(items: Mapping[str, Any], attribute: str) -> list[dict]:
    """The statements of the JSON policy documents in ``attribute`` (references stay strings)."""
    return [
        s
        for body in items.values()
        if isinstance(body.get(attribute), str)
        for s in json.loads(body[attribute]).get("Statement", [])
    ]


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _trusted_services(roles: Mapping[str, Any]) -> tuple[str, ...]:
    services = [
        service
        for s in _statements_of(roles, "assume_role_policy")
        for service in _as_list(s.get("Principal", {}).get("Service", []))
    ]
    return tuple(sorted(set(services)))


def _key_users(resources: Mapping[str, Any]) -> tuple[str, ...]:
    users = set()
    if any(f.get("kms_key_arn") for f in resources.get("aws_lambda_function", {}).values()):
        users.add("lambda")
    tables = resources.get("aws_dynamodb_table", {}).values()
    if any((t.get("server_side_encryption") or {}).get("kms_key_arn") for t in tables) or any(
        r.get("kms_key_arn") for r in resources.get("aws_dynamodb_table_replica", {}).values()
    ):
        users.add("dynamodb")
    return tuple(sorted(users))


def _role_actions(policies: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(
        sorted(
            {
                a
                for s in _statements_of(policies, "policy")
                if s.get("Effect") == "Allow"
                for a in _as_list(s.get("Action", []))
            }
        )
    )


def name_pattern(name: str, prefix: str, where: str) -> str:
    """``/aws/lambda/items-dev-get-item`` -> ``/aws/lambda/items-dev-*``; ``alias/items-dev``
    stays exact. A name without the prefix is an error: the role could not manage it."""
    at = name.find(prefix)
    if at < 0:
        raise PolicyError(
            f"{where}: name {name!r} does not contain the prefix {prefix!r}; the deploy role is scoped to it"
        )
    end = at + len(prefix)
    rest = name[end:]
    if not rest:
        return name
    if rest[0] in "-/.":
        return name[: end + 1] + "*"
    return name


@dataclass(frozen=True, kw_only=True)
class PolicyInputs:
    """The environment a policy is for. ``account`` may be a Terraform reference."""

    prefix: str
    environment: str
    account: str
    # The environment's public hosted zone (its id, or a Terraform reference to it); required
    # when the stack writes Route53 records.
    zone_id: str = ""

    @property
    def boundary_arn(self) -> str:
        return permissions_boundary_arn(self.account, self.prefix)


def _rules_for(rtype: str) -> list[ServiceRule]:
    rules = [rule for rule in RULES if rtype in rule.types]
    if not rules:
        raise PolicyError(
            f"resource type {rtype!r} has no rule in modules/bootstrap/deploy_policy.py RULES; add one "
            "(service, ARNs, names, the actions the provider calls) so the deploy role can manage it"
        )
    return rules


def _rule_arns(rule: ServiceRule, facts: StackFacts, inputs: PolicyInputs, named_only: bool = False) -> list[str]:
    """The rule's ARNs in the stack's regions; ``named_only``: only those built from the
    stack's names (not the templates scoped by region alone)."""
    names = [n for t in rule.names if t in facts.types for n in facts.names.get(t, ())]
    patterns = names if rule.exact_names else [name_pattern(n, inputs.prefix, rule.service) for n in names]
    arns: list[str] = []
    for template in (t for t in rule.arns if "{name}" in t or not named_only):
        regions = facts.regions if "{region}" in template else ("",)
        for region in regions:
            fills = patterns if "{name}" in template else [""]
            arns += [template.format(region=region, account=inputs.account, name=p) for p in fills]
    return list(dict.fromkeys(arns))


def _without_covered(resources: Iterable[str]) -> list[str]:
    """Drop the ARNs another ARN of the list already matches (``table/items-dev-*`` matches
    ``table/items-dev-*/*``): the same grant in fewer characters, for IAM's size limits."""
    unique = sorted(set(resources))
    prefixes = [r[:-1] for r in unique if r.endswith("*")]
    return [r for r in unique if not any(r != p + "*" and r.startswith(p) for p in prefixes)]


def _statement(
    sid: str, actions: Iterable[str], resources: Iterable[str], condition: dict | None = None, effect: str = "Allow"
) -> dict:
    statement: dict[str, Any] = {
        "Sid": sid,
        "Effect": effect,
        "Action": sorted(set(actions)),
        "Resource": _without_covered(resources),
    }
    if condition:
        statement["Condition"] = condition
    return statement


def _environment_tag(inputs: PolicyInputs) -> dict:
    return {"StringEquals": {"aws:ResourceTag/environment": inputs.environment}}


def _stack_rules(facts: StackFacts) -> list[ServiceRule]:
    """The rules of the stack's resource types, each once, in a stable order."""
    rules: list[ServiceRule] = []
    for rule in (r for t in sorted(facts.types - BUILTIN_TYPES) for r in _rules_for(t)):
        if not any(rule is seen for seen in rules):
            rules.append(rule)
    return rules


def _service_statements(facts: StackFacts, inputs: PolicyInputs, write: bool) -> list[dict]:
    statements = []
    for index, rule in enumerate(_stack_rules(facts)):
        actions = list(rule.read)
        if write:
            actions += [a for t in rule.types if t in facts.types for a in rule.write[t]]
        sid = f"{rule.service.capitalize()}{index}"
        statements.append(
            _statement(
                sid, actions, _rule_arns(rule, facts, inputs), _environment_tag(inputs) if rule.tag_scoped else None
            )
        )
    return statements


def _unscoped_statements(facts: StackFacts, inputs: PolicyInputs, write: bool) -> list[dict]:
    """Actions AWS cannot scope to a resource ARN, each narrowed by a condition where AWS
    offers one."""
    reads = sorted(
        {a for t in facts.data_types for a in DATA_SOURCES.get(t, ())}
        | {"logs:DescribeLogGroups", "cloudwatch:DescribeAlarms", "kms:ListAliases"}
        # the pipeline's quota check before plan and apply (ops/quota.py): account-wide
        | {"lambda:GetAccountSettings"}
        | (set(CLOUD_CONTROL_READS) if "aws_cloudcontrolapi_resource" in facts.types else set())
        # refreshing a sampling rule lists the region's rules (no resource-level permission)
        | ({"xray:GetSamplingRules"} if "aws_xray_sampling_rule" in facts.types else set())
    )
    unknown = sorted(t for t in facts.data_types if t not in DATA_SOURCES)
    if unknown:
        raise PolicyError(f"data source {unknown[0]!r} has no entry in modules/bootstrap/deploy_policy.py DATA_SOURCES")
    later = _unscoped_writes(facts, inputs) if write else _sentinel_read(facts, inputs)
    reads_of_the_env = (
        _zone_statements(facts, inputs) + _managed_key_read(facts, inputs) + _public_parameters(facts, inputs)
    )
    return [_statement("ReadUnscoped", reads, ["*"]), *reads_of_the_env, *later]


def _public_parameters(facts: StackFacts, inputs: PolicyInputs) -> list[dict]:
    """Both roles read the FIS extension's layer ARN (AWS's public parameter) and the layer a
    function then uses (creating or updating a function with a layer needs GetLayerVersion)."""
    if "aws_ssm_parameter" not in facts.data_types:
        return []
    parameters = [t.format(region=r, account=inputs.account) for r in facts.regions for t in PUBLIC_PARAMETERS]
    layers = [FIS_EXTENSION_LAYERS.format(region=region) for region in facts.regions]
    return [
        _statement("ReadFisExtensionParameter", ["ssm:GetParameter"], parameters),
        _statement("UseFisExtensionLayer", ["lambda:GetLayerVersion"], layers),
    ]


def _zone_arn(inputs: PolicyInputs) -> str:
    if not inputs.zone_id:
        raise PolicyError("the stack has Route53 records: PolicyInputs.zone_id must name the environment's zone")
    return f"arn:aws:route53:::hostedzone/{inputs.zone_id}"


def _zone_statements(facts: StackFacts, inputs: PolicyInputs) -> list[dict]:
    """Both roles read the environment's zone: the zone data source reads it after finding it
    by name, and refreshing an ``aws_route53_record`` calls GetHostedZone, then
    ListResourceRecordSets."""
    if "aws_route53_record" not in facts.types and "aws_route53_zone" not in facts.data_types:
        return []
    actions = ["route53:GetHostedZone", "route53:ListResourceRecordSets", "route53:ListTagsForResource"]
    return [_statement("ReadTheZone", actions, [_zone_arn(inputs)])]


def _managed_key_read(facts: StackFacts, inputs: PolicyInputs) -> list[dict]:
    """Both roles refresh replicas, which describes ``alias/aws/dynamodb``'s key by that name."""
    if "aws_dynamodb_table_replica" not in facts.types:
        return []
    keys = [f"arn:aws:kms:{region}:{inputs.account}:key/*" for region in facts.regions]
    condition = {"StringEquals": {"kms:RequestAlias": DYNAMODB_MANAGED_KEY_ALIAS}}
    return [_statement("DescribeDynamodbManagedKey", ["kms:DescribeKey"], keys, condition)]


def _sentinel_read(facts: StackFacts, inputs: PolicyInputs) -> list[dict]:
    """Planning refreshes ``aws_dynamodb_table_item`` with a GetItem: the plan role may read
    the health sentinel's key and no other item."""
    if "aws_dynamodb_table_item" not in facts.types:
        return []
    from functions.schema import HEALTH_SENTINEL_ID

    (rule,) = _rules_for("aws_dynamodb_table_item")
    arns = [arn for arn in _rule_arns(rule, facts, inputs) if not arn.endswith("/*")]
    return [
        _statement(
            "ReadHealthSentinelOnly",
            ["dynamodb:GetItem"],
            arns,
            {
                "ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [HEALTH_SENTINEL_ID]},
                "Null": {"dynamodb:LeadingKeys": "false"},
            },
        )
    ]


def _key_creation_statements(facts: StackFacts, inputs: PolicyInputs) -> list[dict]:
    """Creating the environment's keys, with their tags."""
    out: list[dict] = []
    if "aws_kms_key" not in facts.types:
        return out
    # CreateKey on "*" with the request tag; tagging is the key rule's (keys already tagged for
    # the environment) and TagNewKeys' (a key being created).
    out.append(
        _statement(
            "CreateTaggedKeys",
            ["kms:CreateKey"],
            ["*"],
            {"StringEquals": {"aws:RequestTag/environment": inputs.environment}},
        )
    )
    # Tags sent with CreateKey need kms:TagResource "in an IAM policy ... not restricted to
    # particular KMS keys" (KMS guide, "Managing KMS key tags with API operations"): on every
    # key of the stack's regions, but only where the key has no environment tag and no alias
    # but the environment's yet (a new key has neither), and the request writes this
    # environment's tag. A key tagged or aliased for anyone else stays out of reach; a key
    # with neither tag nor alias could be adopted (docs/iam-evaluation.md).
    keys = [f"arn:aws:kms:{region}:{inputs.account}:key/*" for region in facts.regions]
    out.append(
        _statement(
            "TagNewKeys",
            ["kms:TagResource"],
            keys,
            {
                "StringEquals": {"aws:RequestTag/environment": inputs.environment},
                "Null": {"aws:ResourceTag/environment": "true"},
                "ForAllValues:StringLike": {"kms:ResourceAliases": [f"alias/{inputs.prefix}*"]},
            },
        )
    )
    return out


def _unscoped_writes(facts: StackFacts, inputs: PolicyInputs) -> list[dict]:
    out = _key_creation_statements(facts, inputs)
    if "aws_acm_certificate" in facts.types:
        domains = [n for n in facts.names.get("aws_api_gateway_domain_name", ())] or list(facts.record_names)
        # ForAllValues holds when the request carries no acm:DomainNames at all: the Null
        # condition requires it. Tagging is the certificate rule's, on certificates already
        # tagged for the environment.
        out.append(
            _statement(
                "RequestOwnCertificates",
                ["acm:RequestCertificate"],
                ["*"],
                {
                    "ForAllValues:StringEquals": {"acm:DomainNames": sorted(set(domains))},
                    "Null": {"acm:DomainNames": "false"},
                },
            )
        )
    if "aws_route53_record" in facts.types:
        names = sorted({n for d in facts.record_names for n in (d, f"*.{d}")})
        out.append(
            _statement(
                "OwnRecordsOnly",
                ["route53:ChangeResourceRecordSets"],
                [_zone_arn(inputs)],
                {"ForAllValues:StringLike": {"route53:ChangeResourceRecordSetsNormalizedRecordNames": names}},
            )
        )
    if "aws_route53_health_check" in facts.types:
        # CreateHealthCheck has neither resource-level permissions nor condition keys.
        out.append(_statement("CreateHealthChecks", ["route53:CreateHealthCheck"], ["*"]))
    out += _traffic_policy_writes(facts, inputs)
    out += _fis_writes(facts, inputs)
    if "aws_wafv2_web_acl_logging_configuration" in facts.types:
        out.append(_statement("WafLogDelivery", WAF_LOG_DELIVERY_ACTIONS, ["*"]))
    if "aws_dynamodb_table_replica" in facts.types:
        out.append(
            _statement(
                "ReplicationServiceRole",
                ["iam:CreateServiceLinkedRole"],
                [f"arn:aws:iam::{inputs.account}:role/aws-service-role/replication.dynamodb.amazonaws.com/*"],
                {"StringEquals": {"iam:AWSServiceName": "replication.dynamodb.amazonaws.com"}},
            )
        )
    return out


def _fis_writes(facts: StackFacts, inputs: PolicyInputs) -> list[dict]:
    """A template is created with the environment's tag (it has none before), and creating or
    updating one is also authorized on the FIS actions it names (AWS's, never tagged). Cloud
    Control's own actions have neither resource-level permissions nor condition keys; it makes
    the template with the caller's FIS permissions, so they add nothing beyond those."""
    if not facts.types & {"aws_fis_experiment_template", "aws_cloudcontrolapi_resource"}:
        return []
    templates = [f"arn:aws:fis:{region}:{inputs.account}:experiment-template/*" for region in facts.regions]
    actions = [f"arn:aws:fis:{region}:*:action/*" for region in facts.regions]
    return [
        _statement(
            "CreateTaggedExperimentTemplates",
            ["fis:CreateExperimentTemplate", "fis:TagResource"],
            templates,
            {"StringEquals": {"aws:RequestTag/environment": inputs.environment}},
        ),
        _statement("NameFisActions", ["fis:CreateExperimentTemplate", "fis:UpdateExperimentTemplate"], actions),
        *(
            [_statement("CloudControl", CLOUD_CONTROL_WRITES, ["*"])]
            if "aws_cloudcontrolapi_resource" in facts.types
            else []
        ),
    ]


def _traffic_policy_writes(facts: StackFacts, inputs: PolicyInputs) -> list[dict]:
    """CreateTrafficPolicy takes no resource (nor condition key); a policy record is created in
    the environment's zone only, from a traffic policy."""
    out = []
    if "aws_route53_traffic_policy" in facts.types:
        out.append(_statement("CreateTrafficPolicies", ["route53:CreateTrafficPolicy"], ["*"]))
    if "aws_route53_traffic_policy_instance" in facts.types:
        resources = [_zone_arn(inputs), "arn:aws:route53:::trafficpolicy/*"]
        out.append(_statement("PolicyRecordsInTheZone", ["route53:CreateTrafficPolicyInstance"], resources))
    return out


def _key_statements(facts: StackFacts, inputs: PolicyInputs, write: bool) -> list[dict]:
    """The environment's keys used through the services configured with them (kms:ViaService):
    the deploy role sets a key on a function or table with its own grant; the plan role reads a
    function's environment variables, which needs Decrypt (without it Lambda returns them as
    an error and every plan shows a change)."""
    statements = []
    for service in facts.key_users:
        actions = KEY_USE_ACTIONS[service] if write else ("kms:Decrypt",) if service == "lambda" else ()
        if not actions:
            continue
        keys = [f"arn:aws:kms:{region}:{inputs.account}:key/*" for region in facts.regions]
        via = sorted(f"{service}.{region}.amazonaws.com" for region in facts.regions)
        condition = {"StringEquals": {"aws:ResourceTag/environment": inputs.environment, "kms:ViaService": via}}
        statements.append(_statement(f"KeysThrough{service.capitalize()}", actions, keys, condition))
    return statements


def _role_statements(facts: StackFacts, inputs: PolicyInputs) -> list[dict]:
    """Roles only within the environment's permissions boundary, passed only to the services
    the stack's roles trust (see the module doc: privilege escalation)."""
    if "aws_iam_role" not in facts.types:
        return []
    iam_rule = next(rule for rule in RULES if rule.service == "iam")
    roles = _rule_arns(iam_rule, facts, inputs)
    return [
        _statement(
            "RolesWithinTheBoundary",
            ["iam:CreateRole", "iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:PutRolePermissionsBoundary"],
            roles,
            {"StringEquals": {"iam:PermissionsBoundary": inputs.boundary_arn}},
        ),
        _statement(
            "PassRolesToTheStacksServices",
            ["iam:PassRole"],
            roles,
            {"StringEquals": {"iam:PassedToService": list(facts.trusted_services)}},
        ),
        _statement("NeverRemoveTheBoundary", ["iam:DeleteRolePermissionsBoundary"], ["*"], effect="Deny"),
    ]


def _guard_statements(facts: StackFacts) -> list[dict]:
    """The role may attach only the managed policies the stack attaches."""
    if "aws_iam_role_policy_attachment" not in facts.types:
        return []
    return [
        {
            "Sid": "OnlyTheStacksManagedPolicies",
            "Effect": "Deny",
            "Action": ["iam:AttachRolePolicy", "iam:DetachRolePolicy"],
            "Resource": "*",
            "Condition": {
                "ArnNotEquals": {"iam:PolicyARN": sorted(facts.managed_policy_arns) or ["arn:aws:iam::aws:policy/none"]}
            },
        }
    ]


def _state_statements(facts: StackFacts, write: bool) -> list[dict]:
    if not facts.state_bucket or not facts.state_key:
        return []
    bucket, key = facts.state_bucket, facts.state_key
    # Planning takes the lock too (the .tflock object), so both roles write the lock file.
    object_actions = ["s3:GetObject", "s3:PutObject"] if write else ["s3:GetObject"]
    return [
        _statement(
            "StateList",
            ["s3:ListBucket"],
            [f"arn:aws:s3:::{bucket}"],
            {"StringLike": {"s3:prefix": [key, f"{key}.tflock"]}},
        ),
        _statement("StateObject", object_actions, [f"arn:aws:s3:::{bucket}/{key}"]),
        _statement(
            "StateLock", ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], [f"arn:aws:s3:::{bucket}/{key}.tflock"]
        ),
    ]


def deploy_policy(doc: Mapping[str, Any], inputs: PolicyInputs) -> dict:
    """The deploy role's policy document for a synthesized stack."""
    facts = walk(doc)
    statements = (
        _service_statements(facts, inputs, write=True)
        + _unscoped_statements(facts, inputs, write=True)
        + _key_statements(facts, inputs, write=True)
        + _role_statements(facts, inputs)
    )
    return {
        "Version": "2012-10-17",
        "Statement": statements + _guard_statements(facts) + _state_statements(facts, True),
    }


def plan_policy(doc: Mapping[str, Any], inputs: PolicyInputs) -> dict:
    """The plan role's read-only policy document (plus the state lock) for a synthesized stack."""
    facts = walk(doc)
    statements = (
        _service_statements(facts, inputs, write=False)
        + _unscoped_statements(facts, inputs, write=False)
        + _key_statements(facts, inputs, write=False)
    )
    return {"Version": "2012-10-17", "Statement": statements + _state_statements(facts, False)}


def boundary_policy(doc: Mapping[str, Any], inputs: PolicyInputs) -> dict:
    """The permissions boundary of every role the stack creates: the actions the stack's own
    role policies and managed policies allow, on the stack's ARNs for each service (tag-scoped
    where the service's ARNs hold generated ids), ``*`` only for services without
    resource-level permissions. A role the deploy role makes can never do more."""
    facts = walk(doc)
    rules = _stack_rules(facts)
    by_service: dict[str, set[str]] = {}
    for action in facts.role_actions:
        by_service.setdefault(action.split(":", 1)[0], set()).add(action)
    statements = []
    for service, actions in sorted(by_service.items()):
        sid = f"{service.capitalize()}"
        if service in UNSCOPED_SERVICES:
            statements.append(_statement(sid, actions, ["*"]))
            continue
        own = [r for r in rules if r.service == service]
        if not own:
            raise PolicyError(
                f"the stack's roles use {service} but no resource of the stack has a {service} rule; "
                "add the service to UNSCOPED_SERVICES only if it has no resource-level permissions"
            )
        tagged = [r for r in own if r.tag_scoped] or own
        arns = [arn for r in tagged for arn in _rule_arns(r, facts, inputs)]
        statements.append(_statement(sid, actions, arns, _environment_tag(inputs) if tagged[0].tag_scoped else None))
    return {"Version": "2012-10-17", "Statement": statements + _managed_policy_statements(facts, inputs)}


def _managed_policy_statements(facts: StackFacts, inputs: PolicyInputs) -> list[dict]:
    """A managed policy's actions on the stack's own ARNs of each service it uses, never the
    account's: writes also where the service names resources after generated ids (API
    Gateway's execution log groups), data reads (``logs:GetLogEvents``) only on the resources
    named with the environment's prefix, since generated-id patterns also match other teams'."""
    statements = []
    for index, arn in enumerate(facts.managed_policy_arns):
        if arn not in MANAGED_POLICY_ACTIONS:
            raise PolicyError(
                f"managed policy {arn} has no entry in modules/bootstrap/deploy_policy.py MANAGED_POLICY_ACTIONS"
            )
        actions = MANAGED_POLICY_ACTIONS[arn]
        reads = [a for a in actions if a.split(":", 1)[1].startswith(DATA_READ_VERBS)]
        others = [a for a in actions if a not in reads]
        services = sorted({a.split(":", 1)[0] for a in actions})
        rules = [r for r in _stack_rules(facts) if r.service in services]
        if not rules:
            raise PolicyError(f"managed policy {arn} uses {services} but the stack has no resource of them")
        every = [a for r in rules for a in _rule_arns(r, facts, inputs)]
        named = [a for r in rules for a in _rule_arns(r, facts, inputs, named_only=True)]
        statements.append(_statement(f"ManagedPolicy{index}", others, every))
        if reads:
            statements.append(_statement(f"ManagedPolicy{index}Reads", reads, named))
    return statements


# IAM's limit for one customer-managed policy, in characters without whitespace. An inline
# policy would allow 10,240 for all of a role's inline policies together, which the explicit
# actions of a three-region stack exceed; a role may have 10 managed policies attached.
MANAGED_POLICY_CHARS = 6144
MANAGED_POLICIES_PER_ROLE = 10


def compact_json(document: dict) -> str:
    return json.dumps(document, separators=(",", ":"))


def split_policy(policy: dict, limit: int = MANAGED_POLICY_CHARS) -> list[dict]:
    """``policy`` as consecutive documents of at most ``limit`` characters each, statements
    kept whole and in order (their union grants exactly what ``policy`` grants)."""
    chunks: list[list[dict]] = [[]]
    for statement in policy["Statement"]:
        candidate = {**policy, "Statement": [*chunks[-1], statement]}
        if chunks[-1] and len(compact_json(candidate)) > limit:
            chunks.append([statement])
        else:
            chunks[-1].append(statement)
        if len(compact_json({**policy, "Statement": chunks[-1]})) > limit:
            raise PolicyError(f"statement {statement.get('Sid')} alone is over IAM's {limit} characters")
    if len(chunks) > MANAGED_POLICIES_PER_ROLE:
        raise PolicyError(
            f"the policy needs {len(chunks)} managed policies; a role may have {MANAGED_POLICIES_PER_ROLE}"
        )
    return [{**policy, "Statement": chunk} for chunk in chunks]
