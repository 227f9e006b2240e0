"""The replicator over the emulator's real replica tables (created with UpdateTable
ReplicaUpdates, as the AWS provider's aws_dynamodb_table_replica creates them), served by the
emulator's own application on 127.0.0.1: writes reach the other member both ways, the items
the emulator copied into a new replica are not replicated in circles, and a replica deleted
and created again is read from its new stream."""

from __future__ import annotations

import io
import threading
import uuid
from typing import TYPE_CHECKING

import pytest
from werkzeug.serving import make_server

from local.emulator import aws_client
from local.emulator_server import OneWriteRequestHandler, emulator_app
from local.replicator import Replicator, replicator_for
from tests.local.deployments import typed

if TYPE_CHECKING:
    from collections.abc import Iterator

PRIMARY, REPLICA = "eu-west-1", "eu-central-1"


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    server = make_server("127.0.0.1", 0, emulator_app(), threaded=True, request_handler=OneWriteRequestHandler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def item(item_id: str, value: str) -> dict:
    return {"item_id": {"S": item_id}, "v": {"S": value}}


def global_table(url: str, *, before: list[dict] = ()) -> str:
    """A table in PRIMARY holding ``before``, then its replica in REPLICA."""
    name = f"items-{uuid.uuid4().hex[:8]}"
    primary = aws_client("dynamodb", PRIMARY, url)
    primary.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "item_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "item_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    for each in before:
        primary.put_item(TableName=name, Item=each)
    replica_update(url, name, "Create")
    return name


def replica_update(url: str, name: str, action: str) -> None:
    aws_client("dynamodb", PRIMARY, url).update_table(
        TableName=name, ReplicaUpdates=[{action: {"RegionName": REPLICA}}]
    )


def replicator(url: str, name: str) -> tuple[Replicator, io.StringIO]:
    log = io.StringIO()
    deployment = typed(url, {PRIMARY: {}, REPLICA: {}}, table_name=name)
    return replicator_for(deployment, log), log


def settle(replicator: Replicator, rounds: int = 10) -> None:
    for _ in range(rounds):
        if replicator.step() == 0 and replicator.idle():
            return
    raise AssertionError(f"did not settle in {rounds} rounds; queue {len(replicator.queue)}")


def stored(url: str, region: str, name: str, item_id: str) -> dict | None:
    client = aws_client("dynamodb", region, url)
    return client.get_item(TableName=name, Key={"item_id": {"S": item_id}}, ConsistentRead=True).get("Item")


def test_writes_reach_the_other_replica_both_ways(url):
    name = global_table(url)
    tool, _ = replicator(url, name)
    aws_client("dynamodb", PRIMARY, url).put_item(TableName=name, Item=item("a", "from primary"))
    aws_client("dynamodb", REPLICA, url).put_item(TableName=name, Item=item("b", "from replica"))
    settle(tool)
    for region in (PRIMARY, REPLICA):
        assert stored(url, region, name, "a") == item("a", "from primary"), region
        assert stored(url, region, name, "b") == item("b", "from replica"), region


def test_items_copied_into_a_new_replica_settle_without_circling(url):
    name = global_table(url, before=[item("old", "1")])
    tool, _ = replicator(url, name)
    settle(tool)
    assert tool.step() == 0 and tool.idle()
    assert stored(url, REPLICA, name, "old") == stored(url, PRIMARY, name, "old") == item("old", "1")


def test_a_replica_deleted_and_created_again_is_read_from_its_new_stream(url):
    name = global_table(url)
    tool, log = replicator(url, name)
    settle(tool)
    replica_update(url, name, "Delete")
    tool.step()
    replica_update(url, name, "Create")
    aws_client("dynamodb", REPLICA, url).put_item(TableName=name, Item=item("new", "after re-creation"))
    settle(tool)
    assert stored(url, PRIMARY, name, "new") == item("new", "after re-creation")
    assert "stream unreadable" in log.getvalue()
