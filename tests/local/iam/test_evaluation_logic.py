"""The worked examples of AWS's policy evaluation logic documentation, evaluated here. Each test
quotes its source page of the IAM User Guide (https://docs.aws.amazon.com/IAM/latest/UserGuide/)."""

from __future__ import annotations

import logging

import pytest

from local.iam import Policy, Principal, Request, Verdict, evaluate

ACCOUNT = "111122223333"


def role(*documents: dict, boundary: dict | None = None) -> Principal:
    policies = tuple(Policy(f"policy-{index}", document) for index, document in enumerate(documents))
    return Principal(
        f"arn:aws:iam::{ACCOUNT}:role/r", policies, Policy("boundary", boundary) if boundary is not None else None
    )


def allow(action, resource="*", condition=None, **extra) -> dict:
    statement = {"Effect": "Allow", "Action": action, "Resource": resource, **extra}
    if condition:
        statement["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [statement]}


def test_requests_are_implicitly_denied_by_default():
    # reference_policies_evaluation-logic_policy-eval-denyallow.html: "By default, all requests
    # are implicitly denied with the exception of the AWS account root user".
    decision = evaluate(role(), Request("s3:ListBucket", "arn:aws:s3:::bucket"))
    assert decision.verdict is Verdict.IMPLICIT_DENY


def test_an_explicit_deny_overrides_an_allow():
    # reference_policies_evaluation-logic_policy-eval-denyallow.html: "An explicit deny in any
    # policy overrides any allows."
    deny = {"Statement": [{"Sid": "NoDelete", "Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"}]}
    decision = evaluate(role(allow("s3:*"), deny), Request("s3:DeleteObject", "arn:aws:s3:::b/k"))
    assert decision.verdict is Verdict.EXPLICIT_DENY and "policy-1 NoDelete" in decision.reason


def test_the_boundary_limits_an_identity_allow():
    # access_policies_boundaries.html: the boundary allows only "s3:*", "cloudwatch:*" and
    # "ec2:*"; an identity policy allows "iam:CreateUser". "If you add that policy ... the
    # operation fails ... because the permissions boundary does not allow the operation."
    boundary = allow(["s3:*", "cloudwatch:*", "ec2:*"])
    identity = allow("iam:CreateUser", f"arn:aws:iam::{ACCOUNT}:user/*")
    principal = role(identity, boundary=boundary)
    decision = evaluate(principal, Request("iam:CreateUser", f"arn:aws:iam::{ACCOUNT}:user/new"))
    assert decision.verdict is Verdict.IMPLICIT_DENY and "boundary" in decision.reason


def test_the_boundary_alone_grants_nothing():
    # access_policies_boundaries.html: "Permissions boundaries ... do not grant permissions on
    # [their] own": the effective permissions are the intersection.
    principal = role(allow("s3:GetObject"), boundary=allow(["s3:*", "ec2:*"]))
    assert evaluate(principal, Request("s3:GetObject", "arn:aws:s3:::b/k")).allowed
    assert evaluate(principal, Request("ec2:RunInstances", "*")).verdict is Verdict.IMPLICIT_DENY


def test_a_deny_in_the_boundary_is_an_explicit_deny():
    # access_policies_boundaries.html (evaluation): "An explicit deny in any of these policies
    # overrides the allow."
    boundary = {"Statement": [*allow("*")["Statement"], {"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]}
    decision = evaluate(role(allow("s3:*"), boundary=boundary), Request("s3:GetObject", "arn:aws:s3:::b/k"))
    assert decision.verdict is Verdict.EXPLICIT_DENY


def test_notaction_with_allow_grants_every_other_action():
    # reference_policies_elements_notaction.html: "Allow ... all actions except IAM":
    # "NotAction": "iam:*", "Resource": "*" allows s3:* and not iam:CreateUser.
    principal = role({"Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]})
    assert evaluate(principal, Request("s3:ListAllMyBuckets", "*")).allowed
    assert evaluate(principal, Request("iam:CreateUser", "*")).verdict is Verdict.IMPLICIT_DENY


def test_notaction_deny_without_mfa():
    # reference_policies_elements_notaction.html: deny every action but the MFA ones when
    # "BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}.
    deny = {
        "Effect": "Deny",
        "NotAction": ["iam:CreateVirtualMFADevice", "iam:EnableMFADevice", "iam:ListMFADevices"],
        "Resource": "*",
        "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
    }
    principal = role(allow("*"), {"Statement": [deny]})
    without_mfa = Request("s3:ListBucket", "arn:aws:s3:::b", {"aws:MultiFactorAuthPresent": False})
    assert evaluate(principal, without_mfa).verdict is Verdict.EXPLICIT_DENY
    assert evaluate(principal, Request("iam:EnableMFADevice", "*", {"aws:MultiFactorAuthPresent": False})).allowed
    assert evaluate(principal, Request("s3:ListBucket", "arn:aws:s3:::b", {"aws:MultiFactorAuthPresent": True})).allowed
    # IfExists: long-term keys carry no aws:MultiFactorAuthPresent, so they are denied too
    # ("BoolIfExists ... if the key is not present ... evaluates to true").
    assert evaluate(principal, Request("s3:ListBucket", "arn:aws:s3:::b")).verdict is Verdict.EXPLICIT_DENY


def test_notresource_allows_every_other_resource():
    # reference_policies_elements_notresource.html: Allow with NotResource matches every
    # resource except those listed.
    principal = role({"Statement": [{"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::hr/*"}]})
    assert evaluate(principal, Request("s3:GetObject", "arn:aws:s3:::public/k")).allowed
    assert not evaluate(principal, Request("s3:GetObject", "arn:aws:s3:::hr/pay")).allowed


@pytest.mark.parametrize(
    ("tag_keys", "denied"),
    [(["key1:legal"], False), (["key1:hr", "key1:personnel"], False), (["key2:audit"], True), (None, True)],
)
def test_forallvalues_deny_table(tag_keys, denied):
    # reference_policies_condition_examples-multi-valued-context-keys.html, "Deny a single
    # policy condition value": "ForAllValues:StringNotLike": {"aws:TagKeys": "key1*"}; the
    # page's table: key1:legal no match, key1:hr + key1:personnel no match, key2:audit match,
    # "No aws:TagKeys in the request context": match.
    deny = {
        "Sid": "DenyRestrictedTags",
        "Effect": "Deny",
        "Action": ["iam:Tag*", "iam:UnTag*"],
        "Resource": ["*"],
        "Condition": {"ForAllValues:StringNotLike": {"aws:TagKeys": "key1*"}},
    }
    context = {} if tag_keys is None else {"aws:TagKeys": tag_keys}
    decision = evaluate(role(allow("iam:*"), {"Statement": [deny]}), Request("iam:TagRole", "*", context))
    assert (decision.verdict is Verdict.EXPLICIT_DENY) is denied


def test_forallvalues_allow_needs_a_null_check():
    # reference_policies_condition-single-vs-multi-valued-context-keys.html: "ForAllValues ...
    # returns true if there are no context keys in the request"; add "Null": "false" to require
    # the key. ForAnyValue: "if the context key isn't present ... returns false".
    all_values = allow("dynamodb:GetItem", condition={"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["a"]}})
    required = {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["a"]}, "Null": {"dynamodb:LeadingKeys": "false"}}
    with_null = allow("dynamodb:GetItem", condition=required)
    any_value = allow("dynamodb:GetItem", condition={"ForAnyValue:StringEquals": {"dynamodb:LeadingKeys": ["a"]}})
    absent = Request("dynamodb:GetItem", "arn:aws:dynamodb:eu-west-1:1:table/t")
    assert evaluate(role(all_values), absent).allowed
    assert not evaluate(role(with_null), absent).allowed
    assert not evaluate(role(any_value), absent).allowed
    present = Request("dynamodb:GetItem", "arn:aws:dynamodb:eu-west-1:1:table/t", {"dynamodb:LeadingKeys": ["a", "b"]})
    assert not evaluate(role(with_null), present).allowed and evaluate(role(any_value), present).allowed


def test_string_like_if_exists():
    # reference_policies_elements_condition_operators.html#Conditions_IfExists: "StringLikeIfExists":
    # {"ec2:InstanceType": ["t1.*", "t2.*", "m3.*"]}: "If the key is present, ... it must match;
    # if it is not present, the condition evaluates to true". ec2:InstanceType is not a key the
    # stand-in evaluates, so the same rule is shown on aws:RequestTag/size.
    policy = allow("ec2:RunInstances", condition={"StringLikeIfExists": {"aws:RequestTag/size": ["t1.*", "t2.*"]}})
    assert evaluate(role(policy), Request("ec2:RunInstances", "*", {"aws:RequestTag/size": "t2.micro"})).allowed
    assert not evaluate(role(policy), Request("ec2:RunInstances", "*", {"aws:RequestTag/size": "m5.large"})).allowed
    assert evaluate(role(policy), Request("ec2:RunInstances", "*")).allowed


def test_an_unevaluated_key_fails_closed_and_is_logged(caplog):
    # The rule: a key the evaluator cannot evaluate never allows, and a Deny with it applies.
    condition = {"StringEquals": {"ec2:InstanceType": "t2.micro"}}
    caplog.set_level(logging.WARNING, logger="local.iam.evaluator")
    request = Request("ec2:RunInstances", "*", {"ec2:InstanceType": "t2.micro"})
    assert evaluate(role(allow("ec2:RunInstances", condition=condition)), request).verdict is Verdict.IMPLICIT_DENY
    assert "ec2:InstanceType" in caplog.text
    deny = {"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": condition}]}
    other = Request("ec2:RunInstances", "*", {"ec2:InstanceType": "m5.large"})
    assert evaluate(role(allow("*"), deny), other).verdict is Verdict.EXPLICIT_DENY


@pytest.mark.parametrize(
    ("pattern", "resource", "matches"),
    [
        ("arn:aws:iam::*:role/items-*", f"arn:aws:iam::{ACCOUNT}:role/items-create", True),
        ("arn:aws:iam::?:role/x", "arn:aws:iam::1:role/x", True),
        ("arn:aws:iam::?:role/x", "arn:aws:iam::12:role/x", False),
        ("arn:aws:dynamodb:eu-*-1:1:table/t", "arn:aws:dynamodb:eu-west-1:1:table/t", True),
        ("arn:aws:dynamodb:e*t-1:1:table/t", "arn:aws:dynamodb:eu-west-1:1:table/t", True),
        ("arn:aws:dynamodb:e*-1:1:table/t", "arn:aws:dynamodb:e:x-1:1:table/t", False),
        ("arn:aws:logs:*", "arn:aws:logs:eu-west-1:1:log-group:g:log-stream:s", True),
        ("arn:aws:logs:eu-west-1:1:*", "arn:aws:logs:eu-west-1:1:log-group:g:log-stream:s", True),
        ("arn:aws:logs:eu-west-1:1:log-group:g", "arn:aws:logs:eu-west-1:1:log-group:g:log-stream:s", False),
        ("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a:b/c", True),
        ("arn:aws:S3:::bucket", "arn:aws:s3:::bucket", False),
    ],
)
def test_resource_wildcards_by_segment(pattern, resource, matches):
    # reference_policies_elements_resource.html: "You can use wildcard characters (* and ?) within
    # any ARN segment (the parts separated by colons) ... If the * wildcard is the last character
    # of a resource ARN segment, it can expand to match beyond the colon boundaries." ARNs are
    # case-sensitive.
    principal = role(allow("s3:GetObject", pattern))
    assert evaluate(principal, Request("s3:GetObject", resource)).allowed is matches
