"""What every bucket of the project gets: owner-enforced objects, all public access blocked,
versioning, SSE-S3 and a policy refusing anything but TLS. Used by the bootstrap's state
buckets and the FIS configuration buckets; the caller adds its own lifecycle."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from modules.provider import aws

if TYPE_CHECKING:
    from cdktf_cdktf_provider_aws.provider import AwsProvider
    from constructs import Construct


def private_bucket_settings(scope: Construct, provider: AwsProvider, bucket: aws.s3_bucket.S3Bucket) -> None:
    """The five settings, as resources of ``scope`` named ownership, public_access_block,
    versioning, encryption and tls_only."""
    bucket_id = bucket.id
    aws.s3_bucket_ownership_controls.S3BucketOwnershipControls(
        scope,
        "ownership",
        provider=provider,
        bucket=bucket_id,
        rule=aws.s3_bucket_ownership_controls.S3BucketOwnershipControlsRule(object_ownership="BucketOwnerEnforced"),
    )
    aws.s3_bucket_public_access_block.S3BucketPublicAccessBlock(
        scope,
        "public_access_block",
        provider=provider,
        bucket=bucket_id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
    )
    aws.s3_bucket_versioning.S3BucketVersioningA(
        scope,
        "versioning",
        provider=provider,
        bucket=bucket_id,
        versioning_configuration=aws.s3_bucket_versioning.S3BucketVersioningVersioningConfiguration(status="Enabled"),
    )
    sse = aws.s3_bucket_server_side_encryption_configuration
    sse.S3BucketServerSideEncryptionConfigurationA(
        scope,
        "encryption",
        provider=provider,
        bucket=bucket_id,
        rule=[
            sse.S3BucketServerSideEncryptionConfigurationRuleA(
                apply_server_side_encryption_by_default=sse.S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
                    sse_algorithm="AES256"
                )
            )
        ],
    )
    aws.s3_bucket_policy.S3BucketPolicy(
        scope, "tls_only", provider=provider, bucket=bucket_id, policy=json.dumps(tls_only_policy(bucket.arn))
    )


def tls_only_policy(bucket_arn: str) -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [bucket_arn, f"{bucket_arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }
