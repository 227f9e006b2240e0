"""The replicator against moto's server on 127.0.0.1 (two regions, one table each, real
streams): every insert, update and delete reaches the other region; concurrent writes to one
key converge on the last writer by the documented order; a delete beats an older write; its
own writes are never replicated again; a local write the target has not reported yet is
never overwritten, nor is one that lands between the replicator's read and its write."""

from __future__ import annotations

import io
import json
import uuid

import pytest

from local.emulator import aws_client
from local.replicator import Change, Replicator, StreamReader, Version, digest, replicator_for
from tests.local.deployments import typed
from tests.local.moto_server import create_table

A, B = "eu-west-1", "eu-central-1"


@pytest.fixture
def setup(server):
    """A fresh table name in both regions, clients, and a replicator reading both streams."""
    table = f"items-{uuid.uuid4().hex[:8]}"
    for region in (A, B):
        create_table(server, region, table)
    clients = {region: aws_client("dynamodb", region, server) for region in (A, B)}
    log = io.StringIO()
    replicator = replicator_for(typed(server, {A: {}, B: {}}, table_name=table), log)
    return table, clients, replicator, log


def item(item_id: str, **values) -> dict:
    return {"item_id": {"S": item_id}, **{name: {"S": str(value)} for name, value in values.items()}}


def settle(replicator: Replicator, rounds: int = 10) -> None:
    """Rounds until a round reads nothing and nothing is queued (at most ``rounds``)."""
    for _ in range(rounds):
        if replicator.step() == 0 and replicator.idle():
            return
    raise AssertionError(f"did not settle in {rounds} rounds; queue {len(replicator.queue)}")


def stored(clients, table: str, region: str, item_id: str) -> dict | None:
    return clients[region].get_item(TableName=table, Key={"item_id": {"S": item_id}}, ConsistentRead=True).get("Item")


def test_insert_update_and_delete_reach_the_other_region_both_ways(setup):
    table, clients, replicator, _ = setup
    clients[A].put_item(TableName=table, Item=item("x", v=1))
    settle(replicator)
    assert stored(clients, table, B, "x") == item("x", v=1)
    clients[B].put_item(TableName=table, Item=item("x", v=2, w="new"))
    settle(replicator)
    assert stored(clients, table, A, "x") == item("x", v=2, w="new")
    clients[A].delete_item(TableName=table, Key={"item_id": {"S": "x"}})
    settle(replicator)
    assert stored(clients, table, B, "x") is None and stored(clients, table, A, "x") is None


def test_its_own_writes_are_never_replicated_again(setup):
    """After one write has settled, another round reads nothing, queues nothing and writes
    nothing: each region's stream holds the local write and exactly one replicated copy."""
    table, clients, replicator, log = setup
    clients[A].put_item(TableName=table, Item=item("once", v=1))
    settle(replicator)
    assert replicator.step() == 0 and replicator.idle()
    streams = {
        region: StreamReader(
            region,
            clients[region],
            aws_client("dynamodbstreams", region, replicator.tables[region].meta.endpoint_url),
            table,
        )
        for region in (A, B)
    }
    assert [len(streams[region].read()) for region in (A, B)] == [1, 1]
    replicated = [json.loads(line) for line in log.getvalue().splitlines()]
    assert [(entry["source"], entry["target"]) for entry in replicated] == [(A, B)]


def test_concurrent_writes_to_one_key_converge_on_the_later_write(setup):
    """Both regions write the key before the replicator sees either: the write the emulator
    recorded later wins everywhere, and both regions end up identical."""
    table, clients, replicator, _ = setup
    clients[A].put_item(TableName=table, Item=item("k", v="from A"))
    clients[B].put_item(TableName=table, Item=item("k", v="from B"))
    settle(replicator)
    assert stored(clients, table, A, "k") == stored(clients, table, B, "k") == item("k", v="from B")


def changes_written(clients, table: str, writes: list[tuple[str, dict | None, Version]]) -> list[Change]:
    """Make each write really (so each region holds what its change says), and the change
    as its stream would report it, with a chosen version."""
    changes = []
    for region, image, version in writes:
        if image is None:
            clients[region].delete_item(TableName=table, Key={"item_id": {"S": "t"}})
        else:
            clients[region].put_item(TableName=table, Item=image)
        changes.append(Change(region, {"item_id": {"S": "t"}}, image, version))
    return changes


def decide(table: str, clients, changes: list[Change]) -> Replicator:
    replicator = Replicator(table, clients, readers={}, log=io.StringIO())
    for change in changes:
        replicator.observe(change)
    for _ in range(5):
        replicator.apply_queued()
    assert replicator.idle()
    return replicator


def test_a_tie_in_the_same_millisecond_goes_to_the_region_that_sorts_last(setup):
    table, clients, _, _ = setup
    changes = changes_written(
        clients,
        table,
        [(A, item("t", v="west"), Version(1000, A, 7)), (B, item("t", v="central"), Version(1000, B, 3))],
    )
    decide(table, clients, changes)
    assert (
        stored(clients, table, A, "t") == stored(clients, table, B, "t") == item("t", v="west")
    )  # "eu-west-1" > "eu-central-1"


def test_a_delete_beats_an_older_write_that_arrives_after_it(setup):
    """A deletes at t=10 s; B wrote at t=8 s, and the replicator sees B's write last: the
    item stays deleted everywhere (no resurrection)."""
    table, clients, _, _ = setup
    first = changes_written(clients, table, [(A, item("t", v="first"), Version(1, A, 1))])
    replicator = decide(table, clients, first)  # copies it to B
    assert stored(clients, table, B, "t") == item("t", v="first")
    for change in changes_written(
        clients, table, [(A, None, Version(10_000, A, 2)), (B, item("t", v="older"), Version(8_000, B, 5))]
    ):
        replicator.observe(change)
    for _ in range(5):
        replicator.apply_queued()
    assert stored(clients, table, A, "t") is None and stored(clients, table, B, "t") is None


def test_a_local_write_the_target_has_not_reported_is_never_overwritten(setup):
    """B holds an item its stream has not delivered yet: the replicator cannot know its
    version, so it waits instead of overwriting it, and decides once B's stream has come in."""
    table, clients, replicator, _ = setup
    clients[A].put_item(TableName=table, Item=item("w", v="from A"))
    for change in replicator.readers[A].read():
        replicator.observe(change)
    clients[B].put_item(TableName=table, Item=item("w", v="from B, later"))
    replicator.apply_queued()
    assert stored(clients, table, B, "w") == item("w", v="from B, later")
    assert not replicator.idle()
    settle(replicator)
    assert stored(clients, table, A, "w") == stored(clients, table, B, "w") == item("w", v="from B, later")


def test_a_local_write_between_the_read_and_the_write_fails_the_condition(setup):
    """A client writes in B after the replicator read B's item and before its write lands:
    the conditional write fails, the newer local write stays, and it wins everywhere."""
    table, clients, replicator, _ = setup
    clients[A].put_item(TableName=table, Item=item("r", v="old"))
    settle(replicator)
    clients[A].put_item(TableName=table, Item=item("r", v="from A"))
    other_client = aws_client("dynamodb", B, replicator.tables[B].meta.endpoint_url)
    raced = []

    def local_write_first(params, **_):
        if not raced and params.get("Item", {}).get("item_id") == {"S": "r"}:
            raced.append(True)
            other_client.put_item(TableName=table, Item=item("r", v="from B, in between"))

    replicator.tables[B].meta.events.register("before-parameter-build.dynamodb.PutItem", local_write_first)
    settle(replicator)
    assert raced
    assert stored(clients, table, A, "r") == stored(clients, table, B, "r") == item("r", v="from B, in between")
    # The condition kept the older write out of B altogether (without it, B would have
    # held it until the repair): B's stream never shows it.
    b_stream = StreamReader(
        B, clients[B], aws_client("dynamodbstreams", B, replicator.tables[B].meta.endpoint_url), table
    )
    assert item("r", v="from A") not in [change.image for change in b_stream.read()]


def test_versions_order_by_time_then_region_then_sequence():
    assert Version(1, "eu-central-1", 9) < Version(2, "a", 0)
    assert Version(5, "eu-central-1", 9) < Version(5, "eu-west-1", 0)
    assert Version(5, "eu-west-1", 1) < Version(5, "eu-west-1", 2)


def test_equal_items_have_equal_digests_whatever_the_order_of_their_sets():
    first = {"k": {"S": "a"}, "tags": {"SS": ["x", "y"]}, "m": {"M": {"n": {"NS": ["1", "2"]}}}}
    second = {"m": {"M": {"n": {"NS": ["2", "1"]}}}, "tags": {"SS": ["y", "x"]}, "k": {"S": "a"}}
    assert digest(first) == digest(second)
    assert digest(first) != digest({**first, "k": {"S": "b"}})


def test_a_write_is_read_back_only_where_it_is_replicated_to(setup):
    """Reading an item is the emulator's costliest call for a large one: the region a write
    came from (its stream already told the replicator what it holds) is not read again."""
    table, clients, replicator, _ = setup
    reads: dict[str, int] = {A: 0, B: 0}
    for region in (A, B):
        replicator.tables[region].meta.events.register(
            "before-call.dynamodb.GetItem", lambda region=region, **_: reads.__setitem__(region, reads[region] + 1)
        )
    clients[A].put_item(TableName=table, Item=item("big", padding="x" * 1000))
    settle(replicator)
    assert stored(clients, table, B, "big") == item("big", padding="x" * 1000)
    assert reads == {A: 0, B: 1}, reads
