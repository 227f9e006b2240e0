"""Statements every Lambda function's role needs, shared by the item functions
(modules/constructs/regional_api.py) and the authorizer (modules/constructs/regional_auth.py)."""

from __future__ import annotations

# X-Ray has no resource-level permissions; "*" is the narrowest form.
TRACING_STATEMENT = {
    "Sid": "Tracing",
    "Effect": "Allow",
    "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
    "Resource": "*",
}


def function_statements(log_group_arn: str, key_arn: str, region: str, function_name: str) -> list[dict]:
    """What every function's role needs: write to its own log group, send traces, read its
    own environment variables."""
    return [
        {
            "Sid": "Logs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": f"{log_group_arn}:*",
        },
        TRACING_STATEMENT,
        environment_key_statement(key_arn, region, function_name),
    ]


def environment_key_statement(key_arn: str, region: str, function_name: str) -> dict:
    """Decrypt the function's environment variables, which Lambda encrypts with the region's
    customer-managed key (``kms_key_arn`` on the function). Lambda decrypts them as the
    execution role, with the function's ARN as encryption context, so the role may decrypt
    only what was encrypted for this function. Lambda also creates a grant for the role when
    the function is created, but a grant is tied to the role's id: a re-created role would be
    left without access, this statement is not. The account is a wildcard because the
    function's ARN is not known before the role exists; the key trusts only this account's
    IAM (modules/constructs/regional_key.py), so it adds nothing."""
    return {
        "Sid": "EnvironmentKey",
        "Effect": "Allow",
        "Action": "kms:Decrypt",
        "Resource": key_arn,
        "Condition": {
            "StringLike": {
                "kms:EncryptionContext:aws:lambda:FunctionArn": f"arn:aws:lambda:{region}:*:function:{function_name}"
            }
        },
    }
