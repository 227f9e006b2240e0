"""CORS for one region's REST API: a preflight ``OPTIONS`` method on every resource (a MOCK
integration, answered by API Gateway without a function) and the CORS headers on API
Gateway's own 4XX and 5XX answers (gateway responses). The functions add the headers to
their own answers (functions/_http.py, from ``CORS_ORIGINS``).

Several origins: a header set by API Gateway is a static string and cannot name "the one
of these origins that asked". The preflight therefore answers the first origin statically
and, as AWS CDK's ``addCorsPreflight`` does, a response template overrides it with the
request's ``Origin`` when that is one of the others. Gateway responses have no such
override: they name the first origin, so a browser on another listed origin cannot read
API Gateway's own error bodies (401, 403, 429, 5xx), only the functions' (README, "CORS").
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from constructs import Construct

from modules.api_contract import CORS_ALLOW_HEADERS, CORS_EXPOSE_HEADERS, CORS_MAX_AGE_SECONDS, resource_methods
from modules.provider import aws

if TYPE_CHECKING:
    from cdktf import TerraformResource
    from cdktf_cdktf_provider_aws.api_gateway_resource import ApiGatewayResource
    from cdktf_cdktf_provider_aws.api_gateway_rest_api import ApiGatewayRestApi
    from cdktf_cdktf_provider_aws.provider import AwsProvider

PREFLIGHT_STATUS = "204"
GATEWAY_RESPONSE_TYPES = ("DEFAULT_4XX", "DEFAULT_5XX")
_HEADER = "method.response.header."


@dataclass(frozen=True, kw_only=True)
class RegionalCorsProps:
    """``origins``: at least one; ``resources``: resource key -> API Gateway resource."""

    provider: AwsProvider
    rest_api: ApiGatewayRestApi
    resources: dict[str, ApiGatewayResource]
    origins: tuple[str, ...]


def preflight_headers(origins: tuple[str, ...], methods: list[str]) -> dict[str, str]:
    """The preflight's static headers, as API Gateway's quoted literal values."""
    return {
        "Access-Control-Allow-Origin": f"'{origins[0]}'",
        "Access-Control-Allow-Methods": f"'{','.join(methods)}'",
        "Access-Control-Allow-Headers": f"'{','.join(CORS_ALLOW_HEADERS)}'",
        "Access-Control-Max-Age": f"'{CORS_MAX_AGE_SECONDS}'",
        "Vary": "'Origin'",
    }


def origin_override_template(origins: tuple[str, ...]) -> str:
    """AWS CDK's template: the request's Origin when it is one of the other allowed ones."""
    if len(origins) == 1:
        return ""
    others = " || ".join(f'$origin == "{origin}"' for origin in origins[1:])
    return (
        '#set($origin = $input.params().header.get("Origin"))\n'
        '#if($origin == "")#set($origin = $input.params().header.get("origin"))#end\n'
        f"#if({others})\n  #set($context.responseOverride.header.Access-Control-Allow-Origin = $origin)\n#end\n"
    )


class RegionalCors(Construct):
    """Exposes ``integrations`` (what the deployment must wait for) and ``fingerprint``."""

    def __init__(self, scope: Construct, id_: str, props: RegionalCorsProps) -> None:
        super().__init__(scope, id_)
        self._props = props
        self.integrations: list[TerraformResource] = []
        self.fingerprint: list[str] = []
        for key, methods in resource_methods().items():
            self._preflight(key, methods)
        self._gateway_responses()

    def _preflight(self, key: str, methods: list[str]) -> None:
        props, resource = self._props, self._props.resources[key]
        common: dict[str, Any] = dict(provider=props.provider, rest_api_id=props.rest_api.id, resource_id=resource.id)
        headers = preflight_headers(props.origins, methods)
        method = aws.api_gateway_method.ApiGatewayMethod(
            self, f"{key}_options", http_method="OPTIONS", authorization="NONE", **common
        )
        integration = aws.api_gateway_integration.ApiGatewayIntegration(
            self,
            f"{key}_options_integration",
            http_method=method.http_method,
            type="MOCK",
            request_templates={"application/json": json.dumps({"statusCode": int(PREFLIGHT_STATUS)})},
            **common,
        )
        method_response = aws.api_gateway_method_response.ApiGatewayMethodResponse(
            self,
            f"{key}_options_response",
            http_method=method.http_method,
            status_code=PREFLIGHT_STATUS,
            response_parameters={_HEADER + name: True for name in headers},
            **common,
        )
        template = origin_override_template(props.origins)
        integration_response = aws.api_gateway_integration_response.ApiGatewayIntegrationResponse(
            self,
            f"{key}_options_integration_response",
            http_method=method.http_method,
            status_code=method_response.status_code,
            response_parameters={_HEADER + name: value for name, value in headers.items()},
            response_templates={"application/json": template} if template else None,
            depends_on=[integration],
            **common,
        )
        self.integrations += [integration, integration_response]
        settings = {"headers": headers, "template": template, "type": "MOCK"}
        self.fingerprint += [method.id, integration.id, integration_response.id, _digest(settings)]

    def _gateway_responses(self) -> None:
        """API Gateway's own errors (missing token, 401, 403, validation 400s, throttling, 5xx)
        carry the first origin, so a browser on it can read them."""
        props = self._props
        parameters = {
            "gatewayresponse.header.Access-Control-Allow-Origin": f"'{props.origins[0]}'",
            "gatewayresponse.header.Access-Control-Expose-Headers": f"'{','.join(CORS_EXPOSE_HEADERS)}'",
            "gatewayresponse.header.Vary": "'Origin'",
        }
        for response_type in GATEWAY_RESPONSE_TYPES:
            response = aws.api_gateway_gateway_response.ApiGatewayGatewayResponse(
                self,
                response_type.lower(),
                provider=props.provider,
                rest_api_id=props.rest_api.id,
                response_type=response_type,
                response_parameters=parameters,
            )
            self.fingerprint += [response.id, _digest(parameters)]


def _digest(settings: dict) -> str:
    """Settings as a digest: cdktf writes string literals into the trigger unescaped."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()
