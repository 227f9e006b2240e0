"""Does a resource-based policy (a Lambda function's, from GetPolicy) allow a service
principal to perform an action on a resource, given the request's condition keys?

Why our own code: no maintained Python library evaluates IAM conditions. moto's
``IAMPolicyStatement`` evaluates only ``StringEquals`` and *ignores* every other operator
(an ``ArnLike`` condition would always pass), and turns ``*`` into a regular expression
without escaping the rest; policyuniverse parses statements but does not evaluate
conditions against a request; principalmapper's simulator has had no release since 2022;
@cloud-copilot/iam-simulate (Node) is maintained but AGPL-licensed. So this module
implements only what a Lambda resource policy for API Gateway needs, exactly as the IAM
User Guide defines it (each rule is quoted in tests/local/test_iam_policy.py):

- "explicit deny overrides any allow"; nothing allows by default (implicit deny);
- ``Action``/``NotAction``: action names are case-insensitive, ``*`` and ``?`` wildcards;
- ``Resource``/``NotResource``: ARN matching, ``*`` and ``?`` within each ARN component;
- ``Principal``: ``"*"``, ``{"AWS": "*"}`` or ``{"Service": <name or list>}``;
- ``Condition``: operators AND, keys AND, values OR; condition key *names* are
  case-insensitive; a key absent from the request makes a condition false, except for
  negated operators (true), ``...IfExists`` (true) and ``Null``;
- operators: ``StringEquals``, ``StringNotEquals``, ``StringEqualsIgnoreCase``,
  ``StringNotEqualsIgnoreCase``, ``StringLike``, ``StringNotLike``, ``ArnEquals``,
  ``ArnLike``, ``ArnNotEquals``, ``ArnNotLike``, their ``IfExists`` forms, and ``Null``.
  Any other operator (or a ``ForAllValues:``/``ForAnyValue:`` set operator) is not
  evaluated: the statement is treated as not matching when it allows and as matching when
  it denies, so what we cannot evaluate never grants access.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

ARN_COMPONENTS = 6  # arn:partition:service:region:account-id:resource (the resource may hold ':')


@dataclass(frozen=True)
class Request:
    """What the service asks for: ``principal_service`` (e.g. apigateway.amazonaws.com, or
    None for an identity-based policy), ``action``, ``resource`` (an ARN) and the request's
    condition keys."""

    principal_service: str | None
    action: str
    resource: str
    context: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str


@lru_cache(maxsize=1024)
def _wildcard(pattern: str, ignore_case: bool = False) -> re.Pattern:
    """``*`` matches any run of characters (also none), ``?`` exactly one; the rest literally."""
    parts = ("." if char == "?" else ".*" if char == "*" else re.escape(char) for char in pattern)
    return re.compile("".join(parts), re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def string_like(pattern: str, value: str) -> bool:
    """StringLike: case-sensitive; ``*`` and ``?`` "anywhere in the string"."""
    return _wildcard(pattern).fullmatch(value) is not None


def arn_like(pattern: str, value: str) -> bool:
    """ArnLike/ArnEquals: "Each of the six colon-delimited components of the ARN is checked
    separately and each can include multi-character match wildcards (*) or single-character
    match wildcards (?)". Case-sensitive. The sixth component, the resource, may itself
    contain colons, so both sides are split into at most six parts."""
    pattern_parts = pattern.split(":", ARN_COMPONENTS - 1)
    value_parts = value.split(":", ARN_COMPONENTS - 1)
    if len(pattern_parts) != ARN_COMPONENTS or len(value_parts) != ARN_COMPONENTS:
        return False
    return all(string_like(part, actual) for part, actual in zip(pattern_parts, value_parts, strict=True))


# operator -> (test one policy value against the request's value, negated); local/iam/conditions.py
# extends it with the operators identity policies use.
STRING_AND_ARN_OPERATORS: dict[str, tuple[Callable[[str, str], bool], bool]] = {
    "StringEquals": (lambda expected, actual: expected == actual, False),
    "StringNotEquals": (lambda expected, actual: expected == actual, True),
    "StringEqualsIgnoreCase": (lambda expected, actual: expected.casefold() == actual.casefold(), False),
    "StringNotEqualsIgnoreCase": (lambda expected, actual: expected.casefold() == actual.casefold(), True),
    "StringLike": (string_like, False),
    "StringNotLike": (string_like, True),
    "ArnEquals": (arn_like, False),
    "ArnLike": (arn_like, False),
    "ArnNotEquals": (arn_like, True),
    "ArnNotLike": (arn_like, True),
}


class UnsupportedCondition(ValueError):
    """A condition operator this module does not evaluate."""


def _as_list(value: object) -> list:
    return value if isinstance(value, list) else [value]


def condition_holds(operator: str, key: str, expected: object, context: dict[str, str]) -> bool:
    """One operator/key pair of a Condition block against the request's keys."""
    lowered = {name.lower(): value for name, value in context.items()}
    actual = lowered.get(key.lower())
    if operator == "Null":
        # "true" (the key doesn't exist), "false" (the key exists and is not null).
        return any(str(value).lower() == ("true" if actual is None else "false") for value in _as_list(expected))
    if_exists = operator.endswith("IfExists")
    base = operator[: -len("IfExists")] if if_exists else operator
    if base not in STRING_AND_ARN_OPERATORS:
        raise UnsupportedCondition(operator)
    test, negated = STRING_AND_ARN_OPERATORS[base]
    if actual is None:
        return if_exists or negated
    matched = any(test(str(value), actual) for value in _as_list(expected))
    return not matched if negated else matched


def conditions_hold(condition: dict, context: dict[str, str]) -> bool:
    """Every operator and every key must hold (AND); values of one key are ORed."""
    return all(
        condition_holds(operator, key, expected, context)
        for operator, pairs in condition.items()
        for key, expected in pairs.items()
    )


def _principal_matches(statement: dict, service: str | None) -> bool:
    """``service`` None: an identity-based policy (e.g. a Lambda authorizer's), which names
    no principal; a statement that does name one cannot be part of it."""
    if service is None:
        return "Principal" not in statement and "NotPrincipal" not in statement
    if "NotPrincipal" in statement:
        return not _principal_in(statement["NotPrincipal"], service)
    return _principal_in(statement.get("Principal"), service)


def _principal_in(principal: object, service: str) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    if "*" in _as_list(principal.get("AWS", [])):
        return True
    return service in _as_list(principal.get("Service", []))


def _element_matches(statement: dict, name: str, value: str, match: Callable[[str, str], bool]) -> bool:
    """``Action``/``Resource`` (any listed pattern matches) or their ``Not`` forms."""
    if f"Not{name}" in statement:
        return not any(match(pattern, value) for pattern in _as_list(statement[f"Not{name}"]))
    return any(match(pattern, value) for pattern in _as_list(statement.get(name, [])))


def _action_like(pattern: str, action: str) -> bool:
    return _wildcard(pattern, ignore_case=True).fullmatch(action) is not None


def _resource_like(pattern: str, resource: str) -> bool:
    return pattern == "*" or arn_like(pattern, resource)


def statement_applies(statement: dict, request: Request) -> bool:
    """Principal, action, resource and conditions all match. A condition we cannot
    evaluate makes an Allow not apply and a Deny apply (see the module doc)."""
    if not (
        _principal_matches(statement, request.principal_service)
        and _element_matches(statement, "Action", request.action, _action_like)
        and _element_matches(statement, "Resource", request.resource, _resource_like)
    ):
        return False
    try:
        return conditions_hold(statement.get("Condition") or {}, request.context)
    except UnsupportedCondition:
        return statement.get("Effect") == "Deny"


def evaluate(policy: dict | None, request: Request) -> Decision:
    """Explicit deny wins; otherwise an applicable Allow allows; otherwise implicit deny."""
    statements = _as_list((policy or {}).get("Statement", []))
    allows, denies = [], []
    for index, statement in enumerate(statements):
        if statement_applies(statement, request):
            label = statement.get("Sid") or f"statement {index}"
            if statement.get("Effect") == "Deny":
                denies.append(label)
            elif statement.get("Effect") == "Allow":
                allows.append(label)
    if denies:
        return Decision(False, f"denied explicitly by {', '.join(denies)}")
    if allows:
        return Decision(True, f"allowed by {', '.join(allows)}")
    return Decision(False, f"no statement allows {request.principal_service} to {request.action} for this source")
