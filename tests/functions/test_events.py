"""The fixture events are what API Gateway sends: every field of AWS's published REST proxy
event (tests/functions/events/aws/), and the two header maps (and the two query-string
maps) saying the same thing, as API Gateway fills them."""

import json

import pytest
from _events import EVENTS, FIXTURE_EVENTS, add_header

AWS_SAMPLE = json.loads((EVENTS / "aws" / "rest_proxy_input.json").read_text())
FIXTURES = {name: json.loads((EVENTS / f"{name}.json").read_text()) for name in FIXTURE_EVENTS}


def test_every_fixture_file_is_checked_here():
    assert {path.stem for path in EVENTS.glob("*.json")} == set(FIXTURES)


@pytest.mark.parametrize("name", FIXTURE_EVENTS)
def test_a_fixture_has_every_field_of_the_aws_sample(name):
    fixture = FIXTURES[name]
    assert set(AWS_SAMPLE) - set(fixture) == set()
    assert set(AWS_SAMPLE["requestContext"]) - set(fixture["requestContext"]) == set()


@pytest.mark.parametrize(
    ("single", "multi"),
    [("headers", "multiValueHeaders"), ("queryStringParameters", "multiValueQueryStringParameters")],
)
@pytest.mark.parametrize("name", FIXTURE_EVENTS)
def test_both_maps_agree(name, single, multi):
    """Each value of the single-value map is the last of that name's values in the
    multi-value map, and each name of one map is in the other (both null when empty)."""
    fixture = FIXTURES[name]
    assert (fixture[single] is None) == (fixture[multi] is None)
    if fixture[single] is None:
        return
    assert set(fixture[single]) == set(fixture[multi])
    for key, value in fixture[single].items():
        assert isinstance(fixture[multi][key], list) and fixture[multi][key][-1] == value, key


def test_a_fixture_is_for_the_method_and_resource_it_names():
    for name, fixture in FIXTURES.items():
        context = fixture["requestContext"]
        assert (context["httpMethod"], context["resourcePath"]) == (fixture["httpMethod"], fixture["resource"]), name
        assert context["path"] == f"/{context['stage']}{fixture['path']}", name


def test_add_header_keeps_both_maps_as_api_gateway_fills_them():
    request = json.loads(json.dumps(FIXTURES["get_item"]))
    add_header(request, "Origin", "https://a.example.com")
    add_header(request, "Origin", "https://b.example.com")

    assert request["headers"]["Origin"] == "https://b.example.com"
    assert request["multiValueHeaders"]["Origin"] == ["https://a.example.com", "https://b.example.com"]
