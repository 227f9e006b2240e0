"""The one place constructs get AWS provider classes: ``from modules.provider import aws``, ``aws.sns_topic.SnsTopic``.

Lazy, like aws-powertools' loader; mypy reads the TYPE_CHECKING import, which a test keeps equal to SUBMODULES."""

from __future__ import annotations

import importlib
from types import ModuleType  # noqa: TC003 (the TYPE_CHECKING block below holds SUBMODULES only: a test checks)
from typing import TYPE_CHECKING

from modules.provider import fast_path  # fast path
from modules.provider.binding import PACKAGE

if TYPE_CHECKING:
    from cdktf_cdktf_provider_aws import (
        acm_certificate, acm_certificate_validation, api_gateway_account, api_gateway_authorizer,
        api_gateway_base_path_mapping, api_gateway_deployment, api_gateway_domain_name, api_gateway_gateway_response,
        api_gateway_integration, api_gateway_integration_response, api_gateway_method, api_gateway_method_response,
        api_gateway_method_settings, api_gateway_model, api_gateway_request_validator, api_gateway_resource,
        api_gateway_rest_api, api_gateway_stage, cloudcontrolapi_resource, cloudwatch_log_group,
        cloudwatch_metric_alarm, data_aws_caller_identity, data_aws_iam_openid_connect_provider, data_aws_ip_ranges,
        data_aws_route53_zone, data_aws_ssm_parameter, dynamodb_table, dynamodb_table_item, dynamodb_table_replica,
        fis_experiment_template, iam_openid_connect_provider, iam_policy, iam_role, iam_role_policy,
        iam_role_policy_attachment, kms_alias, kms_key, lambda_function, lambda_permission, provider,
        route53_health_check, route53_record, route53_traffic_policy, route53_traffic_policy_instance, s3_bucket,
        s3_bucket_lifecycle_configuration, s3_bucket_ownership_controls, s3_bucket_policy,
        s3_bucket_public_access_block, s3_bucket_server_side_encryption_configuration, s3_bucket_versioning, sns_topic,
        sns_topic_subscription, wafv2_ip_set, wafv2_web_acl, wafv2_web_acl_association,
        wafv2_web_acl_logging_configuration, xray_sampling_rule,
    )

SUBMODULES: tuple[str, ...] = (
    "acm_certificate", "acm_certificate_validation", "api_gateway_account", "api_gateway_authorizer",
    "api_gateway_base_path_mapping", "api_gateway_deployment", "api_gateway_domain_name",
    "api_gateway_gateway_response", "api_gateway_integration", "api_gateway_integration_response", "api_gateway_method",
    "api_gateway_method_response", "api_gateway_method_settings", "api_gateway_model", "api_gateway_request_validator",
    "api_gateway_resource", "api_gateway_rest_api", "api_gateway_stage", "cloudcontrolapi_resource",
    "cloudwatch_log_group", "cloudwatch_metric_alarm", "data_aws_caller_identity",
    "data_aws_iam_openid_connect_provider", "data_aws_ip_ranges", "data_aws_route53_zone", "data_aws_ssm_parameter",
    "dynamodb_table", "dynamodb_table_item", "dynamodb_table_replica", "fis_experiment_template",
    "iam_openid_connect_provider", "iam_policy", "iam_role", "iam_role_policy", "iam_role_policy_attachment",
    "kms_alias", "kms_key", "lambda_function", "lambda_permission", "provider", "route53_health_check",
    "route53_record", "route53_traffic_policy", "route53_traffic_policy_instance", "s3_bucket",
    "s3_bucket_lifecycle_configuration", "s3_bucket_ownership_controls", "s3_bucket_policy",
    "s3_bucket_public_access_block", "s3_bucket_server_side_encryption_configuration", "s3_bucket_versioning",
    "sns_topic", "sns_topic_subscription", "wafv2_ip_set", "wafv2_web_acl", "wafv2_web_acl_association",
    "wafv2_web_acl_logging_configuration", "xray_sampling_rule",
)

# fast path (docs/cdktf.md, "Fast synth"): MODE is 'fast' when it is used, 'full' for the normal import.
MODE: str = fast_path.install(SUBMODULES)  # fast path


def __getattr__(name: str) -> ModuleType:
    if name not in SUBMODULES:
        raise AttributeError(f"modules.provider.aws has no submodule {name!r}: add it to SUBMODULES and the import")
    module = importlib.import_module(f"{PACKAGE}.{name}")
    globals()[name] = module
    return module
