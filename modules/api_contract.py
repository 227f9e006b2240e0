"""What the API promises beyond its routes, declared once for the constructs (the request
model, the authorizer's route scopes, CORS headers) and the OpenAPI document
(ops/openapi.py). No cdktf imports."""

from __future__ import annotations

import re

from functions.schema import PARTITION_KEY
from modules.routes import ROUTES, Route

# Server-set attributes a client may not send (functions/_store.py SERVER_ATTRIBUTES).
RESERVED_ATTRIBUTES = ("origin_region", "served_by", "updated_at")
MAX_ITEM_ID_CHARACTERS = 1024  # the handler counts UTF-8 bytes; characters are never more

# POST /items bodies, as API Gateway validates them: JSON schema draft 4 (the only draft
# API Gateway models support). A first cut before the function runs: the handler still
# checks everything DynamoDB needs (sizes in bytes, numbers, Unicode rules).
ITEM_MODEL_NAME = "Item"
ITEM_MODEL_SCHEMA: dict = {
    "$schema": "http://json-schema.org/draft-04/schema#",
    "title": ITEM_MODEL_NAME,
    "description": "An item: any JSON object; item_id optional (a UUID is made), server-set attributes refused.",
    "type": "object",
    "properties": {PARTITION_KEY: {"type": "string", "minLength": 1, "maxLength": MAX_ITEM_ID_CHARACTERS}},
    "not": {"anyOf": [{"required": [name]} for name in RESERVED_ATTRIBUTES]},
}
JSON_MEDIA_TYPE = "application/json"

# CORS: what a browser may send and read (README, "CORS").
CORS_ALLOW_HEADERS = ("Authorization", "Content-Type")
CORS_EXPOSE_HEADERS = ("Location", "Retry-After", "x-amzn-RequestId")
CORS_MAX_AGE_SECONDS = 600


def arn_path(path: str) -> str:
    """A path as it appears in execute-api ARNs: every path parameter ``*`` (API Gateway
    invokes with the actual path, matched with ArnLike; AWS CDK's ``pathForArn``)."""
    return re.sub(r"\{[^/{}]+\}", "*", path)


def route_scopes(routes: tuple[Route, ...] = ROUTES) -> dict[str, list[str]]:
    """scope -> the ``<METHOD>/<path>`` patterns it grants (the authorizer's ROUTE_SCOPES)."""
    granted: dict[str, list[str]] = {}
    for route in routes:
        if route.scope is not None:
            granted.setdefault(route.scope, []).append(f"{route.method}{arn_path(route.path)}")
    return {scope: sorted(patterns) for scope, patterns in sorted(granted.items())}


def resource_methods(routes: tuple[Route, ...] = ROUTES) -> dict[str, list[str]]:
    """resource key -> its methods, OPTIONS first (a preflight's Access-Control-Allow-Methods)."""
    methods: dict[str, list[str]] = {}
    for route in routes:
        methods.setdefault(route.resource, ["OPTIONS"]).append(route.method)
    return methods
