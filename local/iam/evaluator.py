"""Allow or deny one request for one principal, as AWS does within one account when only
identity policies and a permissions boundary apply (no SCPs, resource or session policies):

1. an explicit Deny in any identity policy or in the boundary denies;
2. otherwise, no identity-policy Allow: implicit deny;
3. otherwise, a boundary that does not also allow: implicit deny;
4. otherwise allow.

A statement whose Condition names a key or operator that conditions.py does not evaluate fails
closed: an Allow does not apply, a Deny does (if the rest of it matches), and a warning names
the key.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from local.iam.conditions import Context, conditions_hold, normalize
from local.iam.model import Decision, Policy, Principal, Request, Verdict
from local.iam_policy import ARN_COMPONENTS

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

log = logging.getLogger(__name__)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _wildcards(pattern: str, any_run: str, one: str) -> str:
    return "".join(one if char == "?" else any_run if char == "*" else re.escape(char) for char in pattern)


def _arn_regex(pattern: str) -> str:
    """A Resource ARN pattern (reference_policies_elements_resource.html): ``*`` and ``?`` match
    within a colon-separated segment, but "if the * wildcard is the last character of a resource
    ARN segment, it can expand to match beyond the colon boundaries". The resource part (sixth
    segment on) may hold colons itself, and its wildcards match them."""
    if pattern == "*":
        return ".*"
    parts = pattern.split(":", ARN_COMPONENTS - 1)
    head = [
        _wildcards(part[:-1], "[^:]*", "[^:]") + ".*" if part.endswith("*") else _wildcards(part, "[^:]*", "[^:]")
        for part in parts[: ARN_COMPONENTS - 1]
    ]
    tail = [_wildcards(part, ".*", ".") for part in parts[ARN_COMPONENTS - 1 :]]
    return ":".join(head + tail)


@lru_cache(maxsize=4096)
def _element_regex(patterns: tuple[str, ...], name: str) -> re.Pattern[str]:
    """One compiled alternation per element: action names are case-insensitive, ARNs are not."""
    if name == "Action":
        alternatives = [_wildcards(pattern, ".*", ".") for pattern in patterns]
        return re.compile("|".join(alternatives) or "(?!)", re.IGNORECASE | re.DOTALL)
    return re.compile("|".join(_arn_regex(pattern) for pattern in patterns) or "(?!)", re.DOTALL)


def _element_matches(statement: Mapping[str, Any], name: str, value: str) -> bool:
    """``Action``/``Resource``: any listed pattern matches; ``NotAction``/``NotResource``: none.
    A request for ``*`` (an action on no resource) matches only the pattern ``*``."""
    negated = f"Not{name}" in statement
    patterns = tuple(_as_list(statement[f"Not{name}"] if negated else statement.get(name, [])))
    if name == "Resource" and value == "*":
        matched = "*" in patterns
    else:
        matched = _element_regex(patterns, name).fullmatch(value) is not None
    return matched != negated


def _label(policy: Policy, statement: Mapping[str, Any], index: int) -> str:
    return f"{policy.name} {statement.get('Sid') or f'statement {index}'}"


def _applies(statement: Mapping[str, Any], label: str, request: Request, context: Context) -> bool:
    if not (
        _element_matches(statement, "Action", request.action)
        and _element_matches(statement, "Resource", request.resource)
    ):
        return False
    holds, unevaluable = conditions_hold(statement.get("Condition") or {}, context)
    if not unevaluable:
        return holds
    deny = statement.get("Effect") == "Deny"
    log.warning(
        "IAM: %s fails closed (%s) for %s on %s: condition key or operator not evaluated: %s",
        label,
        "applies" if deny else "does not allow",
        request.action,
        request.resource,
        ", ".join(unevaluable),
    )
    return holds and deny


def _matching(policies: Iterable[Policy], effect: str, request: Request, context: Context) -> list[str]:
    """The labels of the statements with this effect that apply to the request."""
    found = []
    for policy in policies:
        for index, statement in enumerate(_as_list(policy.document.get("Statement", []))):
            if statement.get("Effect") != effect:
                continue
            label = _label(policy, statement, index)
            if _applies(statement, label, request, context):
                found.append(label)
    return found


def request_context(principal: Principal, request: Request) -> Context:
    """The request's keys plus those the principal itself gives (aws:PrincipalArn), unless set."""
    context = normalize(request.context)
    context.setdefault("aws:principalarn", (principal.arn,))
    return context


def evaluate(principal: Principal, request: Request) -> Decision:
    """The decision, with the statements (policy name and Sid) that made it."""
    context = request_context(principal, request)
    boundary = (principal.boundary,) if principal.boundary else ()
    denies = _matching((*principal.identity_policies, *boundary), "Deny", request, context)
    if denies:
        return Decision(Verdict.EXPLICIT_DENY, f"denied explicitly by {', '.join(denies)}")
    allows = _matching(principal.identity_policies, "Allow", request, context)
    if not allows:
        return Decision(Verdict.IMPLICIT_DENY, f"no identity policy of {principal.arn} allows {request.action}")
    if principal.boundary and not _matching(boundary, "Allow", request, context):
        return Decision(
            Verdict.IMPLICIT_DENY, f"the permissions boundary {principal.boundary.name} does not allow {request.action}"
        )
    return Decision(Verdict.ALLOW, f"allowed by {', '.join(allows)}")
