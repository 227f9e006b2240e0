"""Quotas before apply (ops/quota.py, ops/pipeline.py): with botocore's Stubber on real
Lambda clients, the check stops with the numbers before Terraform runs."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from ops import pipeline
from ops.quota import QuotaError, require_lambda_concurrency


def stubbed(quotas: dict[str, tuple[int, int]]):
    """region -> a Lambda client answering GetAccountSettings with (quota, unreserved) once."""
    clients, stubs = {}, []
    for region, (quota, unreserved) in quotas.items():
        client = boto3.client(
            "lambda", region_name=region, aws_access_key_id="testing", aws_secret_access_key="testing"
        )
        stub = Stubber(client)
        stub.add_response(
            "get_account_settings",
            {"AccountLimit": {"ConcurrentExecutions": quota, "UnreservedConcurrentExecutions": unreserved}},
            {},
        )
        stub.activate()
        clients[region], stubs = client, [*stubs, stub]
    return clients.__getitem__, stubs


def test_prod_fits_an_account_with_the_usual_quota(environment_configs):
    prod = environment_configs["prod"]
    client_for, stubs = stubbed({region: (1000, 1000) for region in prod.regions})
    found = require_lambda_concurrency(prod, client_for)
    # 3 item functions x 200 + 10 for health, plus the 100 Lambda keeps unreserved
    assert [(r.region, r.reserved, r.needed) for r in found] == [(region, 628, 728) for region in prod.regions]
    for stub in stubs:
        stub.assert_no_pending_responses()


def test_a_region_below_the_reservations_stops_with_the_numbers(environment_configs):
    prod = environment_configs["prod"]
    quotas = {region: (1000, 1000) for region in prod.regions} | {"ap-southeast-1": (400, 400)}
    client_for, _ = stubbed(quotas)
    with pytest.raises(QuotaError) as err:
        require_lambda_concurrency(prod, client_for)
    message = str(err.value)
    assert "ap-southeast-1: the account's Lambda concurrency quota is 400 (400 unreserved now)" in message
    assert "backend-prod reserves 628 there" in message and "728 needed" in message and "L-B99A9384" in message
    assert "eu-west-1:" not in message


def test_dev_needs_health_plus_the_unreserved_minimum(environment_configs):
    """A new account's quota of 10 cannot hold even health's 28 and Lambda's 100."""
    dev = environment_configs["dev"]
    client_for, _ = stubbed({region: (10, 10) for region in dev.regions})
    with pytest.raises(QuotaError, match="quota is 10 .*reserves 28 there.*128 needed"):
        require_lambda_concurrency(dev, client_for)


def test_the_pipeline_stops_before_terraform_and_skips_the_emulator(environment_configs):
    dev = environment_configs["dev"]
    client_for, _ = stubbed({region: (10, 10) for region in dev.regions})
    with pytest.raises(pipeline.PipelineError, match="nothing applied"):
        pipeline.check_quotas(dev, client_for)
    pipeline.check_quotas(environment_configs["local"], client_for=None)  # no AWS call at all
