"""One region's JWT authorizer: a TOKEN Lambda authorizer (authorizer/handler.py) on the
REST API, its function with a least-privilege role, and the permission for API Gateway to invoke
it. Every region gets its own, all trusting the same issuer, so a token works in whichever
region Route53 picks (IAM/SigV4 signs for one region; Cognito user pools do not replicate)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from constructs import Construct

from modules.api_contract import route_scopes
from modules.constructs.function_policy import function_statements
from modules.provider import aws

if TYPE_CHECKING:
    from cdktf_cdktf_provider_aws.api_gateway_rest_api import ApiGatewayRestApi
    from cdktf_cdktf_provider_aws.provider import AwsProvider

    from modules.config.sections import AuthConfig, LambdaConfig
    from modules.naming import Naming

AUTHORIZER_TYPE = "TOKEN"
IDENTITY_SOURCE = "method.request.header.Authorization"
# API Gateway answers 401 itself, without invoking the function, when the header is absent
# or does not match: "Bearer " and three base64url parts (a JWS in compact form).
IDENTITY_VALIDATION_EXPRESSION = r"^Bearer [-0-9A-Za-z_]+\.[-0-9A-Za-z_]+\.[-0-9A-Za-z_]+$"
HANDLER = "authorizer.handler.authorize"
# Validating a token with cached keys takes milliseconds; fetching the keys at most 2 s
# per document (discovery, then JWKS).
TIMEOUT_SECONDS = 10


@dataclass(frozen=True, kw_only=True)
class RegionalAuthorizerProps:
    """``issuer_url``: the configured issuer, or in emulator mode the Terraform variable
    naming the local issuer. ``code_path``/``code_hash``: the authorizer's own zip.
    ``kms_key_arn`` encrypts its log group and environment variables."""

    provider: AwsProvider
    region: str
    naming: Naming
    rest_api: ApiGatewayRestApi
    issuer_url: str
    auth_config: AuthConfig
    lambda_config: LambdaConfig
    code_path: str
    code_hash: str
    kms_key_arn: str
    # Emulator mode: moto does not keep the function's logging_config, ignored after creation.
    emulated: bool = False
    # The policy ARN the role carries (the deploy role may create roles only with it).
    permissions_boundary: str | None = None


class RegionalAuthorizer(Construct):
    """Exposes ``authorizer``, ``function``, ``role``, ``log_group`` and ``fingerprint`` (what
    the API's deployment trigger must hash: ids, the URI and the settings)."""

    def __init__(self, scope: Construct, id_: str, props: RegionalAuthorizerProps) -> None:
        super().__init__(scope, id_)
        self._props = props
        name = props.naming.name("authorizer")
        self.log_group = aws.cloudwatch_log_group.CloudwatchLogGroup(
            self,
            "logs",
            provider=props.provider,
            name=f"/aws/lambda/{name}",
            retention_in_days=props.lambda_config.log_retention_days,
            kms_key_id=props.kms_key_arn,
        )
        self.role = self._role(name)
        self.function = self._function(name)
        settings: dict[str, Any] = {
            "type": AUTHORIZER_TYPE,
            "identity_source": IDENTITY_SOURCE,
            "identity_validation_expression": IDENTITY_VALIDATION_EXPRESSION,
            "authorizer_result_ttl_in_seconds": props.auth_config.cache_ttl,
        }
        self.authorizer = aws.api_gateway_authorizer.ApiGatewayAuthorizer(
            self,
            "authorizer",
            provider=props.provider,
            rest_api_id=props.rest_api.id,
            name="jwt",
            authorizer_uri=self.function.invoke_arn,
            **settings,
        )
        aws.lambda_permission.LambdaPermission(
            self,
            "permission",
            provider=props.provider,
            statement_id="AllowApiGatewayInvokeAuthorizer",
            action="lambda:InvokeFunction",
            function_name=self.function.function_name,
            principal="apigateway.amazonaws.com",
            source_arn=f"{props.rest_api.execution_arn}/authorizers/{self.authorizer.id}",
        )
        digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()
        self.fingerprint = [self.authorizer.id, self.authorizer.authorizer_uri, digest]

    def _role(self, function_name: str) -> aws.iam_role.IamRole:
        """Its logs, X-Ray and its own environment variables: the authorizer reads nothing
        else in AWS (the keys come from the issuer)."""
        props = self._props
        role = aws.iam_role.IamRole(
            self,
            "role",
            provider=props.provider,
            name=props.naming.name("authorizer", props.region),
            assume_role_policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
            permissions_boundary=props.permissions_boundary,
        )
        self._policy = aws.iam_role_policy.IamRolePolicy(
            self,
            "policy",
            provider=props.provider,
            role=role.id,
            name="least-privilege",
            policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": function_statements(
                        self.log_group.arn, props.kms_key_arn, props.region, function_name
                    ),
                }
            ),
        )
        return role

    def _function(self, name: str) -> aws.lambda_function.LambdaFunction:
        props, settings = self._props, self._props.lambda_config
        auth = props.auth_config
        return aws.lambda_function.LambdaFunction(
            self,
            "function",
            provider=props.provider,
            function_name=name,
            description="JWT authorizer (TOKEN) for the item routes",
            role=self.role.arn,
            handler=HANDLER,
            runtime=settings.runtime,
            architectures=[settings.architecture],
            memory_size=256,
            timeout=TIMEOUT_SECONDS,
            filename=props.code_path,
            source_code_hash=props.code_hash,
            environment=aws.lambda_function.LambdaFunctionEnvironment(
                variables={
                    "ISSUER": props.issuer_url,
                    "AUDIENCE": auth.audience,
                    "JWKS_URL": auth.jwks_url,
                    "JWKS_MAX_AGE_SECONDS": str(auth.jwks_max_age),
                    "ROUTE_SCOPES": json.dumps(route_scopes()),
                }
            ),
            # JSON lines, filtered at the environment's level, like the handlers' (and, like
            # theirs, moto does not keep logging_config: ignored after creation when emulated).
            logging_config=aws.lambda_function.LambdaFunctionLoggingConfig(
                log_format="JSON",
                log_group=self.log_group.name,
                application_log_level=settings.log_level,
                system_log_level="WARN",
            ),
            kms_key_arn=props.kms_key_arn,
            tracing_config=aws.lambda_function.LambdaFunctionTracingConfig(mode="Active"),
            lifecycle={"ignore_changes": ["logging_config"]} if props.emulated else None,
            depends_on=[self._policy, self.log_group],
        )
