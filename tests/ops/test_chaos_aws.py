"""make chaos ENV=<env>'s AWS calls (ops/chaos_aws.py), with botocore's Stubber: the template is
found by its tags across pages; starting goes through chaostoolkit-aws; a stop FIS made itself
(a stop condition) names the alarm in ALARM; the rollback stops an experiment still running,
and leaves an ended one alone; the Chaos Toolkit experiment files run these providers and
stop the experiment in their rollback when the method fails."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

import boto3
import pytest
from botocore.stub import Stubber
from chaoslib.experiment import ensure_experiment_is_valid, run_experiment  # type: ignore[import-untyped]

from ops import chaos_aws, chaos_load
from ops.chaos_aws import AwsEndpoints
from ops.chaos_load import Request, Run

if TYPE_CHECKING:
    from pathlib import Path

REGION, ENV = "eu-west-1", "staging"
ALARM = f"items-{ENV}-api-5xx-{REGION}"
ALARM_ARN = f"arn:aws:cloudwatch:{REGION}:222222222222:alarm:{ALARM}"
STARTED_TAGS = {"chaos-experiment": "fis-lambda-errors", "environment": ENV}


def client(service: str):
    return boto3.client(
        service, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
    )  # never sends: every call is stubbed


class StubbedSession(boto3.session.Session):
    """boto3's default session, whose clients (as chaostoolkit-aws makes them) are the stubbed ones."""

    def __init__(self, clients: dict) -> None:
        super().__init__(region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")
        self.stubbed = clients

    def client(self, service_name, *args, **kwargs):  # type: ignore[override]
        return self.stubbed[service_name]


@pytest.fixture
def aws(monkeypatch):
    """(fis stubber, cloudwatch stubber), installed where chaostoolkit-aws gets its clients."""
    fis, cloudwatch = client("fis"), client("cloudwatch")
    stubs = Stubber(fis), Stubber(cloudwatch)
    for stub in stubs:
        stub.activate()
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", StubbedSession({"fis": fis, "cloudwatch": cloudwatch}))
    chaos_aws.reset()
    yield stubs
    chaos_aws.reset()
    for stub in stubs:
        stub.assert_no_pending_responses()
        stub.deactivate()


def template(template_id: str, environment: str, experiment: str) -> dict:
    return {"id": template_id, "tags": {"environment": environment, "chaos-experiment": experiment}}


def listed(fis: Stubber, found: str = "EXTlambdaerrors1") -> None:
    fis.add_response(
        "list_experiment_templates",
        {"experimentTemplates": [template("EXTprod", "prod", "fis-lambda-errors")], "nextToken": "page-2"},
        {},
    )
    fis.add_response(
        "list_experiment_templates",
        {
            "experimentTemplates": [
                template(found, ENV, "fis-lambda-errors"),
                template("EXTpause", ENV, "fis-replication-pause"),
            ]
        },
        {"nextToken": "page-2"},
    )


def state(fis: Stubber, status: str, reason: str = "") -> None:
    fis.add_response(
        "get_experiment", {"experiment": {"id": "EXP1", "state": {"status": status, "reason": reason}}}, {"id": "EXP1"}
    )


def started(fis: Stubber) -> None:
    listed(fis)
    fis.add_response(
        "start_experiment",
        {"experiment": {"id": "EXP1", "state": {"status": "initiating"}}},
        {"experimentTemplateId": "EXTlambdaerrors1", "tags": STARTED_TAGS},
    )


def test_the_template_is_found_by_its_tags_across_pages(aws):
    fis, _ = aws
    listed(fis)
    assert chaos_aws.find_template(client_of("fis"), ENV, "fis-lambda-errors") == "EXTlambdaerrors1"


def client_of(service: str):
    return boto3.DEFAULT_SESSION.client(service)


def test_no_template_or_two_is_an_error(aws):
    fis, _ = aws
    fis.add_response("list_experiment_templates", {"experimentTemplates": []}, {})
    with pytest.raises(RuntimeError, match=r"0 FIS templates tagged environment=staging"):
        chaos_aws.find_template(client_of("fis"), ENV, "fis-lambda-errors")
    twice = [template("EXTa", ENV, "fis-lambda-errors"), template("EXTb", ENV, "fis-lambda-errors")]
    fis.add_response("list_experiment_templates", {"experimentTemplates": twice}, {})
    with pytest.raises(RuntimeError, match=r"2 FIS templates .* \(expected exactly one"):
        chaos_aws.find_template(client_of("fis"), ENV, "fis-lambda-errors")


def test_a_stop_condition_ends_it_and_the_alarm_in_alarm_is_named(aws):
    fis, cloudwatch = aws
    started(fis)
    state(fis, "running")
    state(fis, "stopped", "Experiment stopped by a stop condition")
    fis.add_response(
        "get_experiment_template",
        {
            "experimentTemplate": {
                "id": "EXTlambdaerrors1",
                "stopConditions": [{"source": "aws:cloudwatch:alarm", "value": ALARM_ARN}],
            }
        },
        {"id": "EXTlambdaerrors1"},
    )
    cloudwatch.add_response(
        "describe_alarms", {"MetricAlarms": [{"AlarmName": ALARM, "StateValue": "ALARM"}]}, {"AlarmNames": [ALARM]}
    )
    assert chaos_aws.start_fis("fis-lambda-errors", ENV, REGION) == {
        "id": "EXP1",
        "template": "EXTlambdaerrors1",
        "status": "initiating",
    }
    outcome = chaos_aws.wait_fis(timeout_s=60, poll_s=0)
    assert outcome == {"status": "stopped", "reason": "Experiment stopped by a stop condition", "alarms": [ALARM]}
    state(fis, "stopped")
    assert chaos_aws.stop_fis() == {"stopped": False, "status": "stopped"}  # the rollback leaves it be


def test_the_rollback_stops_an_experiment_still_running(aws):
    fis, _ = aws
    started(fis)
    chaos_aws.start_fis("fis-lambda-errors", ENV, REGION)
    state(fis, "running")
    fis.add_response("stop_experiment", {"experiment": {"id": "EXP1", "state": {"status": "stopping"}}}, {"id": "EXP1"})
    assert chaos_aws.stop_fis() == {"stopped": True, "status": "running"}


def test_without_a_started_experiment_the_rollback_does_nothing(aws):
    assert chaos_aws.stop_fis() == {"stopped": False, "reason": "no experiment started"}


@pytest.mark.parametrize("name", chaos_aws.experiment_names())
def test_every_aws_experiment_is_valid_and_stops_fis_in_its_rollback(name):
    experiment = json.loads((chaos_aws.EXPERIMENTS / f"{name}.json").read_text())
    ensure_experiment_is_valid(experiment)
    assert [a["provider"]["func"] for a in experiment["rollbacks"]] == ["stop_fis"]
    start = experiment["method"][0]["provider"]
    assert (start["module"], start["func"], start["arguments"]["experiment"]) == ("ops.chaos_aws", "start_fis", name)


def test_through_chaos_toolkit_a_method_that_times_out_is_rolled_back(aws, tmp_path: Path):
    """The experiment file as make chaos runs it: FIS still running when the wait gives up, so
    the rollback stops it; the hypothesis reads the load recorded through the global name."""
    fis, _ = aws
    run = Run(AwsEndpoints(global_url="https://api", regions=(REGION,), table_name="t"), tmp_path, 1.0, None)
    now = time.time()
    run.requests += [Request(now - 30 + i * 0.2, "read", 200, REGION, 0.05, f"i{i}") for i in range(100)]
    chaos_load.set_current(run)
    try:
        started(fis)
        state(fis, "running")  # the wait's only look: its time is up
        state(fis, "running")  # the rollback's
        fis.add_response(
            "stop_experiment", {"experiment": {"id": "EXP1", "state": {"status": "stopping"}}}, {"id": "EXP1"}
        )
        experiment = json.loads((chaos_aws.EXPERIMENTS / "fis-lambda-errors.json").read_text())
        experiment["configuration"] = {
            "environment": ENV,
            "primary_region": REGION,
            "fis_timeout_s": 0,
            "max_error_percent": 1.0,
            "max_p99_ms": 2000,
        }
        journal = run_experiment(experiment, settings={})
    finally:
        chaos_load.set_current(None)
    assert [r["activity"]["name"] for r in journal["rollbacks"]] == ["stop-the-fis-experiment"]
    assert journal["rollbacks"][0]["output"] == {"stopped": True, "status": "running"}
    assert journal["run"][1]["status"] == "failed"  # the wait gave up on a running experiment
    assert [w.kind for w in run.faults] == ["fis"]
