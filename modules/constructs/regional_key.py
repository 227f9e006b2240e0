"""A customer-managed KMS key per region for the table replica, log groups and alarm topic."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from constructs import Construct

from modules.provider import aws

if TYPE_CHECKING:
    from cdktf_cdktf_provider_aws.provider import AwsProvider


@dataclass(frozen=True, kw_only=True)
class RegionalKeyProps:
    """``provider``: the region's provider. ``alias``: name after ``alias/``, also the
    ``{project}-{env}`` prefix of every log group, alarm and topic the key may serve.
    ``account_id``: the account that owns the key (a token is fine). ``retain`` (default
    False): Terraform refuses to destroy the key (``prevent_destroy``), for environments
    whose table has deletion protection: the table cannot be read without its key."""

    provider: AwsProvider
    region: str
    alias: str
    account_id: str
    retain: bool = False


class RegionalKey(Construct):
    """Symmetric key with yearly rotation. The key policy delegates to IAM in the account
    (so roles still need an IAM grant), lets this region's CloudWatch Logs encrypt the
    environment's log groups and lets the environment's CloudWatch alarms publish to its
    encrypted topics."""

    def __init__(self, scope: Construct, id_: str, props: RegionalKeyProps) -> None:
        super().__init__(scope, id_)
        self.key = aws.kms_key.KmsKey(
            self,
            "key",
            provider=props.provider,
            description=f"{props.alias}: table and logs in {props.region}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=json.dumps(key_policy(props.account_id, props.region, props.alias)),
            lifecycle={"prevent_destroy": True} if props.retain else None,
        )
        aws.kms_alias.KmsAlias(
            self, "alias", provider=props.provider, name=f"alias/{props.alias}", target_key_id=self.key.key_id
        )
        self.arn = self.key.arn


def key_policy(account_id: str, region: str, prefix: str) -> dict:
    """IAM in the account administers the key; two AWS services may use it, each only for
    this environment's resources in this account and region (against the confused deputy,
    where another account's resource gets a service to use our key):

    - CloudWatch Logs, for the environment's log groups. Logs calls KMS with the log
      group's ARN as encryption context (``kms:EncryptionContext:aws:logs:arn``), and that
      is the condition its documentation gives; it does not document sending
      ``aws:SourceAccount``/``aws:SourceArn`` to KMS, and a condition on a key the request
      lacks denies it, which would stop every log group. The ARN holds the account and
      region. API Gateway names execution log groups after the REST API's generated id,
      hence ``API-Gateway-Execution-Logs_*``; WAF logs only to groups named
      ``aws-waf-logs-*``, hence ``aws-waf-logs-<prefix>-*``.
    - CloudWatch alarms publishing to the environment's encrypted topics: SNS asks KMS on
      the alarm's behalf with the topic's ARN as encryption context, and the request carries
      the alarm as ``aws:SourceArn`` and its account as ``aws:SourceAccount`` (the SNS
      documentation's policy for AWS event sources)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AccountAdministers",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
                "Action": "kms:*",
                "Resource": "*",
            },
            _logs_statement(account_id, region, prefix),
            {
                "Sid": "CloudWatchAlarmsPublishToEncryptedTopics",
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": account_id},
                    "ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:{region}:{account_id}:alarm:{prefix}-*"},
                    "StringLike": {
                        "kms:EncryptionContext:aws:sns:topicArn": f"arn:aws:sns:{region}:{account_id}:{prefix}-*"
                    },
                },
            },
        ],
    }


def _logs_statement(account_id: str, region: str, prefix: str) -> dict:
    """CloudWatch Logs may use the key for the environment's log groups (see key_policy)."""
    log_group = f"arn:aws:logs:{region}:{account_id}:log-group:"
    return {
        "Sid": "CloudWatchLogsEncrypts",
        "Effect": "Allow",
        "Principal": {"Service": f"logs.{region}.amazonaws.com"},
        "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
        "Resource": "*",
        "Condition": {
            "ArnLike": {
                "kms:EncryptionContext:aws:logs:arn": [
                    f"{log_group}/aws/lambda/{prefix}-*",
                    f"{log_group}/aws/apigateway/{prefix}-*",
                    f"{log_group}API-Gateway-Execution-Logs_*",
                    f"{log_group}aws-waf-logs-{prefix}-*",
                ]
            }
        },
    }
