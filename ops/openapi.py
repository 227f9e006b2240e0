"""The API's OpenAPI 3.0 document, from the routes (modules/routes.py), the request model
and scopes (modules/api_contract.py) and the handlers' error contract (the codes below,
which tests/ops/test_openapi.py keeps equal to those functions/ can answer).

    python -m ops.openapi --write openapi.json     # make openapi
    python -m ops.openapi --check openapi.json     # exit 1 when the file is stale
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from functions.schema import MAX_BODY_BYTES, PARTITION_KEY
from modules.api_contract import ITEM_MODEL_SCHEMA
from modules.routes import ROUTES, Route

PROJECT_DIR = Path(__file__).resolve().parent.parent
DOCUMENT = PROJECT_DIR / "openapi.json"

# status -> the handlers' error codes (docs/api.md). API Gateway's own answers have
# {"message": ...} instead (missing token, 401, 403, validation, throttling, 5xx).
ERROR_CODES: dict[int, tuple[str, ...]] = {
    400: (
        "MissingBody",
        "InvalidBody",
        "InvalidJson",
        "DuplicateKey",
        "InvalidItemId",
        "ReservedAttribute",
        "InvalidAttribute",
        "InvalidItem",
        "MissingPathParameter",
        "InvalidEvent",
        "BadRequest",
    ),
    404: ("NotFound",),
    413: ("BodyTooLarge", "ItemTooLarge"),
    415: ("UnsupportedMediaType",),
    500: ("InternalError",),
    503: ("Throttled", "StoreUnavailable", "StoreUnreachable", "ServiceUnavailable"),
}
SUCCESS = {
    "create_item": {
        "200": "replaced by a different item",
        "201": "created, or the same item sent again (a retry); Location names it",
    },
    "get_item": {"200": "the item and the region that served it"},
    "delete_item": {"204": "deleted, or already absent (DELETE is idempotent)"},
    "health": {"200": "this region's table answers"},
}
ROUTE_ERRORS = {
    "create_item": (400, 413, 415, 500, 503),
    "get_item": (400, 404, 500, 503),
    "delete_item": (400, 500, 503),
    "health": (500, 503),
}


def _schemas() -> dict:
    item = {
        "type": "object",
        "required": [PARTITION_KEY, "origin_region", "updated_at"],
        "additionalProperties": True,
        "properties": {
            PARTITION_KEY: {"type": "string"},
            "origin_region": {"type": "string"},
            "updated_at": {"type": "string"},
        },
    }
    request = {key: value for key, value in ITEM_MODEL_SCHEMA.items() if key not in ("$schema", "title")}
    error = {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {
                        "type": "string",
                        "enum": sorted({code for codes in ERROR_CODES.values() for code in codes}),
                    },
                    "message": {"type": "string"},
                    "request_id": {"type": "string"},
                },
            }
        },
    }
    gateway = {
        "type": "object",
        "required": ["message"],
        "properties": {"message": {"type": "string", "nullable": True}},
    }
    health = {
        "type": "object",
        "required": ["status", "forced"],
        "properties": {
            "status": {"type": "string", "enum": ["ok", "unhealthy"]},
            "region": {"type": "string", "nullable": True},
            "forced": {"type": "boolean"},
            "latency_ms": {"type": "number"},
            "reason": {"type": "string"},
        },
    }
    return {
        "Item": item,
        "ItemRequest": request,
        "Error": error,
        "GatewayError": gateway,
        "Health": health,
        "AnyError": {"oneOf": [{"$ref": "#/components/schemas/Error"}, {"$ref": "#/components/schemas/GatewayError"}]},
    }


def _json(schema: str) -> dict:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}


def _responses(route: Route) -> dict:
    body = "Health" if route.id == "health" else "Item"
    responses = {
        status: {"description": text, **({"content": _json(body)} if status != "204" else {})}
        for status, text in SUCCESS[route.id].items()
    }
    for status in ROUTE_ERRORS[route.id]:
        codes = ", ".join(ERROR_CODES[status])
        schema = "Health" if route.id == "health" and status == 503 else "AnyError"
        responses[str(status)] = {"description": f"{codes} (or API Gateway's own answer)", "content": _json(schema)}
    gateway = {
        "403": "API Gateway: missing route (Missing Authentication Token) or the token's scopes do not allow it",
        "429": "API Gateway or WAF: too many requests",
        "502": "API Gateway: the function failed",
        "414": "API Gateway: the request line is too long",
        "431": "API Gateway: the request line and headers are too large",
        "504": "API Gateway: the function did not answer in time",
    }
    if route.scope is not None:
        gateway["401"] = "API Gateway: no bearer token, or the token is expired, wrongly signed or for another audience"
    for code, text in gateway.items():
        responses.setdefault(code, {"description": text, "content": _json("AnyError")})
    return dict(sorted(responses.items()))


def _operation(route: Route) -> dict:
    operation: dict = {
        "operationId": route.id,
        "summary": f"{route.method} {route.path}",
        "responses": _responses(route),
    }
    if "{item_id}" in route.path:
        operation["parameters"] = [
            {
                "name": PARTITION_KEY,
                "in": "path",
                "required": True,
                "schema": {"type": "string", "minLength": 1, "maxLength": 1024},
            }
        ]
    if route.method == "POST":
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ItemRequest"}}},
            "description": f"at most {MAX_BODY_BYTES} bytes",
        }
    operation["security"] = [{"bearer": [route.scope]}] if route.scope else []
    return operation


def document() -> dict:
    paths: dict = {}
    for route in ROUTES:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "items API",
            "version": "1",
            "description": "Served by every region; Route53 picks one. Item routes need a bearer token "
            "(JWT, RS256 or ES256) from the configured issuer with the route's scope.",
        },
        "servers": [{"url": "https://api.example.com"}, {"url": "http://127.0.0.1:8080/v1"}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "scopes: items:read (GET), items:write (POST, DELETE)",
                }
            },
        },
    }


def rendered() -> str:
    return json.dumps(document(), indent=2, sort_keys=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The API's OpenAPI document.")
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", type=Path, metavar="FILE")
    action.add_argument("--check", type=Path, metavar="FILE")
    args = parser.parse_args(argv)
    if args.write:
        args.write.write_text(rendered())
        return 0
    if not args.check.exists() or args.check.read_text() != rendered():
        print(f"{args.check} is stale: run `make openapi`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
