"""What AWS allows and what it sets, as the environment files' rules need them: the regions,
CloudWatch Logs' retention values, Lambda's runtime dates and concurrency rules, Route53's
checker regions, S3's name limit, and the health route's reservation they add up to."""

from __future__ import annotations

import datetime

# Commercial AWS regions where DynamoDB global tables, API Gateway, Lambda and ACM all exist.
AWS_REGIONS: frozenset[str] = frozenset(
    {
        "us-east-1",
        "us-east-2",
        "us-west-1",
        "us-west-2",
        "af-south-1",
        "ap-east-1",
        "ap-south-1",
        "ap-south-2",
        "ap-southeast-1",
        "ap-southeast-2",
        "ap-southeast-3",
        "ap-southeast-4",
        "ap-southeast-5",
        "ap-southeast-7",
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-northeast-3",
        "ca-central-1",
        "ca-west-1",
        "eu-central-1",
        "eu-central-2",
        "eu-west-1",
        "eu-west-2",
        "eu-west-3",
        "eu-north-1",
        "eu-south-1",
        "eu-south-2",
        "il-central-1",
        "me-central-1",
        "me-south-1",
        "mx-central-1",
        "sa-east-1",
    }
)
# The values CloudWatch Logs accepts for retention_in_days.
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)
# AWS Lambda's deprecation dates of the Python runtimes: the "Supported runtimes" table of the
# Lambda Developer Guide, https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html
# (read 2026-12-05; AWS may move a date, update it here). After it, Lambda stops patching the
# runtime and soon blocks creating and updating functions on it.
RUNTIME_DEPRECATION = {
    "python3.11": datetime.date(2026, 6, 30),
    "python3.12": datetime.date(2028, 10, 31),
    "python3.13": datetime.date(2029, 6, 30),
}
# A runtime deprecated within this many days is refused (about 6 months).
RUNTIME_NOTICE_DAYS = 183
# API Gateway's integration timeout is 29 s; a Lambda that runs longer only burns money.
MAX_LAMBDA_TIMEOUT = 29
# The weights a region may get with weighted routing.
MIN_WEIGHT, MAX_WEIGHT = 1, 255
# Lambda refuses a reservation that leaves fewer than 100 concurrent executions of the
# account's regional quota unreserved (for the functions without a reservation).
MIN_UNRESERVED_CONCURRENCY = 100
# Where Route53 may run health checkers (HealthCheckConfig.Regions, Route53 API reference)
# and how many of those regions a check must use at least.
ROUTE53_CHECKER_REGIONS = (
    "us-east-1",
    "us-west-1",
    "us-west-2",
    "eu-west-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-northeast-1",
    "sa-east-1",
)
MIN_CHECKER_REGIONS = 3
DEFAULT_CHECKER_REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-1")
# Route53 does not publish how many checkers probe from each region; about 15-16 over its 8
# default regions is what AWS describes (2 a region), so 3 a region is the margin assumed.
CHECKERS_PER_REGION = 3
# Route53 HTTPS checks on each region's /health: one per signal check of its routing check,
# 3 with an authorizer (rate, traffic floor, authorizer), 2 without; sized for the most
# (modules/constructs/global_routing.py). Each is probed by every checker.
HTTPS_CHECKS_PER_REGION = 3
# One more concurrent execution for an operator's or the smoke step's own probe.
OPERATOR_HEALTH_PROBES = 1
# /health reserves this much, so item traffic can never throttle the health checks (a
# throttled check fails, and Route53 takes the region out). A check answers in at most ~1 s
# (the DynamoDB timeout), less than the 10 or 30 s interval, so each checker has at most one
# request in flight per check: 3 regions x 3 checkers x 3 HTTPS checks + 1 = 28. It is also a
# cap: more is throttled (docs/production-signals.md, "/health").
HEALTH_RESERVED_CONCURRENCY = (
    len(DEFAULT_CHECKER_REGIONS) * CHECKERS_PER_REGION * HTTPS_CHECKS_PER_REGION + OPERATOR_HEALTH_PROBES
)
# S3's limit on a bucket name.
MAX_BUCKET_NAME = 63
