"""The Lambda faults in the runtime (local/execution_environment.py through local/faults.py),
against the local gateway serving real execution environments over moto's server (the
gateway tests' deployment): an invocation error is a function error (502) without running
the handler, only for the named functions and only while the fault lasts; an added delay
arrives on top of the handler's time, and past the function's timeout it is a timeout."""

from __future__ import annotations

import json
import time

import pytest
from moto.moto_api._internal.models import moto_api_backend

from local import faults
from tests.local import test_gateway
from tests.local.test_gateway import REGION, call


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    """The gateway tests' deployment. moto's servers in one process share their state, so
    it is emptied before and after (the gateway tests make the same names)."""
    moto_api_backend.reset()
    try:
        yield from test_gateway.deployed.__wrapped__(tmp_path_factory)
    finally:
        moto_api_backend.reset()


def _state_dir(fixture):
    _, _, log, _ = fixture
    return log.parent  # gateway_for(deployment, REGION, root, ...): root holds faults.json


def test_an_invocation_error_fails_the_named_function_without_running_it(deployed):
    _, url, log, _ = deployed
    state_dir = _state_dir(deployed)
    fault = faults.inject(state_dir, "lambda-errors", 30, region=REGION, percentage=100, functions=["echo"])
    try:
        before = log.read_text().count('"route": "GET /items/{item_id}"')
        status, body, _ = call(f"{url}/items/x")
        assert status == 502 and json.loads(body) == {"message": "Internal server error"}
        assert "InjectedFault" in log.read_text()
        assert call(f"{url}/noisy")[0] == 200, "another function is not named by the fault"
        assert log.read_text().count('"route": "GET /items/{item_id}"') == before + 1
    finally:
        faults.clear(state_dir, fault)
    assert call(f"{url}/items/x")[0] == 200


def test_an_added_delay_comes_on_top_and_past_the_timeout_is_a_timeout(deployed):
    _, url, _, _ = deployed
    state_dir = _state_dir(deployed)
    call(f"{url}/items/warm")  # an environment already started: the delay is all that is added
    faults.inject(state_dir, "lambda-latency", 30, region=REGION, percentage=100, delay_ms=400)
    try:
        started = time.monotonic()
        assert call(f"{url}/items/x")[0] == 200
        # The whole delay is a floor. (A warm call's time measured before is not: under make
        # test's load the rest of one call took 0.12 s after a baseline of 0.18 s.) That it comes
        # on top of the function's own time is the timeout below.
        assert time.monotonic() - started >= 0.4
        faults.inject(state_dir, "lambda-latency", 30, region=REGION, percentage=100, delay_ms=1500)
        status, body, _ = call(f"{url}/slow")  # a 1 s function timeout
        assert status == 502, body
    finally:
        faults.clear(state_dir)
    assert call(f"{url}/slow")[0] == 200, "without the delay the same function answers in time"
