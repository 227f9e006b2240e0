"""One region's AWS WAF: a REGIONAL web ACL on the API's stage, logged to CloudWatch Logs.

Rules, cheapest first:

1. ``rate-limit-per-ip`` (priority 0): more than ``waf.rate_limit`` requests from one client
   IP in a 5-minute window blocks that IP with 429, except Route53's health checkers on a
   health path: ``/health`` (the checks probe each region's own custom domain name, where the
   stage is mapped at the root) or ``/<stage>/health`` (the execute-api host's path; both
   reach the same stage): throttling them would fail a healthy region over. They
   are recognised by address: the ``ROUTE53_HEALTHCHECKS`` ranges AWS publishes in
   https://ip-ranges.amazonaws.com/ip-ranges.json for the checker regions
   (``health_check.regions``), read by the ``aws_ip_ranges`` data source at every plan, so
   an apply keeps the IP sets current (AWS announces changes on the SNS topic
   ``arn:aws:sns:us-east-1:806199016981:AmazonIpSpaceChanged``). Anyone else on
   ``/health`` is rate limited like any path.
2. ``body-size-limit`` (priority 1): a declared ``Content-Length`` over the functions'
   limit (1,228,800 bytes, functions/_store.py ``MAX_BODY_BYTES``) is blocked with the
   handlers' own 413 body. WAF cannot measure the body itself: for API Gateway it is handed
   only the first 16 KB (the default body inspection limit; 32/48/64 KB cost extra), and a
   size constraint on the body either sees at most that (oversize handling CONTINUE, so it
   never exceeds the limit) or matches every body over 16 KB (MATCH). A size constraint on
   the header would measure the header's text, so the rule matches the *number* with a
   regular expression. A body sent without Content-Length is left to the function's check.
3. ``aws-common`` (priority 2): AWSManagedRulesCommonRuleSet, with ``SizeRestrictions_BODY``
   set to count: it blocks every body over 8 KB, and items may be up to 400 KB.
4. ``aws-known-bad-inputs`` (priority 3): AWSManagedRulesKnownBadInputsRuleSet.

The managed rules inspect the first 16 KB of a body only (association_config says so
explicitly). The log keeps only the requests a rule blocked or counted (allowed requests are
the access log's job and most of WAF's log volume) and redacts the Authorization header: WAF
logs whole headers, and a bearer token is a credential.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from constructs import Construct

from modules.provider import aws

if TYPE_CHECKING:
    from cdktf_cdktf_provider_aws.provider import AwsProvider
    from cdktf_cdktf_provider_aws.wafv2_ip_set import Wafv2IpSet

    from modules.config.sections import WafConfig
    from modules.naming import Naming

from functions.schema import MAX_BODY_BYTES

RATE_WINDOW_SECONDS = 300
BODY_INSPECTION_LIMIT = "KB_16"
# Content-Length values above MAX_BODY_BYTES (1,228,800): eight or more digits, or seven
# digits from 1228801 up. Leading zeros allowed. tests/synth checks it against numbers.
CONTENT_LENGTH_OVER_LIMIT = (
    r"^0*([1-9][0-9]{7,}|[2-9][0-9]{6}|1[3-9][0-9]{5}|12[3-9][0-9]{4}|1229[0-9]{3}"
    r"|12289[0-9]{2}|12288[1-9][0-9]|122880[1-9])$"
)
TOO_LARGE_BODY_KEY = "body-too-large"
TOO_LARGE_BODY = json.dumps(
    {
        "error": {
            "code": "BodyTooLarge",
            "message": f"the body is over {MAX_BODY_BYTES} bytes, more than any storable item takes as JSON",
        }
    }
)
# Keep what a rule blocked or counted, drop the rest.
LOGGING_FILTER = {
    "default_behavior": "DROP",
    "filter": [
        {
            "behavior": "KEEP",
            "requirement": "MEETS_ANY",
            "condition": [{"action_condition": {"action": action}} for action in ("BLOCK", "COUNT")],
        }
    ],
}
RATE_LIMITED_BODY_KEY = "rate-limited"
RATE_LIMITED_BODY = json.dumps({"message": "Too Many Requests"})


@dataclass(frozen=True, kw_only=True)
class RegionalWafProps:
    """``stage_arn``: the stage the web ACL protects; ``health_paths``: ``/health`` (through the
    custom domain) and ``/<stage>/health``, exempt from the rate rule for Route53's checkers in
    ``checker_regions``; ``kms_key_arn``
    for its log group (retention: ``waf_config.log_retention_days``)."""

    provider: AwsProvider
    region: str
    naming: Naming
    stage_arn: str
    health_paths: tuple[str, ...]
    waf_config: WafConfig
    kms_key_arn: str
    checker_regions: tuple[str, ...]


def _visibility(name: str) -> dict:
    return {"cloudwatch_metrics_enabled": True, "metric_name": name, "sampled_requests_enabled": True}


def _managed(name: str, priority: int, overrides: tuple[str, ...] = ()) -> dict:
    statement: dict = {"vendor_name": "AWS", "name": name}
    if overrides:
        statement["rule_action_override"] = [{"name": rule, "action_to_use": {"count": {}}} for rule in overrides]
    return {
        "name": name,
        "priority": priority,
        "override_action": {"none": {}},
        "statement": {"managed_rule_group_statement": statement},
        "visibility_config": _visibility(name),
    }


def health_regex(health_paths: tuple[str, ...]) -> str:
    """Exactly one of ``health_paths`` (e.g. ``^(/health|/v1/health)$``)."""
    return "^(" + "|".join(re.escape(path) for path in health_paths) + ")$"


def rules(rate_limit: int, health_paths: tuple[str, ...], checker_ip_set_arn: str) -> list[dict]:
    """The web ACL's rules as Terraform JSON (see the module doc). ``checker_ip_set_arn``:
    the IP set of Route53's health checkers. The rate rule counts a request unless it is on
    a health path *and* from a checker: not health or not a checker (the provider nests
    statements only so deep)."""
    # One regular expression over both paths: an or_statement of byte matches would sit one
    # level deeper than provider 5.100's scope-down schema allows under not_statement
    # (terraform validate: No argument or block type is named "or_statement").
    health = {
        "regex_match_statement": {
            "field_to_match": {"uri_path": {}},
            "regex_string": health_regex(health_paths),
            "text_transformation": [{"priority": 0, "type": "NONE"}],
        }
    }
    checker = {"ip_set_reference_statement": {"arn": checker_ip_set_arn}}
    not_health = {
        "or_statement": {"statement": [{"not_statement": {"statement": match}} for match in (health, checker)]}
    }
    return [
        {
            "name": "rate-limit-per-ip",
            "priority": 0,
            "action": {
                "block": {"custom_response": {"response_code": 429, "custom_response_body_key": RATE_LIMITED_BODY_KEY}}
            },
            "statement": {
                "rate_based_statement": {
                    "limit": rate_limit,
                    "aggregate_key_type": "IP",
                    "evaluation_window_sec": RATE_WINDOW_SECONDS,
                    "scope_down_statement": not_health,
                }
            },
            "visibility_config": _visibility("rate-limit-per-ip"),
        },
        {
            "name": "body-size-limit",
            "priority": 1,
            "action": {
                "block": {"custom_response": {"response_code": 413, "custom_response_body_key": TOO_LARGE_BODY_KEY}}
            },
            "statement": {
                "regex_match_statement": {
                    "regex_string": CONTENT_LENGTH_OVER_LIMIT,
                    "field_to_match": {"single_header": {"name": "content-length"}},
                    "text_transformation": [{"priority": 0, "type": "NONE"}],
                }
            },
            "visibility_config": _visibility("body-size-limit"),
        },
        _managed("AWSManagedRulesCommonRuleSet", 2, overrides=("SizeRestrictions_BODY",)),
        _managed("AWSManagedRulesKnownBadInputsRuleSet", 3),
    ]


class RegionalWaf(Construct):
    """Exposes ``web_acl`` and ``log_group``."""

    def __init__(self, scope: Construct, id_: str, props: RegionalWafProps) -> None:
        super().__init__(scope, id_)
        name = props.naming.name("api", props.region)
        self.web_acl = aws.wafv2_web_acl.Wafv2WebAcl(
            self,
            "web_acl",
            provider=props.provider,
            name=name,
            scope="REGIONAL",
            description=f"{props.naming.prefix} API in {props.region}",
            default_action=aws.wafv2_web_acl.Wafv2WebAclDefaultAction(allow={}),
            visibility_config=aws.wafv2_web_acl.Wafv2WebAclVisibilityConfig(**_visibility(name)),
        )
        checkers = self._checker_ip_set(name, props)
        self.web_acl.add_override("rule", rules(props.waf_config.rate_limit, props.health_paths, checkers.arn))
        self.web_acl.add_override(
            "custom_response_body",
            [
                {"key": TOO_LARGE_BODY_KEY, "content_type": "APPLICATION_JSON", "content": TOO_LARGE_BODY},
                {"key": RATE_LIMITED_BODY_KEY, "content_type": "APPLICATION_JSON", "content": RATE_LIMITED_BODY},
            ],
        )
        self.web_acl.add_override(
            "association_config",
            {"request_body": [{"api_gateway": [{"default_size_inspection_limit": BODY_INSPECTION_LIMIT}]}]},
        )
        aws.wafv2_web_acl_association.Wafv2WebAclAssociation(
            self, "association", provider=props.provider, resource_arn=props.stage_arn, web_acl_arn=self.web_acl.arn
        )
        # WAF logs only to log groups whose name starts with aws-waf-logs-.
        self.log_group = aws.cloudwatch_log_group.CloudwatchLogGroup(
            self,
            "logs",
            provider=props.provider,
            name=f"aws-waf-logs-{name}",
            retention_in_days=props.waf_config.log_retention_days,
            kms_key_id=props.kms_key_arn,
        )
        logging = aws.wafv2_web_acl_logging_configuration.Wafv2WebAclLoggingConfiguration(
            self,
            "logging",
            provider=props.provider,
            resource_arn=self.web_acl.arn,
            log_destination_configs=[self.log_group.arn],
        )
        logging.add_override("redacted_fields", [{"single_header": {"name": "authorization"}}])
        logging.add_override("logging_filter", LOGGING_FILTER)

    def _checker_ip_set(self, name: str, props: RegionalWafProps) -> Wafv2IpSet:
        """Route53's health checkers' published IPv4 ranges (module doc): a check of a domain
        name connects over IPv4."""
        ranges = aws.data_aws_ip_ranges.DataAwsIpRanges(
            self,
            "route53_checker_ranges",
            provider=props.provider,
            services=["route53_healthchecks"],
            regions=list(props.checker_regions),
        )
        return aws.wafv2_ip_set.Wafv2IpSet(
            self,
            "route53_checkers",
            provider=props.provider,
            name=f"{name}-route53-checkers",
            description="Route53 health checkers (ip-ranges.json, ROUTE53_HEALTHCHECKS)",
            scope="REGIONAL",
            ip_address_version="IPV4",
            addresses=ranges.cidr_blocks,
        )
