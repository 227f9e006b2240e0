"""The API's routes: which function serves which method and path, and the only table
actions its role gets. Shared by the regional API construct and the local API server, so
the emulated API cannot drift from the deployed one. No cdktf imports here."""

from __future__ import annotations

from dataclasses import dataclass

from functions.schema import HEALTH_SENTINEL_ID

# API Gateway resources: key -> (parent key, path part). "" is the root.
RESOURCES: dict[str, tuple[str, str]] = {
    "items": ("", "items"),
    "item": ("items", "{item_id}"),
    "health": ("", "health"),
}


def resource_path(key: str) -> str:
    """``item`` -> ``/items/{item_id}``."""
    parts = []
    while key:
        key, part = RESOURCES[key]
        parts.append(part)
    return "/" + "/".join(reversed(parts))


_READ_KEY = ("kms:Decrypt", "kms:DescribeKey")
_WRITE_KEY = _READ_KEY + ("kms:Encrypt", "kms:GenerateDataKey")


@dataclass(frozen=True)
class Route:
    """A function and the API route it serves. ``actions``: the only DynamoDB actions its
    role gets, on its region's table. ``key_actions``: what it may do with a
    customer-managed table key, through DynamoDB only. ``leading_keys`` (default: any): the
    only partition keys those actions may name (``dynamodb:LeadingKeys``)."""

    id: str
    handler: str
    method: str
    resource: str
    actions: tuple[str, ...]
    key_actions: tuple[str, ...] = ()
    # The OAuth scope a token needs for this route (README, "Authentication"); None: open.
    scope: str | None = None
    leading_keys: tuple[str, ...] = ()

    @property
    def path(self) -> str:
        return resource_path(self.resource)


READ_SCOPE, WRITE_SCOPE = "items:read", "items:write"

ROUTES: tuple[Route, ...] = (
    # GetItem: after a put whose answer was lost, one consistent read tells whether it was
    # applied (functions/_store.py), so a stored write is never answered 503.
    Route(
        "create_item",
        "functions.items.create_item",
        "POST",
        "items",
        ("dynamodb:PutItem", "dynamodb:GetItem"),
        _WRITE_KEY,
        WRITE_SCOPE,
    ),
    Route("get_item", "functions.items.get_item", "GET", "item", ("dynamodb:GetItem",), _READ_KEY, READ_SCOPE),
    Route(
        "delete_item",
        "functions.items.delete_item",
        "DELETE",
        "item",
        ("dynamodb:DeleteItem",),
        _WRITE_KEY,
        WRITE_SCOPE,
    ),
    # A consistent read of the sentinel and nothing else: the read path a GET takes, so the
    # key to decrypt it too (through DynamoDB). Open: Route53 cannot sign.
    Route(
        "health",
        "functions.health.check",
        "GET",
        "health",
        ("dynamodb:GetItem",),
        _READ_KEY,
        leading_keys=(HEALTH_SENTINEL_ID,),
    ),
)
