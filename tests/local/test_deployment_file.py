"""The deployment file: what is required, loopback only, and the smoke tool reading it."""

from __future__ import annotations

import json

import pytest

from local import deployment_file
from local.lambda_runtime import load_handler
from ops import smoke

REGIONS = {
    "eu-west-1": {
        "api_url": "http://127.0.0.1:9/v1",
        "rest_api_id": "abc",
        "stage": "v1",
        "functions": {name: f"items-local-{name}" for name in deployment_file.FUNCTIONS},
    }
}


def test_round_trip_and_unknown_fields_are_kept(tmp_path):
    written = deployment_file.build("http://127.0.0.1:5000", "123456789012", tmp_path / "stack", REGIONS)
    written["global_url"] = "http://127.0.0.1:7/"  # a later field
    deployment_file.write(tmp_path / "deployment.json", written)
    assert deployment_file.load(tmp_path / "deployment.json") == json.loads(json.dumps(written))


@pytest.mark.parametrize(
    "change, message",
    [
        ({"emulator_url": "http://10.0.0.1:5000"}, "not on loopback"),
        ({"account_id": "1234"}, "not 12 digits"),
        ({"regions": {"eu-west-1": {**REGIONS["eu-west-1"], "api_url": "http://example.com/v1"}}}, "not on loopback"),
        ({"regions": {"eu-west-1": {"api_url": "http://127.0.0.1:9/v1"}}}, "lacks rest_api_id, stage, functions"),
    ],
)
def test_bad_files_are_refused_with_the_reason(tmp_path, change, message):
    deployment = {**deployment_file.build("http://127.0.0.1:5000", "123456789012", tmp_path, REGIONS), **change}
    (tmp_path / "deployment.json").write_text(json.dumps(deployment))
    with pytest.raises(deployment_file.DeploymentFileError, match=message):
        deployment_file.load(tmp_path / "deployment.json")


def test_smoke_reads_every_region_from_the_file(tmp_path):
    deployment_file.write(
        tmp_path / "d.json",
        deployment_file.build(
            "http://127.0.0.1:5000",
            "123456789012",
            tmp_path,
            {**REGIONS, "eu-central-1": {**REGIONS["eu-west-1"], "api_url": "http://127.0.0.1:10/v1"}},
        ),
    )
    parser = smoke.argparse.ArgumentParser()
    args = smoke.argparse.Namespace(deployment=tmp_path / "d.json", url=["us-east-1=http://127.0.0.1:11/v1"])
    assert smoke.urls_from_arguments(parser, args) == {
        "eu-west-1": "http://127.0.0.1:9/v1",
        "eu-central-1": "http://127.0.0.1:10/v1",
        "us-east-1": "http://127.0.0.1:11/v1",
    }
    with pytest.raises(SystemExit):
        smoke.main([])


def test_the_runtime_refuses_a_handler_found_outside_the_deployed_code(tmp_path):
    with pytest.raises(ImportError, match="not from the deployed code"):
        load_handler("json.dumps", str(tmp_path))
