"""The fault switches the chaos experiments flip (local/faults.py), against the real parts
that poll them: a server stops accepting during an outage and serves again after it; the
replicator (moto's server on 127.0.0.1, real streams) holds a region's records while it is
cut off, past its give-up deadline, and delivers them on recovery; faults expire by
themselves; invocation faults draw their share."""

from __future__ import annotations

import io
import random
import socket
import threading
import time
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from local import faults, replicator
from local.emulator import aws_client
from local.replicator import replicator_for
from tests.local.deployments import typed
from tests.local.moto_server import create_table

A, B = "eu-west-1", "eu-central-1"


def test_a_fault_is_in_force_until_it_expires_or_is_cleared(tmp_path):
    switches = faults.Faults(faults.path_for(tmp_path))
    assert not switches.region_down(A)
    outage = faults.inject(tmp_path, "region-outage", 0.3, region=A)
    assert switches.region_down(A) and not switches.region_down(B)
    assert switches.replication_blocked(A, B) and switches.replication_blocked(B, A)
    assert not switches.replication_blocked(A, A)
    time.sleep(0.35)
    assert not switches.region_down(A), "an expired fault is over even if nobody clears it"
    faults.inject(tmp_path, "replication-pause", 30, regions=[A, B])
    assert switches.replication_blocked(B, A)
    assert faults.clear(tmp_path) == 2 and not switches.replication_blocked(B, A)
    assert faults.clear(tmp_path, outage) == 0


def test_an_unknown_kind_or_a_fault_without_an_end_is_refused(tmp_path):
    with pytest.raises(ValueError, match="not one of"):
        faults.inject(tmp_path, "meteor", 10)
    with pytest.raises(ValueError, match="positive"):
        faults.inject(tmp_path, "issuer-outage", 0)


def test_invocation_faults_hit_their_share_of_the_named_functions_in_their_region(tmp_path):
    switches = faults.Faults(faults.path_for(tmp_path), rng=random.Random(7))
    faults.inject(tmp_path, "lambda-errors", 60, region=A, percentage=30, functions=["*-create-*"])
    faults.inject(tmp_path, "lambda-latency", 60, region=A, percentage=100, delay_ms=250)
    draws = [switches.invocation(A, "items-local-create-item-eu-west-1") for _ in range(2000)]
    share = sum(fail for fail, _ in draws) / len(draws)
    assert 0.25 < share < 0.35
    assert {delay for _, delay in draws} == {0.25}
    assert switches.invocation(A, "items-local-health-eu-west-1") == (False, 0.25)
    assert switches.invocation(B, "items-local-create-item-eu-central-1") == (False, 0.0)


class _Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as answer:
            return answer.status == 200
    except OSError:
        return False


def _until(predicate, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_a_server_refuses_connections_during_an_outage_and_serves_again_after(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    switches = faults.Faults(faults.path_for(tmp_path))
    stop = threading.Event()
    serving = threading.Thread(
        target=faults.serve_with_outages,
        args=(lambda: HTTPServer(("127.0.0.1", port), _Hello), lambda: switches.region_down(A), stop),
    )
    serving.start()
    try:
        assert _until(lambda: _answers(port))
        fault = faults.inject(tmp_path, "region-outage", 60, region=A)
        assert _until(lambda: not _answers(port))
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
        faults.clear(tmp_path, fault)
        assert _until(lambda: _answers(port)), "the same port serves again after recovery"
    finally:
        stop.set()
        serving.join(timeout=5)


def _item(item_id: str) -> dict:
    return {"item_id": {"S": item_id}, "v": {"S": "1"}}


def test_the_replicator_holds_a_cut_off_region_s_records_and_delivers_them_on_recovery(server, tmp_path, monkeypatch):
    table = f"items-{uuid.uuid4().hex[:8]}"
    for region in (A, B):
        create_table(server, region, table)
    clients = {region: aws_client("dynamodb", region, server) for region in (A, B)}
    switches = faults.Faults(faults.path_for(tmp_path))
    deployment = typed(server, {A: {}, B: {}}, table_name=table)
    replicating = replicator_for(deployment, io.StringIO(), switches)
    fault = faults.inject(tmp_path, "region-outage", 60, region=A)
    clients[A].put_item(TableName=table, Item=_item("from-a"))
    clients[B].put_item(TableName=table, Item=_item("from-b"))
    monkeypatch.setattr(replicator, "TASK_DEADLINE_S", 0.0)  # a held record is never given up
    for _ in range(5):
        replicating.step()

    def get(region: str, key: str):
        return clients[region].get_item(TableName=table, Key={"item_id": {"S": key}}).get("Item")

    assert get(B, "from-a") is None and get(A, "from-b") is None
    faults.clear(tmp_path, fault)
    for _ in range(5):
        replicating.step()
    assert get(B, "from-a") == _item("from-a") and get(A, "from-b") == _item("from-b")
