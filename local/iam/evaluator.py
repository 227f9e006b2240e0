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
from collections.abc import Iterable, Mapping
from typing import Any

from local.iam.conditions import Context, conditions_hold, normalize
from local.iam.model import Decision, Policy, Principal, Request, Verdict
from local.iam_policy import arn_like, string_like

log = logging.getLogger(__name__)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _action_like(pattern: str, action: str) -> bool:
    # Action names are case-insensitive; * and ? are wildcards.
    return string_like(pattern.lower(), action.lower())


def _resource_like(pattern: str, resource: str) -> bool:
    return pattern == "*" or (resource != "*" and arn_like(pattern, resource))


def _element_matches(statement: Mapping[str, Any], name: str, value: str, match: Any) -> bool:
    """``Action``/``Resource``: any listed pattern matches; ``NotAction``/``NotResource``: none."""
    if f"Not{name}" in statement:
        return not any(match(pattern, value) for pattern in _as_list(statement[f"Not{name}"]))
    return any(match(pattern, value) for pattern in _as_list(statement.get(name, [])))


def _label(policy: Policy, statement: Mapping[str, Any], index: int) -> str:
    return f"{policy.name} {statement.get('Sid') or f'statement {index}'}"


def _applies(statement: Mapping[str, Any], label: str, request: Request, context: Context) -> bool:
    if not (
        _element_matches(statement, "Action", request.action, _action_like)
        and _element_matches(statement, "Resource", request.resource, _resource_like)
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
            label = _label(policy, statement, index)
            if statement.get("Effect") == effect and _applies(statement, label, request, context):
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
