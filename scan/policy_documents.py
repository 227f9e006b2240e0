"""Every IAM policy document in a synthesized stack, with its Terraform references resolved to
realistic placeholders, for the IAM analysis of ``make scan`` (scan/policy_scan.py).

Why: CDKTF writes each policy as a JSON *string* with ``${aws_kms_key.x.arn}``-style
references inside. checkov cannot parse those strings and silently skips every IAM check on
them, and no analyser can judge ``"Resource": "${...}"``. Each reference is therefore replaced
by an ARN of the shape AWS would give the referenced attribute (region from the resource's
provider, account from the provider's ``allowed_account_ids`` or a placeholder, the resource's
own name where it is a literal), so ``Resource`` scoping is judged as it will be in AWS.

A reference with no rule here is an error, not a guess: a new resource type in a policy must
get its ARN shape below (the same stance as modules/bootstrap/deploy_policy.py's RULES).

What is extracted (``kind``):

- ``identity``: inline role policies (``aws_iam_role_policy``) and managed policies
  (``aws_iam_policy``, e.g. the bootstrap's permissions boundaries);
- ``trust``: role trust policies (``aws_iam_role.assume_role_policy``);
- ``key``: KMS key policies, where ``"Resource": "*"`` means "this key" and is resolved to it;
- ``bucket``: S3 bucket policies.

Lambda permissions are not extracted: each is one ``lambda:InvokeFunction`` for one service
principal on one function, and checkov already checks that they name a source ARN.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

PLACEHOLDER_ACCOUNT = "123456789012"
PLACEHOLDER_REGION = "us-east-1"
REFERENCE = re.compile(r"\$\{([^{}]*)\}")
# Terraform resource type -> the ARN AWS gives it.
ARN_TEMPLATES: Mapping[str, str] = {
    "aws_cloudwatch_log_group": "arn:aws:logs:{region}:{account}:log-group:{name}",
    "aws_dynamodb_table": "arn:aws:dynamodb:{region}:{account}:table/{name}",
    "aws_dynamodb_table_replica": "arn:aws:dynamodb:{region}:{account}:table/{name}",
    "aws_kms_key": "arn:aws:kms:{region}:{account}:key/{uuid}",
    "aws_s3_bucket": "arn:aws:s3:::{name}",
    "aws_iam_openid_connect_provider": "arn:aws:iam::{account}:oidc-provider/{name}",
    "aws_iam_role": "arn:aws:iam::{account}:role{path}{name}",
    "aws_iam_policy": "arn:aws:iam::{account}:policy{path}{name}",
    "aws_lambda_function": "arn:aws:lambda:{region}:{account}:function:{name}",
    "aws_sns_topic": "arn:aws:sns:{region}:{account}:{name}",
}
# The attribute holding a resource's physical name (default: ``name``). A replica is named by
# its global table; an OIDC provider's ARN ends in its URL's host.
NAME_ATTRIBUTES: Mapping[str, str] = {
    "aws_dynamodb_table_replica": "global_table_arn",
    "aws_s3_bucket": "bucket",
    "aws_iam_openid_connect_provider": "url",
    "aws_lambda_function": "function_name",
}
# Where each kind of policy lives: resource type -> (attribute, kind).
POLICY_ATTRIBUTES: Mapping[str, tuple[tuple[str, str], ...]] = {
    "aws_iam_role_policy": (("policy", "identity"),),
    "aws_iam_policy": (("policy", "identity"),),
    "aws_iam_role": (("assume_role_policy", "trust"),),
    "aws_kms_key": (("policy", "key"),),
    "aws_s3_bucket_policy": (("policy", "bucket"),),
}


class PolicyScanError(ValueError):
    """A policy that cannot be resolved or parsed: the scan must not pass over it silently."""


@dataclass(frozen=True, kw_only=True)
class PolicySource:
    """One policy document: ``stack`` (e.g. backend-prod), ``address`` (``<type>.<name>``),
    ``attribute`` holding it, ``kind`` (see the module doc) and the resolved ``document``."""

    stack: str
    address: str
    attribute: str
    kind: str
    document: dict[str, Any]

    @property
    def label(self) -> str:
        return f"{self.stack} {self.address}.{self.attribute}"


class _Resolver:
    """Turns ``${type.name.attribute}`` into placeholder values for one stack's JSON."""

    def __init__(self, doc: Mapping[str, Any]) -> None:
        self._doc = doc
        providers = doc.get("provider", {}).get("aws", [])
        self._providers = {f"aws.{p['alias']}": p for p in providers if "alias" in p}

    def resolve(self, text: str, where: str) -> str:
        return REFERENCE.sub(lambda match: self._value(match.group(1), where), text)

    def _value(self, expression: str, where: str) -> str:
        parts = expression.split(".")
        if parts[0] == "data" and len(parts) == 4 and parts[1] == "aws_caller_identity" and parts[3] == "account_id":
            return self._account(self._block("data", parts[1], parts[2], where))
        if parts[0] == "data" and len(parts) == 4 and parts[1] == "aws_route53_zone" and parts[3] == "zone_id":
            # A hosted zone looked up by name (the bootstrap's roles read the environment's zone).
            zone = self._block("data", parts[1], parts[2], where)
            return "Z" + "".join(c for c in str(zone.get("name", "")).upper() if c.isalnum())
        if len(parts) != 3 or parts[2] not in ("arn", "name", "id", "account_id"):
            raise PolicyScanError(f"{where}: cannot resolve ${{{expression}}}: expected <type>.<name>.arn|name|id")
        rtype, name, attribute = parts
        body = self._block("resource", rtype, name, where)
        if attribute == "arn":
            return self.arn(rtype, name, body, where)
        if attribute == "account_id":
            return self._account(body)
        return self._name(rtype, name, body, where)

    def _block(self, section: str, rtype: str, name: str, where: str) -> Mapping[str, Any]:
        try:
            return self._doc[section][rtype][name]
        except KeyError:
            raise PolicyScanError(
                f"{where}: references {section} {rtype}.{name}, which the stack does not have"
            ) from None

    def arn(self, rtype: str, name: str, body: Mapping[str, Any], where: str) -> str:
        if rtype not in ARN_TEMPLATES:
            raise PolicyScanError(
                f"{where}: no ARN shape for {rtype}; add it to scan/policy_documents.py ARN_TEMPLATES"
            )
        provider = self._providers.get(body.get("provider", ""), {})
        return ARN_TEMPLATES[rtype].format(
            region=provider.get("region", PLACEHOLDER_REGION),
            account=self._account(body),
            name=self._name(rtype, name, body, where),
            path=body.get("path", "/"),
            uuid=uuid.uuid5(uuid.NAMESPACE_URL, f"{rtype}.{name}"),
        )

    def _name(self, rtype: str, name: str, body: Mapping[str, Any], where: str) -> str:
        """The literal physical name, or the logical name where the name is itself computed."""
        value = body.get(NAME_ATTRIBUTES.get(rtype, "name"))
        if not isinstance(value, str):
            return name
        if rtype == "aws_dynamodb_table_replica":
            return self.resolve(value, where).rsplit("/", 1)[-1]
        if rtype == "aws_iam_openid_connect_provider":
            return value.removeprefix("https://")
        return value if "${" not in value else name

    def _account(self, body: Mapping[str, Any]) -> str:
        provider = self._providers.get(body.get("provider", ""), {})
        allowed = provider.get("allowed_account_ids") or [PLACEHOLDER_ACCOUNT]
        return str(allowed[0])


def policy_sources(stack: str, doc: Mapping[str, Any]) -> list[PolicySource]:
    """Every policy document in one synthesized stack, references resolved."""
    resolver = _Resolver(doc)
    sources = []
    for rtype, attributes in POLICY_ATTRIBUTES.items():
        for name, body in doc.get("resource", {}).get(rtype, {}).items():
            for attribute, kind in attributes:
                text = body.get(attribute)
                if not isinstance(text, str):
                    continue
                where = f"{stack} {rtype}.{name}.{attribute}"
                document = _parse(resolver.resolve(text, where), where)
                if kind == "key":
                    document = _key_policy_on(document, resolver.arn(rtype, name, body, where))
                sources.append(
                    PolicySource(
                        stack=stack, address=f"{rtype}.{name}", attribute=attribute, kind=kind, document=document
                    )
                )
    return sources


def _parse(text: str, where: str) -> dict[str, Any]:
    if "${" in text:
        raise PolicyScanError(f"{where}: an expression is left after resolving references: {text[:200]}")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as err:
        raise PolicyScanError(f"{where}: not a JSON policy document ({err})") from None
    if not isinstance(document, dict) or not isinstance(document.get("Statement"), list):
        raise PolicyScanError(f"{where}: a policy document needs a Statement list")
    return document


def _key_policy_on(document: dict[str, Any], key_arn: str) -> dict[str, Any]:
    """In a key policy, ``"Resource": "*"`` is the key itself; say so for the analyser."""
    statements = [{**s, "Resource": key_arn} if s.get("Resource") in ("*", ["*"]) else s for s in document["Statement"]]
    return {**document, "Statement": statements}
