"""From one API call, as the emulator received it, to the authorization requests AWS makes of
it: the IAM action (service prefix and operation name), each resource ARN the Service
Authorization Reference lists for that action (local/iam/resources.py), filled from the call's
parameters and the emulator's state, and the condition keys the call carries.

A resource the reference marks required whose ARN cannot be built (a parameter or a piece of
state missing) raises ``Unmappable``, naming the action and the missing variable: the caller
refuses the call rather than evaluate it against a guessed resource.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from local.iam.model import ContextValue, Request
from local.iam.resources import PLACEHOLDER, ResourceType, UnknownAction, resource_types

# The signing name in a request's credential scope, where the IAM prefix differs from it.
IAM_PREFIX = {"monitoring": "cloudwatch", "email": "ses", "states": "states"}

# Calls that pass a role to a service: (prefix, operation) -> (parameter, service principal).
PASSED_ROLES = {
    ("lambda", "CreateFunction"): ("Role", "lambda.amazonaws.com"),
    ("lambda", "UpdateFunctionConfiguration"): ("Role", "lambda.amazonaws.com"),
    ("apigateway", "UpdateAccount"): ("cloudwatchRoleArn", "apigateway.amazonaws.com"),
}


class Unmappable(LookupError):
    """The call's resource cannot be named; the message says which action and variable."""


class State(Protocol):
    """What the mapper reads from the emulator's deployed state (local/iam/moto_state.py)."""

    def kms_key_id(self, region: str, key: str) -> str | None: ...
    def kms_aliases(self, region: str, key_id: str) -> list[str]: ...
    def resource_tags(self, arn: str) -> dict[str, str]: ...
    def role_name_with_path(self, name: str) -> str | None: ...
    def role_boundary(self, name: str) -> str | None: ...
    def table_hash_key(self, region: str, table: str) -> str | None: ...


@dataclass(frozen=True)
class Call:
    """One API call: the signing service, operation name and parameters (botocore shapes)."""

    service: str
    operation: str
    params: Mapping[str, Any]
    region: str
    account: str
    partition: str = "aws"
    path: str = ""  # the request path: API Gateway's resources are paths
    extra_context: Mapping[str, ContextValue] = field(default_factory=dict)

    @property
    def action(self) -> str:
        if self.service == "apigateway":  # API Gateway's management actions are HTTP methods
            return f"apigateway:{self.operation}"
        return f"{IAM_PREFIX.get(self.service, self.service)}:{self.operation}"


def _last(arn: str, marker: str) -> str:
    return arn.split(marker, 1)[1] if marker in arn else arn


def _key_id(call: Call, state: State) -> str | None:
    """The key a call names, or the one the alias it names points to (DeleteAlias needs both)."""
    key = call.params.get("KeyId") or call.params.get("TargetKeyId") or call.params.get("AliasName")
    return state.kms_key_id(call.region, key) if isinstance(key, str) else None


def _alias(call: Call, state: State) -> str | None:
    alias = call.params.get("AliasName")
    return _last(alias, "alias/") if isinstance(alias, str) else None


def _table(call: Call, state: State) -> str | None:
    table = call.params.get("TableName") or call.params.get("ResourceArn")
    return _last(table, ":table/").split("/")[0] if isinstance(table, str) else None


def _role(call: Call, state: State) -> str | None:
    role_arn = call.params.get("RoleArn")
    if isinstance(role_arn, str):
        return _last(role_arn, ":role/")
    name = call.params.get("RoleName")
    if not isinstance(name, str):
        return None
    path = str(call.params.get("Path") or "/")
    return state.role_name_with_path(name) or f"{path.lstrip('/')}{name}"


def _policy(call: Call, state: State) -> str | None:
    policy_arn = call.params.get("PolicyArn")
    if isinstance(policy_arn, str):
        return _last(policy_arn, ":policy/")
    name = call.params.get("PolicyName")
    return f"{str(call.params.get('Path') or '/').lstrip('/')}{name}" if isinstance(name, str) else None


def _route53_id(call: Call, state: State) -> str | None:
    params = call.params
    found = params.get("HostedZoneId") or params.get("HealthCheckId") or params.get("Id") or params.get("ResourceId")
    return found.rsplit("/", 1)[-1] if isinstance(found, str) else None


def _topic(call: Call, state: State) -> str | None:
    found = call.params.get("Name") or call.params.get("TopicArn")
    return found.rsplit(":", 1)[-1] if isinstance(found, str) else None


def _alarm(call: Call, state: State) -> str | None:
    """The alarm a call names; DescribeAlarms names a list: one alarm, or ``*`` for several or none."""
    names = call.params.get("AlarmNames") or [v for k, v in call.params.items() if k.startswith("AlarmNames.member.")]
    found = call.params.get("AlarmName") or (names[0] if isinstance(names, list) and len(names) == 1 else "*")
    return found if isinstance(found, str) else None


def _certificate(call: Call, state: State) -> str | None:
    arn = call.params.get("CertificateArn")
    return _last(arn, ":certificate/") if isinstance(arn, str) else None


def _function(call: Call, state: State) -> str | None:
    name = call.params.get("FunctionName")
    return _last(name, ":function:").split(":")[0] if isinstance(name, str) else None


# (prefix, placeholder) -> how to fill it; any other placeholder is the parameter of its name
# (or its lowerCamel spelling, as CloudWatch Logs names its parameters).
_FILLERS: dict[tuple[str, str], Callable[[Call, State], str | None]] = {
    ("route53", "Id"): _route53_id,
    ("sns", "TopicName"): _topic,
    ("cloudwatch", "AlarmName"): _alarm,
    ("acm", "CertificateId"): _certificate,
    ("lambda", "FunctionName"): _function,
    ("kms", "KeyId"): _key_id,
    ("kms", "Alias"): _alias,
    ("dynamodb", "TableName"): _table,
    ("iam", "RoleNameWithPath"): _role,
    ("iam", "PolicyNameWithPath"): _policy,
}


def _fill(template: str, call: Call, state: State) -> str:
    prefix = call.action.split(":")[0]
    values = {"Partition": call.partition, "Region": call.region, "Account": call.account}

    def value(name: str) -> str:
        if name in values:
            return values[name]
        filler = _FILLERS.get((prefix, name)) or _FILLERS.get(("iam", name))
        found = filler(call, state) if filler else call.params.get(name, call.params.get(name[:1].lower() + name[1:]))
        if not isinstance(found, str) or not found:
            raise Unmappable(f"{call.action}: no value for ${{{name}}} in {template}")
        return found

    return PLACEHOLDER.sub(lambda match: value(match.group(1)), template)


def resource_arns(call: Call, state: State) -> list[str]:
    """Every resource the action is authorized against; ``["*"]`` for an action on none.
    API Gateway's management calls are authorized against the path they call."""
    if call.service == "apigateway":
        return [f"arn:{call.partition}:apigateway:{call.region}::{call.path}"]
    try:
        types = resource_types(call.action)
    except UnknownAction as error:
        raise Unmappable(f"{call.action}: not in the Service Authorization Reference") from error
    named = _named_by_arn(call, types)
    if named:
        return named
    arns = []
    for resource_type in _named_type(call, types):
        try:
            arns.append(_fill_any(resource_type.arn_template, call, state))
        except Unmappable:
            if resource_type.required:
                raise
    return arns or ["*"]


def _named_type(call: Call, types: tuple[ResourceType, ...]) -> tuple[ResourceType, ...]:
    """Route53's tag calls say which type their resource is (``ResourceType``: hostedzone or
    healthcheck, with ``ResourceId``): only that type is authorized, as AWS does."""
    named = call.params.get("ResourceType") if call.service == "route53" else None
    return tuple(t for t in types if t.name == named) if isinstance(named, str) else types


# Parameters that name a call's resource by its whole ARN (tag calls and the like).
ARN_PARAMETERS = ("ResourceArn", "resourceArn", "ResourceARN", "Resource", "ResourceName", "TopicArn")


def _template_pattern(template: str) -> re.Pattern[str]:
    parts = PLACEHOLDER.split(template)  # literal, name, literal, name, ...
    return re.compile("".join(re.escape(part) if index % 2 == 0 else ".+" for index, part in enumerate(parts)) + r"\Z")


def _named_by_arn(call: Call, types: tuple[ResourceType, ...]) -> list[str]:
    """A call that names its resource by ARN is authorized against that ARN, when it is of one
    of the action's types (the most specific template that matches, as a stream's ARN also
    matches its table's)."""
    arn = next((call.params[p] for p in ARN_PARAMETERS if str(call.params.get(p, "")).startswith("arn:")), None)
    if arn is None:
        return []
    templates = [template for t in types for template in t.arn_template.split(", ")]
    matching = [template for template in templates if _template_pattern(template).match(arn)]
    return [arn] if matching else []


def _fill_any(templates: str, call: Call, state: State) -> str:
    """The first of a type's ARN formats (some list several, comma-separated) that fills."""
    *alternatives, last = templates.split(", ")
    for template in alternatives:
        try:
            return _fill(template, call, state)
        except Unmappable:
            continue
    return _fill(last, call, state)


def _tags(params: Mapping[str, Any]) -> dict[str, str]:
    """The tags a call sets: ``Tags`` as a list of Key/Value (or TagKey/TagValue) or a map."""
    tags = params.get("Tags") or params.get("tags")
    if isinstance(tags, Mapping):
        return {str(key): str(value) for key, value in tags.items()}
    found = {}
    for tag in tags if isinstance(tags, list) else []:
        key, value = tag.get("Key", tag.get("TagKey")), tag.get("Value", tag.get("TagValue"))
        if key is not None:
            found[str(key)] = str(value)
    return found


def _kms_context(call: Call, state: State) -> dict[str, ContextValue]:
    key = call.params.get("KeyId") or call.params.get("TargetKeyId")
    context: dict[str, ContextValue] = {}
    if isinstance(key, str) and "alias/" in key:
        context["kms:RequestAlias"] = "alias/" + _last(key, "alias/")
    key_id = _key_id(call, state)
    if key_id:
        context["kms:ResourceAliases"] = state.kms_aliases(call.region, key_id)
    return context


def _leading_keys(call: Call, state: State) -> dict[str, ContextValue]:
    """``dynamodb:LeadingKeys``: the partition key value of the item the call names."""
    table = _table(call, state)
    hash_key = state.table_hash_key(call.region, table) if table else None
    item = call.params.get("Key") or call.params.get("Item")
    attribute = item.get(hash_key) if hash_key and isinstance(item, Mapping) else None
    if not isinstance(attribute, Mapping):
        return {}
    return {"dynamodb:LeadingKeys": [str(value) for value in attribute.values()]}


def _call_context(call: Call, state: State) -> dict[str, ContextValue]:
    """The keys the call itself carries, whatever resource they are evaluated against."""
    context: dict[str, ContextValue] = dict(call.extra_context)
    tags = _tags(call.params)
    if tags:
        context["aws:TagKeys"] = list(tags)
        context.update({f"aws:RequestTag/{key}": value for key, value in tags.items()})
    prefix = call.action.split(":")[0]
    if prefix == "kms":
        context.update(_kms_context(call, state))
    elif prefix == "dynamodb":
        context.update(_leading_keys(call, state))
    elif call.action == "acm:RequestCertificate":
        names = [call.params.get("DomainName"), *(call.params.get("SubjectAlternativeNames") or [])]
        context["acm:DomainNames"] = [name for name in names if isinstance(name, str)]
    for key, parameter in (("iam:PermissionsBoundary", "PermissionsBoundary"), ("iam:PolicyARN", "PolicyArn")):
        if isinstance(call.params.get(parameter), str):
            context[key] = call.params[parameter]
    role = call.params.get("RoleName")
    if prefix == "iam" and "iam:PermissionsBoundary" not in context and isinstance(role, str):
        # A call on an existing role (AttachRolePolicy, PutRolePolicy, ...) carries its boundary.
        boundary = state.role_boundary(role)
        if boundary:
            context["iam:PermissionsBoundary"] = boundary
    return context


def requests_for(call: Call, state: State) -> list[Request]:
    """One request per resource, each with the call's keys and that resource's own tags; plus
    ``iam:PassRole`` (with ``iam:PassedToService``) when the call hands a role to a service."""
    context = _call_context(call, state)
    requests = []
    for arn in resource_arns(call, state):
        resource_tags = {f"aws:ResourceTag/{key}": value for key, value in state.resource_tags(arn).items()}
        requests.append(Request(call.action, arn, {**resource_tags, **context}))
    passed = PASSED_ROLES.get(tuple(call.action.split(":", 1)))  # type: ignore[arg-type]
    role_arn = call.params.get(passed[0]) if passed else None
    if passed and isinstance(role_arn, str):
        tags = {f"aws:ResourceTag/{key}": value for key, value in state.resource_tags(role_arn).items()}
        requests.append(Request("iam:PassRole", role_arn, {**tags, "iam:PassedToService": passed[1]}))
    return requests
