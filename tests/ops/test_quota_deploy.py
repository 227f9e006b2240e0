"""`make deploy ENV=<env>` checks the account's Lambda concurrency quota before Terraform
(ops/deploy.py, ops/quota.py): real Lambda clients answered by botocore's Stubber."""

from __future__ import annotations

import io

import boto3
import pytest
from botocore.stub import Stubber

from ops import deploy


def lambda_clients(answers: dict[str, tuple[int, int] | str]):
    """region -> a Lambda client answering GetAccountSettings once with (quota, unreserved),
    or with the error code given."""
    clients, stubs = {}, []
    for region, answer in answers.items():
        client = boto3.client(
            "lambda", region_name=region, aws_access_key_id="testing", aws_secret_access_key="testing"
        )
        stub = Stubber(client)
        if isinstance(answer, str):
            stub.add_client_error("get_account_settings", service_error_code=answer, http_status_code=403)
        else:
            quota, unreserved = answer
            stub.add_response(
                "get_account_settings",
                {"AccountLimit": {"ConcurrentExecutions": quota, "UnreservedConcurrentExecutions": unreserved}},
                {},
            )
        stub.activate()
        clients[region] = client
        stubs.append(stub)
    return clients.__getitem__, stubs


def test_a_short_quota_stops_make_deploy_with_the_numbers_before_synth_and_terraform(tmp_path):
    config = deploy.load_config("dev")
    first, second = config.regions
    client_for, stubs = lambda_clients({first: (1000, 1000), second: (50, 40)})
    out = io.StringIO()
    with pytest.raises(deploy.DeployError) as raised:
        deploy.deploy_real(
            config, tmp_path / "cdktf.out", tmp_path / "logs", auto_approve=True, out=out, lambda_client_for=client_for
        )
    message = str(raised.value)
    assert f"{second}: the account's Lambda concurrency quota is 50 (40 unreserved now)" in message
    assert "backend-dev reserves 28 there" in message and "128 needed" in message
    assert f"{first}:" not in message
    for stub in stubs:
        stub.assert_no_pending_responses()  # every region was asked
    assert not (tmp_path / "cdktf.out").exists(), "nothing synthesized"
    assert not (tmp_path / "logs").exists(), "Terraform never started (it logs every step there)"
    assert "[1/4] quota: Lambda concurrency" in out.getvalue()


def test_enough_quota_prints_each_regions_numbers():
    config = deploy.load_config("dev")
    client_for, _ = lambda_clients(dict.fromkeys(config.regions, (1000, 900)))
    out = io.StringIO()
    deploy.check_lambda_quota(config, client_for, out)
    lines = out.getvalue().splitlines()
    assert [line.split(":")[0].strip() for line in lines] == list(config.regions)
    assert all("quota is 1000 (900 unreserved now)" in line and "128 needed" in line for line in lines)


def test_a_quota_that_cannot_be_read_stops_naming_the_call():
    config = deploy.load_config("dev")
    client_for, _ = lambda_clients(dict.fromkeys(config.regions, "AccessDeniedException"))
    with pytest.raises(deploy.DeployError, match=r"lambda:GetAccountSettings.*AccessDeniedException"):
        deploy.check_lambda_quota(config, client_for, io.StringIO())
