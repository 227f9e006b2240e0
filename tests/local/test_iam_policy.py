"""Policy evaluation for Lambda resource policies, rule by rule. Each test quotes the IAM
User Guide rule it checks ("IAM JSON policy elements: Condition operators", "...:
Condition", "Policy evaluation logic")."""

from __future__ import annotations

import pytest

from local.iam_policy import Request, arn_like, condition_holds, evaluate, string_like

ACCOUNT = "123456789012"
FUNCTION = f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:items-local-get-item"
SOURCE = f"arn:aws:execute-api:eu-west-1:{ACCOUNT}:abc123/v1/GET/items/42"


def request(source: str = SOURCE, account: str = ACCOUNT, **overrides) -> Request:
    fields = dict(
        principal_service="apigateway.amazonaws.com",
        action="lambda:InvokeFunction",
        resource=FUNCTION,
        context={"aws:SourceArn": source, "aws:SourceAccount": account},
    )
    fields.update(overrides)
    return Request(**fields)


def permission(source_arn: str, effect: str = "Allow", **extra) -> dict:
    """A statement as Lambda's AddPermission stores it."""
    return {
        "Sid": f"{effect}-{source_arn[-12:]}",
        "Effect": effect,
        "Action": "lambda:InvokeFunction",
        "Principal": {"Service": "apigateway.amazonaws.com"},
        "Resource": FUNCTION,
        "Condition": {"ArnLike": {"AWS:SourceArn": source_arn}, **extra},
    }


def policy(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


# "ArnLike: Case-sensitive matching of the ARN. Each of the six colon-delimited components
# of the ARN is checked separately and each can include multi-character match wildcards (*)
# or single-character match wildcards (?)."
@pytest.mark.parametrize(
    "pattern, value, expected",
    [
        (f"arn:aws:execute-api:eu-west-1:{ACCOUNT}:abc123/v1/GET/items/*", SOURCE, True),
        (f"arn:aws:execute-api:eu-west-1:{ACCOUNT}:abc123/v1/GET/items/{{item_id}}", SOURCE, False),  # issue 8's bug
        (f"arn:aws:execute-api:eu-west-1:{ACCOUNT}:abc123/v1/GET/items/??", SOURCE, True),
        (f"arn:aws:execute-api:eu-west-1:{ACCOUNT}:abc123/v1/GET/items/?", SOURCE, False),
        (f"arn:aws:execute-api:*:{ACCOUNT}:abc123/*", SOURCE, True),
        (f"arn:aws:execute-api:eu-west-1:{ACCOUNT}:ABC123/v1/GET/items/*", SOURCE, False),  # case-sensitive
        ("arn:aws:execute-api:eu-west-1::abc123/v1/GET/items/*", SOURCE, False),  # an empty account is not a wildcard
        (f"arn:aws:execute-api:eu-west-1:{ACCOUNT}:abc123/v1/*/items/*", SOURCE, True),
        (f"arn:aws:execute-api:eu-west-1:{ACCOUNT}:abc123/v1/POST/items", SOURCE, False),
    ],
)
def test_arn_like_checks_each_component_with_wildcards(pattern, value, expected):
    assert arn_like(pattern, value) is expected


def test_arn_like_wildcards_do_not_cross_components_unlike_string_like():
    """The guide's own example: "With a StringLike condition, the match succeeds ... With an
    ArnLike condition, which matches elements between colons, the match fails"."""
    pattern = "arn:aws:someservice:*:111122223333:finance/*"
    value = "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt"
    assert string_like(pattern, value) is True
    assert arn_like(pattern, value) is False


def test_arn_like_keeps_colons_inside_the_resource_component():
    assert arn_like("arn:aws:lambda:eu-west-1:1:function:*", "arn:aws:lambda:eu-west-1:1:function:name:alias")
    assert not arn_like("arn:aws:lambda:*", "arn:aws:lambda:eu-west-1:1:function:f")  # not six components


def test_regular_expression_characters_are_literal():
    assert not string_like("a.c", "abc") and string_like("a.c", "a.c")
    assert not string_like("items/[0-9]", "items/1")


# "StringEquals: Exact matching, case sensitive"; "StringLike: Case-sensitive matching. The
# values can include multi-character match wildcards (*) and single-character match
# wildcards (?) anywhere in the string."
def test_string_operators():
    context = {"aws:SourceAccount": ACCOUNT}
    assert condition_holds("StringEquals", "aws:SourceAccount", ACCOUNT, context)
    assert not condition_holds("StringEquals", "aws:SourceAccount", "123456789013", context)
    assert condition_holds("StringLike", "aws:SourceAccount", "1234*", context)
    assert condition_holds("StringLike", "aws:SourceAccount", "12345678901?", context)
    assert not condition_holds("StringLike", "aws:SourceAccount", "2*", context)
    assert condition_holds("StringNotEquals", "aws:SourceAccount", "999999999999", context)
    assert condition_holds("StringEqualsIgnoreCase", "k", "ABC", {"k": "abc"})
    assert not condition_holds("StringEquals", "k", "ABC", {"k": "abc"})


# "Condition key names are not case-sensitive."
def test_condition_key_names_are_case_insensitive():
    assert condition_holds("ArnLike", "AWS:SourceArn", "arn:aws:execute-api:*:*:*", {"aws:sourcearn": SOURCE})


# "If the key that you specify in a policy condition is not present in the request context,
# the values do not match and the condition is false. If the policy condition requires that
# the key is not matched, such as StringNotLike or ArnNotLike, and the right key is not
# present, the condition is true." ... IfExists: "If the key is not present, evaluate the
# condition element as true." Null: "true (the key doesn't exist)".
def test_absent_keys():
    assert not condition_holds("ArnLike", "aws:SourceArn", "*", {})
    assert condition_holds("ArnNotLike", "aws:SourceArn", "arn:*:*:*:*:*", {})
    assert condition_holds("StringEqualsIfExists", "aws:SourceAccount", "1", {})
    assert not condition_holds("StringEqualsIfExists", "aws:SourceAccount", "1", {"aws:SourceAccount": "2"})
    assert condition_holds("Null", "aws:SourceAccount", "true", {})
    assert not condition_holds("Null", "aws:SourceAccount", "true", {"aws:SourceAccount": "1"})


# "If a single condition operator includes multiple values for one context key, those
# values are evaluated using a logical OR. ... multiple condition operators or multiple keys
# attached to a single condition operator, the conditions are evaluated using a logical AND."
def test_values_are_ored_and_keys_and_operators_are_anded():
    other = f"arn:aws:execute-api:eu-west-1:{ACCOUNT}:other/*"
    ored = permission([other, f"arn:aws:execute-api:eu-west-1:{ACCOUNT}:abc123/*"])
    assert evaluate(policy(ored), request()).allowed
    anded = permission(
        f"arn:aws:execute-api:eu-west-1:{ACCOUNT}:abc123/*", StringEquals={"AWS:SourceAccount": "999999999999"}
    )
    assert not evaluate(policy(anded), request()).allowed
    anded_ok = permission(
        f"arn:aws:execute-api:eu-west-1:{ACCOUNT}:abc123/*", StringEquals={"AWS:SourceAccount": ACCOUNT}
    )
    assert evaluate(policy(anded_ok), request()).allowed


# Policy evaluation logic: "An explicit deny in any policy overrides any allows"; "By
# default, all requests are implicitly denied".
def test_explicit_deny_wins_and_nothing_is_allowed_by_default():
    allow = permission(f"arn:aws:execute-api:eu-west-1:{ACCOUNT}:abc123/*")
    deny = permission(f"arn:aws:execute-api:eu-west-1:{ACCOUNT}:abc123/v1/GET/*", effect="Deny")
    assert evaluate(policy(allow), request()).allowed
    decision = evaluate(policy(allow, deny), request())
    assert not decision.allowed and "denied explicitly" in decision.reason
    assert evaluate(
        policy(allow, deny), request(f"arn:aws:execute-api:eu-west-1:{ACCOUNT}:abc123/v1/POST/items")
    ).allowed
    assert not evaluate(None, request()).allowed
    assert not evaluate(policy(), request()).allowed


def test_principal_action_and_resource_must_match():
    allow = permission(f"arn:aws:execute-api:eu-west-1:{ACCOUNT}:abc123/*")
    assert not evaluate(policy(allow), request(principal_service="events.amazonaws.com")).allowed
    assert not evaluate(policy(allow), request(action="lambda:GetFunction")).allowed
    assert evaluate(policy({**allow, "Action": "LAMBDA:invoke*"}), request()).allowed  # action names: any case
    other_function = FUNCTION.replace("get-item", "delete-item")
    assert not evaluate(policy(allow), request(resource=other_function)).allowed
    assert evaluate(policy({**allow, "Principal": "*"}), request()).allowed
    assert evaluate(policy({**allow, "Principal": {"AWS": "*"}}), request()).allowed
    assert not evaluate(policy({**allow, "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}}), request()).allowed
    assert evaluate(policy({**allow, "NotAction": "lambda:GetFunction", "Action": None}), request()).allowed


def test_conditions_we_cannot_evaluate_never_grant_and_always_deny():
    source = f"arn:aws:execute-api:eu-west-1:{ACCOUNT}:abc123/*"
    unknown = {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}
    allow = {**permission(source), "Condition": unknown}
    assert not evaluate(policy(allow), request()).allowed
    deny = {**permission(source, effect="Deny"), "Condition": unknown}
    assert not evaluate(policy(permission(source), deny), request()).allowed
