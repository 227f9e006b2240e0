"""One region's API: the four Lambda functions (one role each, least privilege), their log
groups, and a REGIONAL REST API with a logged, throttled stage; the JWT authorizer on the
item routes (modules/constructs/regional_auth.py), a request validator with the item model, and CORS
(modules/constructs/regional_cors.py) when origins are configured."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cdktf import Fn
from constructs import Construct

from modules.api_contract import ITEM_MODEL_NAME, ITEM_MODEL_SCHEMA, JSON_MEDIA_TYPE, arn_path
from modules.config.limits import HEALTH_RESERVED_CONCURRENCY
from modules.config.sections import HEALTH_ROUTE, ApiConfig, AuthConfig, LambdaConfig
from modules.constructs.function_policy import function_statements
from modules.constructs.regional_auth import RegionalAuthorizer, RegionalAuthorizerProps
from modules.constructs.regional_cors import RegionalCors, RegionalCorsProps
from modules.provider import aws
from modules.routes import RESOURCES, ROUTES, Route

if TYPE_CHECKING:
    from cdktf import TerraformResource
    from cdktf_cdktf_provider_aws.api_gateway_account import ApiGatewayAccount
    from cdktf_cdktf_provider_aws.api_gateway_deployment import ApiGatewayDeployment
    from cdktf_cdktf_provider_aws.api_gateway_integration import ApiGatewayIntegration
    from cdktf_cdktf_provider_aws.api_gateway_resource import ApiGatewayResource
    from cdktf_cdktf_provider_aws.api_gateway_rest_api import ApiGatewayRestApi
    from cdktf_cdktf_provider_aws.api_gateway_stage import ApiGatewayStage
    from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
    from cdktf_cdktf_provider_aws.iam_role import IamRole
    from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
    from cdktf_cdktf_provider_aws.lambda_function import LambdaFunction
    from cdktf_cdktf_provider_aws.provider import AwsProvider

    from modules.constructs.chaos_fis import FaultInjection
    from modules.naming import Naming

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


# The authorization of routes without a scope (/health: Route53 cannot sign), and of every
# route when the environment is public.
METHOD_AUTHORIZATION = "NONE"
# Item routes with the JWT authorizer: a Lambda authorizer is "CUSTOM" in API Gateway.
AUTHORIZER_AUTHORIZATION = "CUSTOM"
# One validator for the item routes: the body against its model, required parameters present.
VALIDATOR_SETTINGS: dict[str, Any] = {"validate_request_body": True, "validate_request_parameters": True}
# API Gateway's default integration timeout, stated so the deployment trigger sees it; every
# function times out before it (lambda.timeout <= 29).
INTEGRATION_TIMEOUT_MS = 29000
# /health's own method throttle: what its reserved concurrency serves when every check takes
# the worst latency (about 1 s, the DynamoDB timeout), so nothing past the throttle is ever
# throttled by Lambda; the burst is the reservation. Route53's checkers send about one a
# second (docs/production-signals.md).
HEALTH_WORST_LATENCY_S = 1
HEALTH_METHOD_PATH = f"{HEALTH_ROUTE.path.lstrip('/')}/{HEALTH_ROUTE.method}"
HEALTH_THROTTLE_RATE = HEALTH_RESERVED_CONCURRENCY / HEALTH_WORST_LATENCY_S
HEALTH_THROTTLE_BURST = HEALTH_RESERVED_CONCURRENCY
# X-Ray: Route53's checkers call /health dozens of times a minute; a rule evaluated before the
# default (priority 10000) records none of them. The path is matched with a wildcard for both
# ways in: /health through a custom domain (the health checks), /<stage>/health on the
# execute-api host (operators, the smoke step). API Gateway decides, Lambda follows.
HEALTH_SAMPLING_PRIORITY = 100


@dataclass(frozen=True, kw_only=True)
class RegionalApiProps:
    """Everything one region's API needs. ``kms_key_arn`` encrypts its log groups and the
    functions' environment variables;
    ``table_kms_key_arn`` (None unless the table uses a customer-managed key) is what the
    roles may use through DynamoDB. ``lambda_config``: every function's settings (and the
    log retention); ``api_config``: the stage, its throttling and CORS origins;
    ``auth_config``: the authorizer (none when public), which trusts ``issuer_url`` and runs
    ``authorizer_code_path`` (defaults: empty, for a public environment). ``emulated`` (default
    False): moto does not store a function's logging_config, so in emulator mode it is
    ignored after creation, or every plan would show it again; nor X-Ray sampling rules, so
    the emulator gets no ``/health`` sampling rule. ``permissions_boundary``
    (default None): the policy ARN every role here carries (the deploy role may create roles
    only with it). ``fault_injection`` (default None): the FIS Lambda extension on every
    function (its layer, its variables, its role reading the fault configurations), where the
    environment has FIS experiments (modules/constructs/chaos_fis.py)."""

    provider: AwsProvider
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
    auth_config: AuthConfig
    issuer_url: str = ""
    authorizer_code_path: str = ""
    authorizer_code_hash: str = ""
    emulated: bool = False
    permissions_boundary: str | None = None
    fault_injection: FaultInjection | None = None


class RegionalApi(Construct):
    """Exposes ``rest_api``, ``stage``, ``functions`` (route id -> function), ``roles``
    (route id -> role), ``log_groups`` (route id -> log group), ``execution_logs`` (the
    stage's execution log group), ``invoke_url`` and ``execute_api_host``."""

    def __init__(self, scope: Construct, id_: str, props: RegionalApiProps) -> None:
        super().__init__(scope, id_)
        self._props = props
        # One scope per route holds its function, role, method, integration and permission.
        route_scopes = {route.id: Construct(self, route.id) for route in ROUTES}
        self.functions: dict[str, LambdaFunction] = {}
        self.roles: dict[str, IamRole] = {}
        self.log_groups: dict[str, CloudwatchLogGroup] = {}
        for route in ROUTES:
            self._function(route_scopes[route.id], route)

        self.rest_api = self._rest_api()
        resources = self._resources()
        self.authorizer = self._authorizer()
        # What a deployment depends on: a change to any of these must publish a new one.
        fingerprint: list[str] = [resource.id for resource in resources.values()]
        fingerprint += self.authorizer.fingerprint if self.authorizer else []
        self._validator_id, self._model_name = self._validation(fingerprint)
        integrations: list[TerraformResource] = []
        for route in ROUTES:
            integration, route_fingerprint = self._route(route_scopes[route.id], route, resources[route.resource])
            integrations.append(integration)
            fingerprint += route_fingerprint
        integrations += self._cors(resources, fingerprint)

        deployment = self._deployment(fingerprint, integrations)
        self.execution_logs = self._execution_log_group()
        self.stage = self._stage(deployment, [self.execution_logs, *self._api_gateway_account()])
        self._method_settings()
        self._health_sampling_rule()
        self.invoke_url = self.stage.invoke_url
        self.execute_api_host = f"{self.rest_api.id}.execute-api.{props.region}.amazonaws.com"

    # --- one route's function ---------------------------------------------------------------

    def _function(self, scope: Construct, route: Route) -> None:
        """The route's function with its own log group and least-privilege role."""
        props = self._props
        function_name = props.naming.name(route.id.replace("_", "-"))
        log_group = self._log_group(scope, "logs", f"/aws/lambda/{function_name}")
        role = aws.iam_role.IamRole(
            scope,
            "role",
            provider=props.provider,
            name=props.naming.name(route.id.replace("_", "-"), props.region),
            assume_role_policy=_assume_role("lambda.amazonaws.com"),
            permissions_boundary=props.permissions_boundary,
        )
        policy = aws.iam_role_policy.IamRolePolicy(
            scope,
            "policy",
            provider=props.provider,
            role=role.id,
            name="least-privilege",
            policy=json.dumps(
                {"Version": "2012-10-17", "Statement": self._policy_statements(route, function_name, log_group)}
            ),
        )
        self.functions[route.id] = self._lambda_function(scope, route, function_name, role, policy, log_group)
        self.roles[route.id] = role
        self.log_groups[route.id] = log_group

    def _policy_statements(self, route: Route, function_name: str, log_group: CloudwatchLogGroup) -> list[dict]:
        """Only the route's table actions on this region's table, its own log group, X-Ray,
        its own environment variables, and the table key through DynamoDB when the table has
        a customer-managed key."""
        props = self._props
        statements: list[dict] = [
            {
                "Sid": "Table",
                "Effect": "Allow",
                "Action": list(route.actions),
                "Resource": props.table_arn,
                **_leading_keys_condition(route.leading_keys),
            },
            *function_statements(log_group.arn, props.kms_key_arn, props.region, function_name),
            *(props.fault_injection.statements() if props.fault_injection else []),
        ]
        if props.table_kms_key_arn is not None and route.key_actions:
            statements.append(
                {
                    "Sid": "TableKey",
                    "Effect": "Allow",
                    "Action": list(route.key_actions),
                    "Resource": props.table_kms_key_arn,
                    "Condition": {"StringEquals": {"kms:ViaService": f"dynamodb.{props.region}.amazonaws.com"}},
                }
            )
        return statements

    def _lambda_function(
        self,
        scope: Construct,
        route: Route,
        function_name: str,
        role: IamRole,
        policy: IamRolePolicy,
        log_group: CloudwatchLogGroup,
    ) -> LambdaFunction:
        props, settings = self._props, self._props.lambda_config
        return aws.lambda_function.LambdaFunction(
            scope,
            "function",
            provider=props.provider,
            function_name=function_name,
            description=f"{route.method} {route.resource} ({route.handler})",
            role=role.arn,
            handler=route.handler,
            runtime=settings.runtime,
            architectures=[settings.architecture],
            memory_size=settings.memory,
            timeout=settings.timeout,
            # Item functions take the environment's reservation, health a fixed one of its own.
            reserved_concurrent_executions=settings.reserved_for(route.id),
            filename=props.code_path,
            source_code_hash=props.code_hash,
            environment=aws.lambda_function.LambdaFunctionEnvironment(variables=self._variables(route.id)),
            layers=[props.fault_injection.layer_arn] if props.fault_injection else None,
            kms_key_arn=props.kms_key_arn,
            tracing_config=aws.lambda_function.LambdaFunctionTracingConfig(mode="Active"),
            logging_config=aws.lambda_function.LambdaFunctionLoggingConfig(
                log_format="JSON",
                log_group=log_group.name,
                application_log_level=settings.log_level,
                system_log_level="WARN",
            ),
            # The role must be able to write logs before the first invocation.
            depends_on=[policy, log_group],
            lifecycle={"ignore_changes": ["logging_config"]} if props.emulated else None,
        )

    def _variables(self, route_id: str) -> dict[str, str]:
        """The handlers' environment: the table, and the CORS origins they echo (when any)."""
        origins = self._props.api_config.cors_origins
        fault_injection = self._props.fault_injection
        return {
            "TABLE_NAME": self._props.table_name,
            **({"CORS_ORIGINS": ",".join(origins)} if origins else {}),
            **(fault_injection.variables(route_id) if fault_injection else {}),
        }

    def _log_group(self, scope: Construct, id_: str, name: str) -> CloudwatchLogGroup:
        """Encrypted with the region's key (whose policy admits these names only), kept for
        the environment's retention."""
        return aws.cloudwatch_log_group.CloudwatchLogGroup(
            scope,
            id_,
            provider=self._props.provider,
            name=name,
            retention_in_days=self._props.lambda_config.log_retention_days,
            kms_key_id=self._props.kms_key_arn,
        )

    # --- the REST API -----------------------------------------------------------------------

    def _rest_api(self) -> ApiGatewayRestApi:
        props = self._props
        return aws.api_gateway_rest_api.ApiGatewayRestApi(
            self,
            "rest_api",
            provider=props.provider,
            name=props.naming.name("api"),
            description=f"{props.naming.prefix} items API in {props.region}",
            endpoint_configuration=aws.api_gateway_rest_api.ApiGatewayRestApiEndpointConfiguration(types=["REGIONAL"]),
            # Should the API ever be replaced, its successor exists before the old one goes, so
            # the stage, custom domain mapping and health check move over without a gap.
            lifecycle={"create_before_destroy": True},
        )

    def _resources(self) -> dict[str, ApiGatewayResource]:
        """Resource key -> API Gateway resource (RESOURCES lists parents first)."""
        resources: dict[str, ApiGatewayResource] = {}
        for key, (parent, path_part) in RESOURCES.items():
            resources[key] = aws.api_gateway_resource.ApiGatewayResource(
                self,
                f"resource_{key}",
                provider=self._props.provider,
                rest_api_id=self.rest_api.id,
                parent_id=resources[parent].id if parent else self.rest_api.root_resource_id,
                path_part=path_part,
            )
        return resources

    def _route(
        self, scope: Construct, route: Route, resource: ApiGatewayResource
    ) -> tuple[ApiGatewayIntegration, list[str]]:
        """The route's method, Lambda integration and invoke permission; returns the
        integration and what of them the deployment trigger must hash: ids, the URI and the
        settings we configure as literal values (hashing whole objects would pull in
        computed attributes and make the plan after apply never empty)."""
        props, function = self._props, self.functions[route.id]
        method_settings = self._method_settings_of(route)
        integration_settings: dict[str, Any] = {
            "type": "AWS_PROXY",
            "integration_http_method": "POST",
            "timeout_milliseconds": INTEGRATION_TIMEOUT_MS,
        }
        protected = self.authorizer is not None and route.scope is not None
        method = aws.api_gateway_method.ApiGatewayMethod(
            scope,
            "method",
            provider=props.provider,
            rest_api_id=self.rest_api.id,
            resource_id=resource.id,
            http_method=route.method,
            authorizer_id=self.authorizer.authorizer.id if self.authorizer and protected else None,
            request_validator_id=self._validator_id if route.scope is not None else None,
            # The model's name as a reference, so the method waits for the model.
            **{**method_settings, "request_models": self._model_reference(method_settings["request_models"])},
        )
        integration = aws.api_gateway_integration.ApiGatewayIntegration(
            scope,
            "integration",
            provider=props.provider,
            rest_api_id=self.rest_api.id,
            resource_id=resource.id,
            http_method=method.http_method,
            uri=function.invoke_arn,
            **integration_settings,
        )
        aws.lambda_permission.LambdaPermission(
            scope,
            "permission",
            provider=props.provider,
            statement_id="AllowApiGatewayInvoke",
            action="lambda:InvokeFunction",
            function_name=function.function_name,
            principal="apigateway.amazonaws.com",
            source_arn=f"{self.rest_api.execution_arn}/{props.api_config.stage}/{route.method}{source_arn_path(route.path)}",
        )
        return integration, [
            method.id,
            integration.id,
            integration.uri,
            _redeploy_settings(method_settings, integration_settings),
        ]

    def _method_settings_of(self, route: Route) -> dict[str, Any]:
        """The literal settings of a route's method (they go into the deployment trigger):
        the authorizer on routes with a scope, the path parameter required, POST bodies
        validated against the item model. Ids go into the trigger separately."""
        protected = self.authorizer is not None and route.scope is not None
        return {
            "authorization": AUTHORIZER_AUTHORIZATION if protected else METHOD_AUTHORIZATION,
            "request_parameters": {"method.request.path.item_id": True} if "{item_id}" in route.path else None,
            "request_models": {JSON_MEDIA_TYPE: ITEM_MODEL_NAME} if route.method == "POST" else None,
        }

    def _model_reference(self, request_models: dict | None) -> dict | None:
        return {media_type: self._model_name for media_type in request_models} if request_models else None

    def _authorizer(self) -> RegionalAuthorizer | None:
        props = self._props
        if props.auth_config.public:
            return None
        return RegionalAuthorizer(
            self,
            "authorizer",
            RegionalAuthorizerProps(
                provider=props.provider,
                region=props.region,
                naming=props.naming,
                rest_api=self.rest_api,
                issuer_url=props.issuer_url,
                auth_config=props.auth_config,
                lambda_config=props.lambda_config,
                code_path=props.authorizer_code_path,
                code_hash=props.authorizer_code_hash,
                kms_key_arn=props.kms_key_arn,
                emulated=props.emulated,
                permissions_boundary=props.permissions_boundary,
            ),
        )

    def _validation(self, fingerprint: list[str]) -> tuple[str, str]:
        """The item model (JSON schema draft 4) and the validator; returns their id and name."""
        props = self._props
        model = aws.api_gateway_model.ApiGatewayModel(
            self,
            "item_model",
            provider=props.provider,
            rest_api_id=self.rest_api.id,
            name=ITEM_MODEL_NAME,
            content_type=JSON_MEDIA_TYPE,
            schema=json.dumps(ITEM_MODEL_SCHEMA, sort_keys=True),
        )
        validator = aws.api_gateway_request_validator.ApiGatewayRequestValidator(
            self,
            "validator",
            provider=props.provider,
            rest_api_id=self.rest_api.id,
            name="body-and-parameters",
            **VALIDATOR_SETTINGS,
        )
        settings = json.dumps({"model": ITEM_MODEL_SCHEMA, "validator": VALIDATOR_SETTINGS}, sort_keys=True)
        fingerprint += [model.id, validator.id, hashlib.sha256(settings.encode()).hexdigest()]
        return validator.id, model.name

    def _cors(self, resources: dict, fingerprint: list[str]) -> list:
        """Preflight methods and CORS on gateway responses; none without origins."""
        origins = self._props.api_config.cors_origins
        if not origins:
            return []
        cors = RegionalCors(
            self,
            "cors",
            RegionalCorsProps(
                provider=self._props.provider, rest_api=self.rest_api, resources=resources, origins=origins
            ),
        )
        fingerprint += cors.fingerprint
        return cors.integrations

    def _deployment(self, fingerprint: list[str], integrations: list[TerraformResource]) -> ApiGatewayDeployment:
        """API Gateway serves a stage's last deployment, not the current methods: a new one
        whenever anything in ``fingerprint`` changes."""
        return aws.api_gateway_deployment.ApiGatewayDeployment(
            self,
            "deployment",
            provider=self._props.provider,
            rest_api_id=self.rest_api.id,
            triggers={"redeployment": Fn.sha1(Fn.jsonencode(fingerprint))},
            depends_on=integrations,
            lifecycle={"create_before_destroy": True},
        )

    # --- the stage and its logging ----------------------------------------------------------

    def _api_gateway_account(self) -> list[ApiGatewayAccount]:
        """API Gateway writes access and execution logs through one CloudWatch role per
        account and region (``aws_api_gateway_account``), so one environment per account and
        region sets it (``api.manage_account_settings``; the config loader checks that across
        environments) and the others make nothing here: a second would overwrite the first's
        role, and destroying either would leave the setting naming a deleted role (the
        provider leaves the setting as it is on destroy), breaking the other's logs.

        The setting depends on the role's policy attachment explicitly: API Gateway checks
        the role when the setting is made and refuses one without the policy ("The role ARN
        does not have required permissions"), and only the role, not its attachment, is
        referenced, so nothing else orders the attachment first."""
        props = self._props
        if not props.api_config.manage_account_settings:
            return []
        cloudwatch_role = aws.iam_role.IamRole(
            self,
            "cloudwatch_role",
            provider=props.provider,
            name=props.naming.name("apigw-logs", props.region),
            assume_role_policy=_assume_role("apigateway.amazonaws.com"),
            permissions_boundary=props.permissions_boundary,
        )
        attachment = aws.iam_role_policy_attachment.IamRolePolicyAttachment(
            self,
            "cloudwatch_role_policy",
            provider=props.provider,
            role=cloudwatch_role.name,
            policy_arn="arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs",
        )
        return [
            aws.api_gateway_account.ApiGatewayAccount(
                self,
                "account",
                provider=props.provider,
                cloudwatch_role_arn=cloudwatch_role.arn,
                depends_on=[attachment],
            )
        ]

    def _execution_log_group(self) -> CloudwatchLogGroup:
        """The group API Gateway writes execution logs to. Made here, before the stage logs,
        so it gets the environment's retention and the region's key and goes with a destroy;
        left to API Gateway it would be created on first use, unencrypted, kept forever and
        left behind. (A stage already logging before this existed needs ``terraform import``
        of the group once.)"""
        stage_name = self._props.api_config.stage
        return self._log_group(self, "execution_logs", f"API-Gateway-Execution-Logs_{self.rest_api.id}/{stage_name}")

    def _stage(self, deployment: ApiGatewayDeployment, logging_ready: list) -> ApiGatewayStage:
        """``logging_ready``: what must exist before the stage logs (its execution log group,
        and the account's CloudWatch role where this environment sets it)."""
        props = self._props
        stage_name = props.api_config.stage
        access_logs = self._log_group(self, "access_logs", f"/aws/apigateway/{props.naming.name('api')}/{stage_name}")
        return aws.api_gateway_stage.ApiGatewayStage(
            self,
            "stage",
            provider=props.provider,
            depends_on=logging_ready,
            rest_api_id=self.rest_api.id,
            deployment_id=deployment.id,
            stage_name=stage_name,
            xray_tracing_enabled=True,
            access_log_settings=aws.api_gateway_stage.ApiGatewayStageAccessLogSettings(
                destination_arn=access_logs.arn, format=ACCESS_LOG_FORMAT
            ),
        )

    def _health_sampling_rule(self) -> None:
        """No traces of ``GET /health`` (``HEALTH_SAMPLING_PRIORITY``). moto has no sampling
        rules, so the emulator gets none (tests/synth/test_local_matches_dev.py)."""
        props = self._props
        if props.emulated:
            return
        aws.xray_sampling_rule.XraySamplingRule(
            self,
            "health_sampling",
            provider=props.provider,
            rule_name=props.naming.name("health"),
            priority=HEALTH_SAMPLING_PRIORITY,
            fixed_rate=0,
            reservoir_size=0,
            service_name=f"{self.rest_api.name}/{props.api_config.stage}",
            service_type="AWS::ApiGateway::Stage",
            http_method=HEALTH_ROUTE.method,
            url_path=f"*{HEALTH_ROUTE.path}",
            host="*",
            resource_arn="*",
            version=1,
        )

    def _method_settings(self) -> None:
        """Detailed metrics (where asked), error logging and the default throttling on every
        method of the stage;
        ``/health`` has its own throttle (``HEALTH_THROTTLE_*``), so a flood of it cannot use
        up the items' and the items' traffic cannot starve the health checks."""
        props = self._props
        for id_, method_path, rate, burst in (
            ("method_settings", "*/*", props.api_config.throttle_rate_limit, props.api_config.throttle_burst_limit),
            ("health_method_settings", HEALTH_METHOD_PATH, HEALTH_THROTTLE_RATE, HEALTH_THROTTLE_BURST),
        ):
            aws.api_gateway_method_settings.ApiGatewayMethodSettings(
                self,
                id_,
                provider=props.provider,
                rest_api_id=self.rest_api.id,
                stage_name=self.stage.stage_name,
                method_path=method_path,
                settings=aws.api_gateway_method_settings.ApiGatewayMethodSettingsSettings(
                    # per method, billed per metric; the per-stage ones the alarms read are always on
                    metrics_enabled=props.api_config.detailed_metrics,
                    logging_level="ERROR",
                    data_trace_enabled=False,
                    throttling_rate_limit=rate,
                    throttling_burst_limit=burst,
                ),
            )


def source_arn_path(path: str) -> str:
    """The path as it may appear in a Lambda permission's source ARN: API Gateway invokes
    with the ARN of the actual request (``.../GET/items/abc``) and Lambda matches it with
    ArnLike, so every path parameter must be ``*`` (as AWS CDK's ``pathForArn`` does; SAM
    issue 110). ``/items/{item_id}`` -> ``/items/*``."""
    return arn_path(path)


def _leading_keys_condition(leading_keys: tuple[str, ...]) -> dict:
    """Only these partition keys (none: any). ``dynamodb:LeadingKeys`` is multivalued, so
    ForAllValues; and ForAllValues is true for a request that carries no key at all (a
    Scan), so ``Null: false`` also requires the key to be present (IAM User Guide,
    "Multivalued context keys"; DynamoDB "Using IAM policy conditions for fine-grained
    access control")."""
    if not leading_keys:
        return {}
    return {
        "Condition": {
            "ForAllValues:StringEquals": {"dynamodb:LeadingKeys": list(leading_keys)},
            "Null": {"dynamodb:LeadingKeys": "false"},
        }
    }


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
