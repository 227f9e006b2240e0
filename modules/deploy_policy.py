"""IAM policies for an environment's deploy and plan roles, derived from what that
environment synthesizes.

``derive(doc, ...)`` walks the synthesized Terraform JSON of ``backend-<env>``: every
resource type must have a rule below (a new type without one is an error, so the deploy
role never silently lacks or gains a service), every literal physical name must carry the
environment's prefix (``items-dev``), and the regions come from the providers the
resources are bound to. The result names only the services the stack uses, scoped to the
ARNs its names produce in its regions:

- deploy role: ``<service>:*`` on those ARNs, plus the few actions AWS cannot scope to a
  resource (``kms:CreateKey``, ``acm:RequestCertificate``, ...) each narrowed by a condition;
- plan role: ``Describe*``/``Get*``/``List*`` on the same ARNs (never DynamoDB item reads).

Both also get the environment's Terraform state (the S3 object and its lock file) when the
stack's backend is S3. Pure Python: no cdktf import, so it is tested on plain dicts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

TOKEN_MARK = "${"


class PolicyError(ValueError):
    """The synthesized stack uses something no rule covers, or a name outside the prefix."""


@dataclass(frozen=True, kw_only=True)
class ServiceRule:
    """How one service's resources become policy statements.

    ``names``: resource type -> attribute holding its physical name (checked against the
    prefix and turned into a name pattern). ``arns``: templates with ``{region}``,
    ``{account}`` and ``{name}`` (one per name pattern; templates without ``{name}`` are
    scoped by region only because the service's ARNs hold generated ids).
    ``read``: the plan role's actions. ``tag_scoped``: the ARNs carry generated ids, so
    the statement also requires the resource's ``environment`` tag. ``exact_names``: the
    names are DNS names chosen in the environment file (no prefix), granted exactly."""

    service: str
    types: tuple[str, ...]
    arns: tuple[str, ...]
    names: Mapping[str, str]
    read: tuple[str, ...]
    tag_scoped: bool = False
    exact_names: bool = False


RULES: tuple[ServiceRule, ...] = (
    ServiceRule(
        service="dynamodb",
        types=("aws_dynamodb_table", "aws_dynamodb_table_replica", "aws_dynamodb_table_item"),
        arns=("arn:aws:dynamodb:{region}:{account}:table/{name}", "arn:aws:dynamodb:{region}:{account}:table/{name}/*"),
        names={"aws_dynamodb_table": "name"},
        # No Get*: that would include GetItem, i.e. reading the data.
        read=("dynamodb:Describe*", "dynamodb:List*", "dynamodb:GetResourcePolicy"),
    ),
    ServiceRule(
        service="lambda",
        types=("aws_lambda_function", "aws_lambda_permission"),
        arns=("arn:aws:lambda:{region}:{account}:function:{name}",),
        names={"aws_lambda_function": "function_name"},
        read=("lambda:Get*", "lambda:List*"),
    ),
    ServiceRule(
        service="iam",
        types=("aws_iam_role", "aws_iam_role_policy", "aws_iam_role_policy_attachment"),
        arns=("arn:aws:iam::{account}:role/{name}",),
        names={"aws_iam_role": "name"},
        read=("iam:GetRole", "iam:GetRolePolicy", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies",
              "iam:ListRoleTags", "iam:ListInstanceProfilesForRole"),
    ),
    ServiceRule(
        service="logs",
        types=("aws_cloudwatch_log_group",),
        # API Gateway names a stage's execution log group after the REST API's generated id:
        # scoped by region, like the REST APIs themselves.
        arns=(
            "arn:aws:logs:{region}:{account}:log-group:{name}", "arn:aws:logs:{region}:{account}:log-group:{name}:*",
            "arn:aws:logs:{region}:{account}:log-group:API-Gateway-Execution-Logs_*",
            "arn:aws:logs:{region}:{account}:log-group:API-Gateway-Execution-Logs_*:*",
        ),
        names={"aws_cloudwatch_log_group": "name"},
        read=("logs:Describe*", "logs:List*"),
    ),
    ServiceRule(
        service="cloudwatch",
        types=("aws_cloudwatch_metric_alarm",),
        arns=("arn:aws:cloudwatch:{region}:{account}:alarm:{name}",),
        names={"aws_cloudwatch_metric_alarm": "alarm_name"},
        read=("cloudwatch:Describe*", "cloudwatch:ListTagsForResource"),
    ),
    ServiceRule(
        service="sns",
        types=("aws_sns_topic", "aws_sns_topic_subscription"),
        arns=("arn:aws:sns:{region}:{account}:{name}", "arn:aws:sns:{region}:{account}:{name}:*"),
        names={"aws_sns_topic": "name"},
        read=("sns:Get*", "sns:List*"),
    ),
    ServiceRule(
        service="kms",
        types=("aws_kms_key",),
        arns=("arn:aws:kms:{region}:{account}:key/*",),
        names={},
        read=("kms:Describe*", "kms:Get*", "kms:List*"),
        tag_scoped=True,
    ),
    ServiceRule(
        service="kms",
        types=("aws_kms_alias",),
        arns=("arn:aws:kms:{region}:{account}:{name}",),
        names={"aws_kms_alias": "name"},
        read=("kms:Describe*", "kms:List*"),
    ),
    ServiceRule(
        service="acm",
        types=("aws_acm_certificate", "aws_acm_certificate_validation"),
        arns=("arn:aws:acm:{region}:{account}:certificate/*",),
        names={},
        read=("acm:Describe*", "acm:Get*", "acm:List*"),
        tag_scoped=True,
    ),
    ServiceRule(
        service="apigateway",
        types=(
            "aws_api_gateway_rest_api", "aws_api_gateway_resource", "aws_api_gateway_method",
            "aws_api_gateway_integration", "aws_api_gateway_deployment", "aws_api_gateway_stage",
            "aws_api_gateway_method_settings", "aws_api_gateway_account", "aws_api_gateway_domain_name",
            "aws_api_gateway_base_path_mapping", "aws_api_gateway_authorizer", "aws_api_gateway_model",
            "aws_api_gateway_request_validator", "aws_api_gateway_method_response",
            "aws_api_gateway_integration_response", "aws_api_gateway_gateway_response",
        ),
        # REST API ids are generated: scoped by region; domain names by the stack's names.
        arns=(
            "arn:aws:apigateway:{region}::/restapis", "arn:aws:apigateway:{region}::/restapis/*",
            "arn:aws:apigateway:{region}::/account", "arn:aws:apigateway:{region}::/tags/*",
            "arn:aws:apigateway:{region}::/domainnames", "arn:aws:apigateway:{region}::/domainnames/{name}",
            "arn:aws:apigateway:{region}::/domainnames/{name}/*",
        ),
        names={"aws_api_gateway_domain_name": "domain_name"},
        read=("apigateway:GET",),
        exact_names=True,
    ),
    ServiceRule(
        service="wafv2",
        types=("aws_wafv2_web_acl", "aws_wafv2_web_acl_association", "aws_wafv2_web_acl_logging_configuration"),
        # The ACL's ARN ends in a generated id.
        arns=("arn:aws:wafv2:{region}:{account}:regional/webacl/{name}/*",),
        names={"aws_wafv2_web_acl": "name"},
        read=("wafv2:Get*", "wafv2:List*"),
    ),
    ServiceRule(
        service="route53",
        types=("aws_route53_health_check", "aws_route53_record"),
        arns=("arn:aws:route53:::healthcheck/*", "arn:aws:route53:::change/*"),
        names={},
        read=("route53:Get*", "route53:List*"),
    ),
)

# Terraform's built-in resource types: they call no AWS API, so they need no grant.
BUILTIN_TYPES = frozenset({"terraform_data"})

# Data sources and the actions they read with (none needs a resource-scoped grant).
DATA_SOURCES: Mapping[str, tuple[str, ...]] = {
    "aws_caller_identity": (),  # sts:GetCallerIdentity needs no permission
    "aws_route53_zone": ("route53:ListHostedZones", "route53:ListHostedZonesByName", "route53:GetHostedZone",
                         "route53:ListTagsForResource"),
}


@dataclass(frozen=True, kw_only=True)
class StackFacts:
    """What the walk found in one synthesized stack."""

    types: frozenset[str]
    data_types: frozenset[str]
    regions: tuple[str, ...]
    names: Mapping[str, tuple[str, ...]]  # resource type -> literal physical names
    managed_policy_arns: tuple[str, ...]
    record_names: tuple[str, ...]  # DNS names the stack writes records for
    state_bucket: str | None
    state_key: str | None


def walk(doc: Mapping[str, Any]) -> StackFacts:
    """Collect types, regions, literal names and the S3 state location of a stack."""
    regions_by_alias = {f"aws.{p['alias']}": p["region"] for p in doc.get("provider", {}).get("aws", []) if "alias" in p}
    resources = doc.get("resource", {})
    names_attr = {t: attr for rule in RULES for t, attr in rule.names.items()}
    regions: dict[str, None] = {}
    names: dict[str, list[str]] = {}
    for rtype, items in resources.items():
        for body in items.values():
            region = regions_by_alias.get(body.get("provider", ""))
            if region:
                regions[region] = None
            value = body.get(names_attr.get(rtype, ""))
            if isinstance(value, str) and TOKEN_MARK not in value:
                names.setdefault(rtype, []).append(value)
    s3 = doc.get("terraform", {}).get("backend", {}).get("s3", {})
    return StackFacts(
        types=frozenset(resources),
        data_types=frozenset(doc.get("data", {})),
        regions=tuple(regions),
        names={t: tuple(dict.fromkeys(v)) for t, v in names.items()},
        managed_policy_arns=_literals(resources.get("aws_iam_role_policy_attachment", {}), "policy_arn"),
        record_names=_literals(resources.get("aws_route53_record", {}), "name")
        + _literals(resources.get("aws_acm_certificate", {}), "domain_name"),
        state_bucket=s3.get("bucket"),
        state_key=s3.get("key"),
    )


def _literals(items: Mapping[str, Any], attribute: str) -> tuple[str, ...]:
    values = (body.get(attribute) for body in items.values())
    return tuple(dict.fromkeys(v for v in values if isinstance(v, str) and TOKEN_MARK not in v))


def name_pattern(name: str, prefix: str, where: str) -> str:
    """``/aws/lambda/items-dev-get-item`` -> ``/aws/lambda/items-dev-*``; ``alias/items-dev``
    stays exact. A name without the prefix is an error: the role could not manage it."""
    at = name.find(prefix)
    if at < 0:
        raise PolicyError(f"{where}: name {name!r} does not contain the prefix {prefix!r}; the deploy role is scoped to it")
    end = at + len(prefix)
    rest = name[end:]
    if not rest:
        return name
    if rest[0] in "-/.":
        return name[: end + 1] + "*"
    return name


@dataclass(frozen=True, kw_only=True)
class PolicyInputs:
    """The environment a policy is for. ``account`` may be a Terraform reference."""

    prefix: str
    environment: str
    account: str


def _rule_for(rtype: str) -> ServiceRule:
    for rule in RULES:
        if rtype in rule.types:
            return rule
    raise PolicyError(
        f"resource type {rtype!r} has no rule in modules/deploy_policy.py RULES; add one (service, ARNs, names) "
        "so the deploy role can manage it"
    )


def _rule_arns(rule: ServiceRule, facts: StackFacts, inputs: PolicyInputs) -> list[str]:
    names = [n for t in rule.names if t in facts.types for n in facts.names.get(t, ())]
    patterns = names if rule.exact_names else [name_pattern(n, inputs.prefix, rule.service) for n in names]
    arns: list[str] = []
    for template in rule.arns:
        regions = facts.regions if "{region}" in template else ("",)
        for region in regions:
            fills = patterns if "{name}" in template else [""]
            arns += [template.format(region=region, account=inputs.account, name=p) for p in fills]
    return list(dict.fromkeys(arns))


def _statement(sid: str, actions: Iterable[str], resources: Iterable[str], condition: dict | None = None) -> dict:
    statement: dict[str, Any] = {
        "Sid": sid, "Effect": "Allow", "Action": sorted(set(actions)), "Resource": sorted(set(resources)),
    }
    if condition:
        statement["Condition"] = condition
    return statement


def _service_statements(facts: StackFacts, inputs: PolicyInputs, write: bool) -> list[dict]:
    rules: list[ServiceRule] = []
    for rule in (_rule_for(t) for t in sorted(facts.types - BUILTIN_TYPES)):
        if not any(rule is seen for seen in rules):
            rules.append(rule)
    tag = {"StringEquals": {"aws:ResourceTag/environment": inputs.environment}}
    statements = []
    for index, rule in enumerate(rules):
        actions = (f"{rule.service}:*",) if write else rule.read
        arns = _rule_arns(rule, facts, inputs)
        sid = f"{rule.service.capitalize()}{index}"
        statements.append(_statement(sid, actions, arns, tag if rule.tag_scoped else None))
    return statements


def _unscoped_statements(facts: StackFacts, inputs: PolicyInputs, write: bool) -> list[dict]:
    """Actions AWS cannot scope to a resource ARN, each narrowed by a condition where AWS
    offers one."""
    out: list[dict] = []
    reads = sorted({a for t in facts.data_types for a in DATA_SOURCES.get(t, ())}
                   | {"logs:DescribeLogGroups", "cloudwatch:DescribeAlarms", "kms:ListAliases"})
    unknown = sorted(t for t in facts.data_types if t not in DATA_SOURCES)
    if unknown:
        raise PolicyError(f"data source {unknown[0]!r} has no entry in modules/deploy_policy.py DATA_SOURCES")
    out.append(_statement("ReadUnscoped", reads, ["*"]))
    if not write:
        return out + _sentinel_read(facts, inputs)
    if "aws_kms_key" in facts.types:
        out.append(_statement("CreateTaggedKeys", ["kms:CreateKey", "kms:TagResource"], ["*"],
                              {"StringEquals": {"aws:RequestTag/environment": inputs.environment}}))
    if "aws_acm_certificate" in facts.types:
        domains = [n for n in facts.names.get("aws_api_gateway_domain_name", ())] or list(facts.record_names)
        out.append(_statement("RequestOwnCertificates", ["acm:RequestCertificate", "acm:AddTagsToCertificate"], ["*"],
                              {"ForAllValues:StringEquals": {"acm:DomainNames": sorted(set(domains))}}))
    if "aws_route53_record" in facts.types:
        names = sorted({n for d in facts.record_names for n in (d, f"*.{d}")})
        out.append(_statement("OwnRecordsOnly", ["route53:ChangeResourceRecordSets"], ["arn:aws:route53:::hostedzone/*"],
                              {"ForAllValues:StringLike": {"route53:ChangeResourceRecordSetsNormalizedRecordNames": names}}))
        out.append(_statement("ReadZones", ["route53:GetHostedZone", "route53:ListResourceRecordSets",
                                            "route53:ListTagsForResource"], ["arn:aws:route53:::hostedzone/*"]))
    if "aws_dynamodb_table_replica" in facts.types:
        out.append(_statement(
            "ReplicationServiceRole", ["iam:CreateServiceLinkedRole"],
            [f"arn:aws:iam::{inputs.account}:role/aws-service-role/replication.dynamodb.amazonaws.com/*"],
            {"StringEquals": {"iam:AWSServiceName": "replication.dynamodb.amazonaws.com"}},
        ))
    return out


def _sentinel_read(facts: StackFacts, inputs: PolicyInputs) -> list[dict]:
    """Planning refreshes ``aws_dynamodb_table_item`` with a GetItem: the plan role may read
    the health sentinel's key and no other item."""
    if "aws_dynamodb_table_item" not in facts.types:
        return []
    from functions.schema import HEALTH_SENTINEL_ID

    arns = [arn for arn in _rule_arns(_rule_for("aws_dynamodb_table_item"), facts, inputs) if not arn.endswith("/*")]
    return [_statement("ReadHealthSentinelOnly", ["dynamodb:GetItem"], arns, {
        "ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [HEALTH_SENTINEL_ID]},
        "Null": {"dynamodb:LeadingKeys": "false"},
    })]


def _guard_statements(facts: StackFacts) -> list[dict]:
    """The role may attach only the managed policies the stack attaches."""
    if "aws_iam_role_policy_attachment" not in facts.types:
        return []
    return [{
        "Sid": "OnlyTheStacksManagedPolicies", "Effect": "Deny",
        "Action": ["iam:AttachRolePolicy", "iam:DetachRolePolicy"], "Resource": "*",
        "Condition": {"ArnNotEquals": {"iam:PolicyARN": sorted(facts.managed_policy_arns) or ["arn:aws:iam::aws:policy/none"]}},
    }]


def _state_statements(facts: StackFacts, write: bool) -> list[dict]:
    if not facts.state_bucket or not facts.state_key:
        return []
    bucket, key = facts.state_bucket, facts.state_key
    # Planning takes the lock too (the .tflock object), so both roles write the lock file.
    object_actions = ["s3:GetObject", "s3:PutObject"] if write else ["s3:GetObject"]
    return [
        _statement("StateList", ["s3:ListBucket"], [f"arn:aws:s3:::{bucket}"], {"StringLike": {"s3:prefix": [key, f"{key}.tflock"]}}),
        _statement("StateObject", object_actions, [f"arn:aws:s3:::{bucket}/{key}"]),
        _statement("StateLock", ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], [f"arn:aws:s3:::{bucket}/{key}.tflock"]),
    ]


def deploy_policy(doc: Mapping[str, Any], inputs: PolicyInputs) -> dict:
    """The deploy role's policy document for a synthesized stack."""
    facts = walk(doc)
    statements = _service_statements(facts, inputs, write=True) + _unscoped_statements(facts, inputs, write=True)
    return {"Version": "2012-10-17", "Statement": statements + _guard_statements(facts) + _state_statements(facts, True)}


def plan_policy(doc: Mapping[str, Any], inputs: PolicyInputs) -> dict:
    """The plan role's read-only policy document (plus the state lock) for a synthesized stack."""
    facts = walk(doc)
    statements = _service_statements(facts, inputs, write=False) + _unscoped_statements(facts, inputs, write=False)
    return {"Version": "2012-10-17", "Statement": statements + _state_statements(facts, False)}
