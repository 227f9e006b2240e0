"""The condition operators as the IAM User Guide defines them, one rule per test, each quoting
reference_policies_elements_condition_operators.html (or the page named) of
https://docs.aws.amazon.com/IAM/latest/UserGuide/."""

from __future__ import annotations

import pytest

from local.iam.conditions import Unevaluable, condition_holds, conditions_hold, is_evaluated, normalize


def holds(operator: str, key: str, expected, **context) -> bool:
    return condition_holds(operator, key, expected, normalize({k.replace("__", ":"): v for k, v in context.items()}))


def test_key_names_are_case_insensitive_values_are_not():
    # reference_policies_elements_condition.html: "Context key names are not case-sensitive ...
    # the case sensitivity of the value ... depends on the condition operator".
    assert holds("StringEquals", "AWS:SourceAccount", "111122223333", aws__sourceaccount="111122223333")
    assert not holds(
        "StringEquals", "aws:PrincipalArn", "arn:aws:iam::1:role/A", aws__PrincipalArn="arn:aws:iam::1:role/a"
    )
    assert holds("StringEqualsIgnoreCase", "aws:RequestTag/env", "PROD", **{"aws:RequestTag/env": "prod"})


def test_string_like_wildcards_and_arn_components():
    # "StringLike: Case-sensitive matching. The values can include multi-character match wildcards
    # (*) and single-character match wildcards (?) anywhere in the string."
    assert holds("StringLike", "s3:prefix", "home/?/*", s3__prefix="home/a/notes")
    assert not holds("StringLike", "s3:prefix", "home/?/*", s3__prefix="home/ab")
    # ArnLike: "Each of the six colon-delimited components of the ARN is checked separately".
    arn = "arn:aws:execute-api:eu-west-1:111122223333:abc/prod/GET/items"
    assert holds("ArnLike", "aws:SourceArn", "arn:aws:execute-api:*:111122223333:abc/*", aws__SourceArn=arn)
    assert not holds("ArnLike", "aws:SourceArn", "arn:aws:execute-api:*:444455556666:abc/*", aws__SourceArn=arn)


def test_negated_operators_hold_for_an_absent_key_and_ifexists_too():
    # "If the key that you specify in a policy condition is not present in the request context,
    # the values do not match" (so StringEquals is false and StringNotEquals true);
    # "...IfExists: If the policy key is present in the context of the request, process the key
    # as specified in the policy. If the key is not present, evaluate the condition element as true."
    assert not holds("StringEquals", "aws:SourceAccount", "1")
    assert holds("StringNotEquals", "aws:SourceAccount", "1")
    assert holds("StringEqualsIfExists", "aws:SourceAccount", "1")
    assert not holds("StringEqualsIfExists", "aws:SourceAccount", "1", aws__SourceAccount="2")
    assert holds(
        "ArnNotEquals", "iam:PolicyARN", "arn:aws:iam::aws:policy/A", iam__PolicyARN="arn:aws:iam::aws:policy/B"
    )


def test_null_checks_presence():
    # "Null": "true" (the key doesn't exist — it is null) or "false" (the key exists and its
    # value is not null).
    assert holds("Null", "aws:TagKeys", "true") and not holds("Null", "aws:TagKeys", "false")
    assert holds("Null", "aws:TagKeys", "false", aws__TagKeys=["a"]) and holds(
        "Null", "aws:TagKeys", "true", aws__TagKeys=[]
    )


def test_bool_and_numeric():
    # "Bool ... matching true or false"; "Numeric condition operators ... compare a key to an
    # integer or decimal value".
    assert holds("Bool", "aws:SecureTransport", "true", aws__SecureTransport=True)
    assert not holds("Bool", "aws:SecureTransport", "true", aws__SecureTransport=False)
    assert holds("Bool", "aws:SecureTransport", "false", aws__SecureTransport=False)
    assert holds("NumericLessThanEquals", "s3:prefix", "10", s3__prefix="9.5")
    assert not holds("NumericGreaterThan", "s3:prefix", "10", s3__prefix="10")
    assert not holds("NumericEquals", "s3:prefix", "10", s3__prefix="ten")


def test_set_operators_over_many_request_values():
    # reference_policies_condition-single-vs-multi-valued-context-keys.html: "ForAllValues –
    # ... returns true if every context key value in the request matches at least one context key
    # value in the policy"; "ForAnyValue – ... returns true if any one of the context key values
    # in the request matches any one of the context key values in the policy".
    tags = {"aws__TagKeys": ["environment", "team"]}
    assert holds("ForAllValues:StringEquals", "aws:TagKeys", ["environment", "team", "x"], **tags)
    assert not holds("ForAllValues:StringEquals", "aws:TagKeys", ["environment"], **tags)
    assert holds("ForAnyValue:StringEquals", "aws:TagKeys", ["team"], **tags)
    assert not holds("ForAnyValue:StringLike", "aws:TagKeys", ["owner*"], **tags)
    assert holds("ForAllValues:StringLike", "route53:ChangeResourceRecordSetsNormalizedRecordNames", "*.example.com")


def test_operators_and_keys_and_values_or():
    # reference_policies_condition-logic-multiple-context-keys-or-values.html: several operators,
    # or several keys under one, are ANDed; several values for one key are ORed.
    condition = {
        "StringEquals": {"aws:RequestTag/env": ["dev", "test"], "kms:ViaService": "dynamodb.eu-west-1.amazonaws.com"}
    }
    context = normalize({"aws:RequestTag/env": "test", "kms:ViaService": "dynamodb.eu-west-1.amazonaws.com"})
    assert conditions_hold(condition, context) == (True, [])
    context = normalize({"aws:RequestTag/env": "test", "kms:ViaService": "lambda.eu-west-1.amazonaws.com"})
    assert conditions_hold(condition, context) == (False, [])


def test_what_is_not_evaluated_is_named():
    assert is_evaluated("aws:ResourceTag/environment") and is_evaluated("kms:EncryptionContext:aws:logs:arn")
    assert not is_evaluated("token.actions.githubusercontent.com:sub")
    with pytest.raises(Unevaluable, match="ec2:InstanceType"):
        holds("StringEquals", "ec2:InstanceType", "t2.micro")
    with pytest.raises(Unevaluable, match="DateLessThan"):
        holds("DateLessThan", "aws:SourceAccount", "2026-01-01T00:00:00Z", aws__SourceAccount="1")
    holds_, unevaluable = conditions_hold({"StringEquals": {"ec2:Region": "x", "aws:SourceAccount": "1"}}, {})
    assert unevaluable == ["ec2:Region"] and holds_ is False
