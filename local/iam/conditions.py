"""One Condition block against a request's context keys, as the IAM User Guide's condition
operator reference defines it (each rule is quoted in tests/local/iam/test_conditions.py).

Operators AND, keys AND, a key's policy values OR. A key the request does not carry makes a
condition false, except for negated operators and ``...IfExists`` (true), ``Null``, and
``ForAllValues`` (true over an absent or empty key); ``ForAnyValue`` over it is false. A key
or operator outside what this module evaluates raises ``Unevaluable``: the evaluator then
fails the statement closed rather than guessing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from local.iam_policy import STRING_AND_ARN_OPERATORS

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from local.iam.model import ContextValue

# The keys a request reaches the evaluator with, lower-cased (key names are case-insensitive).
EVALUATED_KEYS = frozenset(
    key.lower()
    for key in (
        "aws:TagKeys",
        "aws:SourceAccount",
        "aws:SourceArn",
        "aws:PrincipalArn",
        "aws:PrincipalAccount",
        "aws:SecureTransport",
        "aws:MultiFactorAuthPresent",
        "kms:RequestAlias",
        "kms:ResourceAliases",
        "kms:ViaService",
        "kms:CallerAccount",
        "iam:PermissionsBoundary",
        "iam:PassedToService",
        "iam:PolicyARN",
        "iam:AWSServiceName",
        "dynamodb:LeadingKeys",
        "acm:DomainNames",
        "route53:ChangeResourceRecordSetsNormalizedRecordNames",
        "s3:prefix",
    )
)
EVALUATED_PREFIXES = ("aws:requesttag/", "aws:resourcetag/", "kms:encryptioncontext:")

Context = dict[str, tuple[str, ...]]


class Unevaluable(ValueError):
    """A condition key or operator this module does not evaluate; its argument names it."""


def is_evaluated(key: str) -> bool:
    lowered = key.lower()
    return lowered in EVALUATED_KEYS or lowered.startswith(EVALUATED_PREFIXES)


def _text(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def normalize(context: Mapping[str, ContextValue]) -> Context:
    """Lower-cased key names; every value a tuple of strings (booleans as ``true``/``false``)."""
    normalized: Context = {}
    for key, value in context.items():
        values = [value] if isinstance(value, str | bool | int | float) else list(value)
        normalized[key.lower()] = tuple(_text(item) for item in values)
    return normalized


def _numeric(compare: Callable[[float, float], bool]) -> Callable[[str, str], bool]:
    def match(expected: str, actual: str) -> bool:
        try:
            return compare(float(actual), float(expected))
        except ValueError:
            return False

    return match


# operator -> (does one policy value match one request value, negated)
_OPERATORS: dict[str, tuple[Callable[[str, str], bool], bool]] = {
    **STRING_AND_ARN_OPERATORS,
    "Bool": (lambda expected, actual: expected.lower() == actual.lower(), False),
    "NumericEquals": (_numeric(lambda actual, expected: actual == expected), False),
    "NumericNotEquals": (_numeric(lambda actual, expected: actual == expected), True),
    "NumericLessThan": (_numeric(lambda actual, expected: actual < expected), False),
    "NumericLessThanEquals": (_numeric(lambda actual, expected: actual <= expected), False),
    "NumericGreaterThan": (_numeric(lambda actual, expected: actual > expected), False),
    "NumericGreaterThanEquals": (_numeric(lambda actual, expected: actual >= expected), False),
}
_QUALIFIERS = ("forallvalues", "foranyvalue")


def _split(operator: str) -> tuple[str | None, str, bool]:
    """``ForAllValues:StringLikeIfExists`` -> (``forallvalues``, ``StringLike``, True)."""
    qualifier, _, base = operator.rpartition(":")
    if qualifier and qualifier.lower() not in _QUALIFIERS:
        raise Unevaluable(operator)
    if_exists = base.endswith("IfExists")
    return (qualifier.lower() or None), base.removesuffix("IfExists"), if_exists


def _as_strings(expected: Any) -> list[str]:
    return [_text(value) for value in (expected if isinstance(expected, list) else [expected])]


def _null_holds(expected: Any, actual: tuple[str, ...] | None) -> bool:
    # "true" (the key doesn't exist, or is null), "false" (the key exists and isn't null).
    return any(value.lower() == ("false" if actual else "true") for value in _as_strings(expected))


def condition_holds(
    operator: str, key: str, expected: Any, context: Context, extra_keys: frozenset[str] = frozenset()
) -> bool:
    """One operator/key pair of a Condition block against the normalized request context;
    ``extra_keys`` (lower-cased) are evaluated too (a trust policy's web identity keys)."""
    if not (is_evaluated(key) or key.lower() in extra_keys):
        raise Unevaluable(key)
    qualifier, base, if_exists = _split(operator)
    actual = context.get(key.lower()) or None
    if base == "Null" and qualifier is None and not if_exists:
        return _null_holds(expected, actual)
    if base not in _OPERATORS:
        raise Unevaluable(operator)
    match, negated = _OPERATORS[base]
    policy_values = _as_strings(expected)

    def holds(value: str) -> bool:
        matched = any(match(policy_value, value) for policy_value in policy_values)
        return matched != negated

    if actual is None:
        return if_exists or qualifier == "forallvalues" or (negated and qualifier is None)
    if qualifier == "forallvalues" or (negated and qualifier is None):
        return all(holds(value) for value in actual)
    return any(holds(value) for value in actual)


def conditions_hold(
    condition: Mapping[str, Mapping[str, Any]], context: Context, extra_keys: frozenset[str] = frozenset()
) -> tuple[bool, list[str]]:
    """Whether every evaluable operator/key pair holds, and the names of those that could not
    be evaluated (the caller decides which way they fail)."""
    holds, unevaluable = True, []
    for operator, pairs in condition.items():
        for key, expected in pairs.items():
            try:
                holds = condition_holds(operator, key, expected, context, extra_keys) and holds
            except Unevaluable as error:
                unevaluable.append(str(error))
    return holds, unevaluable
