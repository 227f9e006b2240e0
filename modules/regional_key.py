"""A customer-managed KMS key per region for the table replica, log groups and alarm topic."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from constructs import Construct

from modules import aws

if TYPE_CHECKING:
    from cdktf_cdktf_provider_aws.provider import AwsProvider


@dataclass(frozen=True, kw_only=True)
class RegionalKeyProps:
    """``provider``: the region's provider. ``alias``: name after ``alias/``.
    ``account_id``: the account that owns the key (a token is fine)."""

    provider: AwsProvider
    region: str
    alias: str
    account_id: str


class RegionalKey(Construct):
    """Symmetric key with yearly rotation. The key policy delegates to IAM in the account
    (so roles still need an IAM grant), lets this region's CloudWatch Logs encrypt log
    groups of this account and lets CloudWatch alarms publish to encrypted topics."""

    def __init__(self, scope: Construct, id_: str, props: RegionalKeyProps) -> None:
        super().__init__(scope, id_)
        self.key = aws.kms_key.KmsKey(
            self,
            "key",
            provider=props.provider,
            description=f"{props.alias}: table and logs in {props.region}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=json.dumps(key_policy(props.account_id, props.region)),
        )
        aws.kms_alias.KmsAlias(
            self, "alias", provider=props.provider, name=f"alias/{props.alias}", target_key_id=self.key.key_id
        )
        self.arn = self.key.arn


def key_policy(account_id: str, region: str) -> dict:
    """IAM in the account administers the key; this region's CloudWatch Logs may encrypt
    the account's log groups; CloudWatch alarms may publish to topics it encrypts."""
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
            {
                "Sid": "CloudWatchLogsEncrypts",
                "Effect": "Allow",
                "Principal": {"Service": f"logs.{region}.amazonaws.com"},
                "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                "Resource": "*",
                "Condition": {
                    "ArnLike": {"kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:{region}:{account_id}:log-group:*"}
                },
            },
            {
                "Sid": "CloudWatchAlarmsPublishToEncryptedTopics",
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                "Resource": "*",
            },
        ],
    }
