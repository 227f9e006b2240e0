"""One region's API: the four Lambda functions (one role each, least privilege), their log
groups, and a REGIONAL REST API with a logged, throttled stage."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass

from cdktf import Fn
from constructs import Construct

from modules import aws
from modules.config import ApiConfig, LambdaConfig
from modules.naming import Naming
from modules.routes import RESOURCES, ROUTES, Route


# One JSON line per request; no headers, no body, no query strings (they can carry secrets).
ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "requestTime": "$context.requestTime",
        "httpMethod": "$context.httpMethod",
        "resourcePath": "$context.resourcePath",
        "status": "$context.status",
        "protocol": "$context.protocol",
        "responseLength": "$context.responseLength",
        "integrationLatency": "$context.integrationLatency",
        "integrationError": "$context.integration.error",
    },
    sort_keys=True,
)


# Every route's authorization (no authorizer yet).
METHOD_AUTHORIZATION = "NONE"
# API Gateway's default integration timeout, stated so the deployment trigger sees it; every
# function times out before it (lambda.timeout <= 29).
INTEGRATION_TIMEOUT_MS = 29000


@dataclass(frozen=True, kw_only=True)
class RegionalApiProps:
    """Everything one region's API needs. ``kms_key_arn`` encrypts its log groups;
    ``table_kms_key_arn`` (None unless the table uses a customer-managed key) is what the
    roles may use through DynamoDB. ``lambda_config``: every function's settings (and the
    log retention); ``api_config``: the stage and its throttling. ``emulated`` (default
    False): moto does not store a function's logging_config, so in emulator mode it is
    ignored after creation, or every plan would show it again."""

    provider: object
    region: str
    naming: Naming
    table_name: str
    table_arn: str
    kms_key_arn: str
    table_kms_key_arn: str | None
    code_path: str
    code_hash: str
    lambda_config: LambdaConfig
    api_config: ApiConfig
    emulated: bool = False


class RegionalApi(Construct):
    """Exposes ``rest_api``, ``stage``, ``functions`` (route id -> function),
    ``roles`` (route id -> role), ``invoke_url`` and ``execute_api_host``."""

    def __init__(self, scope: Construct, id_: str, props: RegionalApiProps) -> None:
        super().__init__(scope, id_)
        p, region, naming = props.provider, props.region, props.naming
        self.functions: dict[str, object] = {}
        self.roles: dict[str, object] = {}
        self.log_groups: dict[str, object] = {}

        for route in ROUTES:
            self._function(Construct(self, route.id), route, props)

        api = aws.api_gateway_rest_api.ApiGatewayRestApi(
            self,
            "rest_api",
            provider=p,
            name=naming.name("api"),
            description=f"{naming.prefix} items API in {region}",
            endpoint_configuration=aws.api_gateway_rest_api.ApiGatewayRestApiEndpointConfiguration(types=["REGIONAL"]),
        )
        self.rest_api = api
        resources: dict[str, object] = {}
        for key, (parent, part) in RESOURCES.items():  # parents come first
            resources[key] = aws.api_gateway_resource.ApiGatewayResource(
                self,
                f"resource_{key}",
                provider=p,
                rest_api_id=api.id,
                parent_id=resources[parent].id if parent else api.root_resource_id,
                path_part=part,
            )

        # What a deployment depends on: a change to any of these must publish a new one (API
        # Gateway serves a stage's last deployment, not the current methods). Ids, URIs and
        # the settings we configure, as literal values; hashing whole objects would pull in
        # computed attributes and make the plan after apply never empty.
        fingerprint: list[str] = [r.id for r in resources.values()]
        integrations = []
        for route in ROUTES:
            resource = resources[route.resource]
            scope_ = self.node.find_child(route.id)
            method_settings = {
                "authorization": METHOD_AUTHORIZATION,
                "request_parameters": {"method.request.path.item_id": True} if "{item_id}" in route.path else None,
            }
            integration_settings = {
                "type": "AWS_PROXY", "integration_http_method": "POST", "timeout_milliseconds": INTEGRATION_TIMEOUT_MS,
            }
            method = aws.api_gateway_method.ApiGatewayMethod(
                scope_,
                "method",
                provider=p,
                rest_api_id=api.id,
                resource_id=resource.id,
                http_method=route.method,
                **method_settings,
            )
            integration = aws.api_gateway_integration.ApiGatewayIntegration(
                scope_,
                "integration",
                provider=p,
                rest_api_id=api.id,
                resource_id=resource.id,
                http_method=method.http_method,
                uri=self.functions[route.id].invoke_arn,
                **integration_settings,
            )
            aws.lambda_permission.LambdaPermission(
                scope_,
                "permission",
                provider=p,
                statement_id="AllowApiGatewayInvoke",
                action="lambda:InvokeFunction",
                function_name=self.functions[route.id].function_name,
                principal="apigateway.amazonaws.com",
                source_arn=f"{api.execution_arn}/{props.api_config.stage}/{route.method}{source_arn_path(route.path)}",
            )
            integrations.append(integration)
            fingerprint += [method.id, integration.id, integration.uri, _redeploy_settings(method_settings, integration_settings)]

        deployment = aws.api_gateway_deployment.ApiGatewayDeployment(
            self,
            "deployment",
            provider=p,
            rest_api_id=api.id,
            triggers={"redeployment": Fn.sha1(Fn.jsonencode(fingerprint))},
            depends_on=integrations,
            lifecycle={"create_before_destroy": True},
        )

        access_logs = _log_group(self, "access_logs", f"/aws/apigateway/{naming.name('api')}/{props.api_config.stage}", props)
        # API Gateway writes access and execution logs through one role per account and region.
        cloudwatch_role = aws.iam_role.IamRole(
            self,
            "cloudwatch_role",
            provider=p,
            name=naming.name("apigw-logs", region),
            assume_role_policy=_assume_role("apigateway.amazonaws.com"),
        )
        aws.iam_role_policy_attachment.IamRolePolicyAttachment(
            self,
            "cloudwatch_role_policy",
            provider=p,
            role=cloudwatch_role.name,
            policy_arn="arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs",
        )
        account = aws.api_gateway_account.ApiGatewayAccount(
            self, "account", provider=p, cloudwatch_role_arn=cloudwatch_role.arn
        )
        self.stage = aws.api_gateway_stage.ApiGatewayStage(
            self,
            "stage",
            provider=p,
            depends_on=[account],
            rest_api_id=api.id,
            deployment_id=deployment.id,
            stage_name=props.api_config.stage,
            xray_tracing_enabled=True,
            access_log_settings=aws.api_gateway_stage.ApiGatewayStageAccessLogSettings(
                destination_arn=access_logs.arn, format=ACCESS_LOG_FORMAT
            ),
        )
        aws.api_gateway_method_settings.ApiGatewayMethodSettings(
            self,
            "method_settings",
            provider=p,
            rest_api_id=api.id,
            stage_name=self.stage.stage_name,
            method_path="*/*",
            settings=aws.api_gateway_method_settings.ApiGatewayMethodSettingsSettings(
                metrics_enabled=True,
                logging_level="ERROR",
                data_trace_enabled=False,
                throttling_rate_limit=props.api_config.throttle_rate_limit,
                throttling_burst_limit=props.api_config.throttle_burst_limit,
            ),
        )
        self.invoke_url = self.stage.invoke_url
        self.execute_api_host = f"{api.id}.execute-api.{region}.amazonaws.com"

    def _function(self, scope: Construct, route: Route, props: RegionalApiProps) -> None:
        p, naming, region = props.provider, props.naming, props.region
        function_name = naming.name(route.id.replace("_", "-"))
        log_group = _log_group(scope, "logs", f"/aws/lambda/{function_name}", props)
        role = aws.iam_role.IamRole(
            scope,
            "role",
            provider=p,
            name=naming.name(route.id.replace("_", "-"), region),
            assume_role_policy=_assume_role("lambda.amazonaws.com"),
        )
        statements: list[dict] = [
            {"Sid": "Table", "Effect": "Allow", "Action": list(route.actions), "Resource": props.table_arn},
            {
                "Sid": "Logs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": f"{log_group.arn}:*",
            },
            # X-Ray has no resource-level permissions; "*" is the narrowest form.
            {"Sid": "Tracing", "Effect": "Allow", "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], "Resource": "*"},
        ]
        if props.table_kms_key_arn is not None and route.key_actions:
            statements.append(
                {
                    "Sid": "TableKey",
                    "Effect": "Allow",
                    "Action": list(route.key_actions),
                    "Resource": props.table_kms_key_arn,
                    "Condition": {"StringEquals": {"kms:ViaService": f"dynamodb.{region}.amazonaws.com"}},
                }
            )
        policy = aws.iam_role_policy.IamRolePolicy(
            scope,
            "policy",
            provider=p,
            role=role.id,
            name="least-privilege",
            policy=json.dumps({"Version": "2012-10-17", "Statement": statements}),
        )
        fn = aws.lambda_function.LambdaFunction(
            scope,
            "function",
            provider=p,
            function_name=function_name,
            description=f"{route.method} {route.resource} ({route.handler})",
            role=role.arn,
            handler=route.handler,
            runtime=props.lambda_config.runtime,
            architectures=[props.lambda_config.architecture],
            memory_size=props.lambda_config.memory,
            timeout=props.lambda_config.timeout,
            reserved_concurrent_executions=props.lambda_config.reserved_concurrency,
            filename=props.code_path,
            source_code_hash=props.code_hash,
            environment=aws.lambda_function.LambdaFunctionEnvironment(variables={"TABLE_NAME": props.table_name}),
            tracing_config=aws.lambda_function.LambdaFunctionTracingConfig(mode="Active"),
            logging_config=aws.lambda_function.LambdaFunctionLoggingConfig(
                log_format="JSON", log_group=log_group.name, application_log_level="INFO", system_log_level="WARN"
            ),
            # The role must be able to write logs before the first invocation.
            depends_on=[policy, log_group],
            lifecycle={"ignore_changes": ["logging_config"]} if props.emulated else None,
        )
        self.functions[route.id] = fn
        self.roles[route.id] = role
        self.log_groups[route.id] = log_group


def _log_group(scope: Construct, id_: str, name: str, props: RegionalApiProps):
    """Encrypted with the region's key, kept for the environment's retention."""
    return aws.cloudwatch_log_group.CloudwatchLogGroup(
        scope, id_, provider=props.provider, name=name,
        retention_in_days=props.lambda_config.log_retention_days, kms_key_id=props.kms_key_arn,
    )


def source_arn_path(path: str) -> str:
    """The path as it may appear in a Lambda permission's source ARN: API Gateway invokes
    with the ARN of the actual request (``.../GET/items/abc``) and Lambda matches it with
    ArnLike, so every path parameter must be ``*`` (as AWS CDK's ``pathForArn`` does; SAM
    issue 110). ``/items/{item_id}`` -> ``/items/*``."""
    return re.sub(r"\{[^/{}]+\}", "*", path)


def _redeploy_settings(method_settings: dict, integration_settings: dict) -> str:
    """A digest of the configured method and integration settings that need a new
    deployment, for the deployment trigger. A digest rather than the JSON itself: cdktf
    writes string literals into the Terraform expression without escaping their quotes."""
    text = json.dumps({"method": method_settings, "integration": integration_settings}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _assume_role(service: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
        }
    )
