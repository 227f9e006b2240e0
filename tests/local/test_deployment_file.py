"""The deployment file: what is required, each field's type, loopback only, the typed round trip, and the
smoke tool reading it."""

from __future__ import annotations

import json
from pathlib import Path

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


EVERY_FIELD = {
    "regions": {
        "eu-west-1": {
            **REGIONS["eu-west-1"],
            "health_check_id": "hc-west",
            "routing_health_check_id": "routing-west",
            "alarm_check": {
                "id": "alarm-west",
                "alarm_name": "items-local-api-5xx-eu-west-1",
                "alarm_region": "eu-west-1",
                "insufficient_data_health_status": None,
            },
            "guard_checks": [
                {
                    "id": "floor-west",
                    "alarm_name": "items-local-floor-eu-west-1",
                    "alarm_region": "eu-west-1",
                    "insufficient_data_health_status": "Healthy",
                }
            ],
        }
    },
    "table_name": "items-local-items",
    "latency_order": ["eu-west-1"],
    "time_scale": 0.5,
    "auth": {
        "issuer": "http://127.0.0.1:8/",
        "audience": "items-local",
        "key_dir": "/keys",
        "token_command": "make -s token",
    },
    "url_bases": {"api_url": "with its stage", "global_url": "no stage"},
    "global_url": "http://127.0.0.1:7",
    "dns": {"zone_name": "items.test", "record_name": "api.items.test"},
}


def test_every_field_round_trips_typed(tmp_path):
    more = {name: value for name, value in EVERY_FIELD.items() if name != "regions"}
    written = deployment_file.build(
        "http://127.0.0.1:5000", "123456789012", tmp_path / "stack", EVERY_FIELD["regions"], **more
    )
    deployment_file.write(tmp_path / "deployment.json", written)
    loaded = deployment_file.load(tmp_path / "deployment.json")
    assert loaded.as_json() == json.loads((tmp_path / "deployment.json").read_text()) == written
    assert loaded.stack_dir == tmp_path / "stack" and loaded.auth is not None and loaded.auth.key_dir == Path("/keys")
    west = loaded.regions["eu-west-1"]
    assert west.alarm_check is not None and west.alarm_check.insufficient_data_health_status is None
    assert west.guard_checks is not None and west.guard_checks[0].id == "floor-west"
    assert loaded.latency_order == ("eu-west-1",) and loaded.time_scale == 0.5
    assert loaded.dns == deployment_file.DnsName(zone_name="items.test", record_name="api.items.test")


def test_an_older_file_loads_with_its_later_fields_absent_and_unknown_fields_are_ignored(tmp_path):
    written = deployment_file.build("http://127.0.0.1:5000", "123456789012", tmp_path / "stack", REGIONS)
    written["a_later_field"] = {"anything": 1}
    deployment_file.write(tmp_path / "deployment.json", written)
    loaded = deployment_file.load(tmp_path / "deployment.json")
    assert (loaded.global_url, loaded.auth, loaded.table_name, loaded.regions["eu-west-1"].health_check_id) == (
        None,
        None,
        None,
        None,
    )
    assert "a_later_field" not in loaded.as_json()
    with pytest.raises(deployment_file.DeploymentFileError) as refused:
        loaded.require(("global_url", "dns", "table_name"), "the global router")
    assert str(refused.value) == (
        f"{tmp_path / 'deployment.json'}: the global router needs global_url, dns, table_name"
        " (deploy again with `make deploy`)"
    )
    with pytest.raises(deployment_file.DeploymentFileError, match="the drill needs time_scale"):
        loaded.needed(loaded.time_scale, "time_scale", "the drill")


@pytest.mark.parametrize(
    "change, message",
    [
        ({"emulator_url": "http://10.0.0.1:5000"}, "not on loopback"),
        ({"account_id": "1234"}, "not 12 digits"),
        ({"regions": {"eu-west-1": {**REGIONS["eu-west-1"], "api_url": "http://example.com/v1"}}}, "not on loopback"),
        ({"regions": {"eu-west-1": {"api_url": "http://127.0.0.1:9/v1"}}}, "lacks rest_api_id, stage, functions"),
        ({"auth": {"issuer": "http://127.0.0.1:8/"}}, "auth lacks audience, key_dir"),
    ],
)
def test_bad_files_are_refused_with_the_reason(tmp_path, change, message):
    deployment = {**deployment_file.build("http://127.0.0.1:5000", "123456789012", tmp_path, REGIONS), **change}
    (tmp_path / "deployment.json").write_text(json.dumps(deployment))
    with pytest.raises(deployment_file.DeploymentFileError, match=message):
        deployment_file.load(tmp_path / "deployment.json")


@pytest.mark.parametrize(
    "change, message",
    [
        ({"account_id": 123456789012}, "account_id is 123456789012, expected a string"),
        ({"stack_dir": ["a"]}, r"stack_dir is \['a'\], expected a string"),
        ({"regions": ["eu-west-1"]}, r"regions is \['eu-west-1'\], expected an object"),
        (
            {"regions": {"eu-west-1": "http://127.0.0.1:9/v1"}},
            "regions.eu-west-1 is 'http://127.0.0.1:9/v1', expected a JSON object",
        ),
        (
            {"regions": {"eu-west-1": {**REGIONS["eu-west-1"], "stage": 1}}},
            "regions.eu-west-1.stage is 1, expected a string",
        ),
        (
            {"regions": {"eu-west-1": {**REGIONS["eu-west-1"], "functions": {"health": None}}}},
            r"regions.eu-west-1.functions is \{'health': None\}, expected an object of strings",
        ),
        (
            {"regions": {"eu-west-1": {**REGIONS["eu-west-1"], "guard_checks": [{"id": 1}]}}},
            r"regions.eu-west-1.guard_checks\[0\].id is 1, expected a string",
        ),
        ({"time_scale": "fast"}, "time_scale is 'fast', expected a number"),
        ({"time_scale": True}, "time_scale is True, expected a number"),
        ({"latency_order": "eu-west-1"}, "latency_order is 'eu-west-1', expected a list of strings"),
        ({"global_url": 7}, "global_url is 7, expected a string"),
        ({"dns": {"zone_name": "items.test", "record_name": None}}, "dns.record_name is None, expected a string"),
        ({"auth": {"issuer": "http://127.0.0.1:8/", "audience": ["a"], "key_dir": "/k"}}, "auth.audience is"),
        ({"url_bases": {"api_url": 1}}, r"url_bases is \{'api_url': 1\}, expected an object of strings"),
    ],
)
def test_a_field_of_the_wrong_type_is_refused_naming_field_value_and_type(tmp_path, change, message):
    deployment = {**deployment_file.build("http://127.0.0.1:5000", "123456789012", tmp_path, REGIONS), **change}
    (tmp_path / "deployment.json").write_text(json.dumps(deployment))
    with pytest.raises(deployment_file.DeploymentFileError, match=f"^{tmp_path / 'deployment.json'}: {message}"):
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
