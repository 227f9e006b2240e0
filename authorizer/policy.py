"""The IAM policy a TOKEN authorizer returns, for every method the token's scopes allow.

API Gateway caches the returned policy per token (the authorizer's result TTL) and
evaluates the *cached* policy for every later request with that token, whatever its
method and path (AWS re:Post "Why is my API Gateway proxy resource with a Lambda
authorizer that has caching activated returning 403 errors?"; auth0-samples
jwt-rsa-aws-custom-authorizer#8). A policy naming only the ``methodArn`` of the first
request would turn the token's next request to another route into a 403. So the policy
allows every ``<METHOD>/<path>`` the token's scopes grant, on the API and stage of the
request, and nothing else; a token with none of the route scopes gets an explicit deny.
"""

from __future__ import annotations

from typing import Any

INVOKE = "execute-api:Invoke"


def api_stage_arn(method_arn: str) -> str:
    """``arn:aws:execute-api:<region>:<account>:<api-id>/<stage>`` of a method ARN
    (``.../<stage>/<METHOD>/<path>``)."""
    api, stage, rest = (method_arn.split("/", 2) + ["", ""])[:3]
    if not api.startswith("arn:") or not stage or not rest:
        raise ValueError(f"not a method ARN: {method_arn[:200]!r}")
    return f"{api}/{stage}"


def granted_resources(method_arn: str, scopes: set[str], route_scopes: dict[str, list[str]]) -> list[str]:
    """Every route ARN (``<api>/<stage>/<METHOD>/<path>``, path parameters as ``*``) that
    one of ``scopes`` grants, sorted."""
    base = api_stage_arn(method_arn)
    return sorted({f"{base}/{route}" for scope in scopes for route in route_scopes.get(scope, ())})


def policy(
    principal_id: str, method_arn: str, scopes: set[str], route_scopes: dict[str, list[str]], context: dict[str, str]
) -> dict[str, Any]:
    resources = granted_resources(method_arn, scopes, route_scopes)
    if resources:
        statement = {"Effect": "Allow", "Action": INVOKE, "Resource": resources}
    else:
        statement = {"Effect": "Deny", "Action": INVOKE, "Resource": f"{api_stage_arn(method_arn)}/*/*"}
    return {
        "principalId": principal_id,
        "policyDocument": {"Version": "2012-10-17", "Statement": [statement]},
        "context": context,
    }
