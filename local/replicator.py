"""Replication for the local environment: copies writes between the replicas of the emulator's
global table, from each replica's DynamoDB stream.

The emulator creates the replica tables Terraform asks for (local/dynamodb_replicas.py: the
same name in every region, each with its own stream) but, like moto, copies no writes between
them. This process reads every region's stream (moto's dynamodbstreams serves DescribeStream,
GetShardIterator and GetRecords in server mode, one shard per table) and applies every insert,
update and delete to every region, the way global tables do:

- **Last writer wins.** A write's version is ``(time, region, sequence)``: the time its region
  recorded it (the stream record's ApproximateCreationDateTime, milliseconds on moto), then
  the region's name (the name that sorts last wins a tie in the same millisecond), then its
  sequence number in that region's stream (two writes in one region in one millisecond: the
  later one, as that region's own table holds it). Every region ends up with the write of the
  greatest version, deletes included.
- **Decided atomically in the target.** Before writing, the replicator reads the target's item
  (a consistent GetItem) and knows its version from that region's stream; it writes only when
  the incoming version is greater, with a condition that the item is still exactly what it
  read (every attribute equal, or absent). A local write in between fails the condition and
  the decision is made again once that write has come through the target's stream. An item
  whose version is not known yet (a local write the stream has not delivered) is never
  overwritten: the task waits for the stream.
- **A delete followed by an older write.** A delete leaves a tombstone (the key's greatest
  delete version, in memory): an older write that arrives after it is not applied, so a key
  deleted at 10:00:01 is not resurrected by a write made at 10:00:00 in another region.
- **Never its own writes again.** Each write the replicator makes is remembered until its
  record comes back through that region's stream, and that record is not replicated again.
  Every region, the origin included, is brought to the winning version, which also repairs a
  region whose newer local write was overwritten in a race the condition cannot see (a local
  write that only adds attributes).

A replica created after the replicator started is read from its first record: the items the
emulator copied into it are recorded there, so they are known like any write. A stream that
cannot be read (its replica deleted, or deleted and created again) is opened afresh in the next
round, while the other regions go on.

Metrics, as DynamoDB publishes them: ``ReplicationLatency`` (AWS/DynamoDB, milliseconds,
dimensions TableName and ReceivingRegion) in the CloudWatch of the write's region, for every
replicated write, batched once per round and sent from a thread of its own (replication never
waits for CloudWatch). A paused direction replicates nothing, so it would publish nothing
either, and the deployed alarm treats missing data as not breaching: each round also publishes,
per direction, the age of the oldest write still waiting (see ``pending_ages``), which is what
the latency of that write already is, so the alarm fires during a pause, not only once the
delayed writes land with their huge latencies at the resume. local/alarm_evaluator.py turns
these into alarm states.

Polling: GetRecords at most 5 times a second per shard (DynamoDB Streams' limit) while writes
arrive, once a second after 30 s without any (moto keeps every shard iterator it hands out,
about 1.5 KB each). A write is readable in every region within ``LAG_BOUND_S`` while the
replicator runs. Tombstones and versions live in memory: restarted, it replays every stream
from the start (moto keeps all records), which converges to the same state.

    python -m local.replicator --deployment .emulator/deployment.json
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import json
import queue
import signal
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from botocore.exceptions import ClientError

from local import deployment_file, faults
from local.emulator import AwsClient, aws_client

if TYPE_CHECKING:
    from collections.abc import Callable

    from local.deployment_file import Deployment

# DynamoDB Streams allows 5 GetRecords calls per second per shard.
ACTIVE_POLL_S = 0.2
IDLE_POLL_S = 1.0
IDLE_AFTER_S = 30.0
# The documented bound: a write is readable in every region within this while the replicator
# runs (one idle poll, the writes, and a margin for a busy 2-core machine).
LAG_BOUND_S = 2.0
# A task that still cannot be decided after this long is dropped with an error in the log.
TASK_DEADLINE_S = 60.0
# Attributes compared in the "unchanged since read" condition; DynamoDB limits an expression
# to 4 KB. Beyond them, a race is repaired through the stream instead (module docstring).
MAX_CONDITION_ATTRIBUTES = 100
REMOVED = "REMOVE"
# DynamoDB's metric of a global table; CloudWatch takes at most 150 values in one MetricDatum.
METRIC_NAMESPACE, METRIC_NAME = "AWS/DynamoDB", "ReplicationLatency"
MAX_VALUES_PER_DATUM = 150
# Rounds of metrics waiting for CloudWatch beyond which new ones are dropped (and said so).
MAX_WAITING_BATCHES = 100


@dataclass(frozen=True, order=True)
class Version:
    """Ordered as the module docstring defines "last"."""

    time_ms: int
    region: str
    sequence: int

    def __str__(self) -> str:
        return f"{self.time_ms}/{self.region}/{self.sequence}"


OLDEST = Version(-1, "", -1)


@dataclass(frozen=True)
class Change:
    """One stream record: ``image`` is the new item, None for a delete."""

    region: str
    keys: dict
    image: dict | None
    version: Version

    @property
    def key(self) -> str:
        return canonical(self.keys)

    @property
    def mark(self) -> str:
        return digest(self.image) if self.image is not None else REMOVED


@dataclass
class Task:
    """Bring ``target`` to ``change`` if it is newer than what ``target`` holds."""

    target: str
    change: Change
    created: float = field(default_factory=time.monotonic)


def canonical(value: object) -> str:
    """JSON of attribute values, the same for equal items (sets in any order, binary as base64)."""
    return json.dumps(_plain(value), sort_keys=True, separators=(",", ":"))


def _plain(value: object) -> Any:  # the value's JSON form: any JSON type
    if isinstance(value, dict):
        return {name: _plain(member) for name, member in value.items()}
    if isinstance(value, list):
        return [_plain(member) for member in value]
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    return value


def digest(item: dict) -> str:
    plain = {name: _sorted_sets(value) for name, value in item.items()}
    return hashlib.sha256(canonical(plain).encode()).hexdigest()


def _sorted_sets(value: dict) -> dict:
    kind, content = next(iter(value.items()))
    if kind in ("SS", "NS", "BS"):
        return {kind: sorted(_plain(content))}
    if kind == "M":
        return {kind: {name: _sorted_sets(member) for name, member in content.items()}}
    if kind == "L":
        return {kind: [_sorted_sets(member) for member in content]}
    return value


def unchanged_condition(item: dict) -> dict:
    """Arguments of a conditional write that succeeds only if the item still has every
    attribute of ``item`` with the same value (up to MAX_CONDITION_ATTRIBUTES)."""
    names, values, terms = {}, {}, []
    for index, name in enumerate(sorted(item)[:MAX_CONDITION_ATTRIBUTES]):
        names[f"#a{index}"], values[f":a{index}"] = name, item[name]
        terms.append(f"#a{index} = :a{index}")
    return {
        "ConditionExpression": " AND ".join(terms),
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }


def absent_condition(keys: dict) -> dict:
    name = sorted(keys)[0]
    return {"ConditionExpression": "attribute_not_exists(#k)", "ExpressionAttributeNames": {"#k": name}}


class StreamReader:
    """One region's table stream, from its first record, in order (moto serves one shard)."""

    def __init__(self, region: str, dynamodb: AwsClient, streams: AwsClient, table_name: str) -> None:
        self.region, self.dynamodb, self.streams, self.table_name = region, dynamodb, streams, table_name
        self.iterators: dict[str, str | None] = {}
        self.stream_arn: str | None = None

    def _current_stream(self) -> str:
        return self.dynamodb.describe_table(TableName=self.table_name)["Table"]["LatestStreamArn"]

    def _open(self) -> None:
        arn = self.stream_arn = self._current_stream()
        for shard in self.streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
            if shard["ShardId"] not in self.iterators:
                self.iterators[shard["ShardId"]] = self.streams.get_shard_iterator(
                    StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]

    def reset(self) -> None:
        """Forget the open stream: the next read opens the table's current one."""
        self.iterators, self.stream_arn = {}, None

    def read(self) -> list[Change]:
        if not self.iterators:
            self._open()
        changes = []
        for shard_id, iterator in self.iterators.items():
            if iterator is None:
                continue  # a closed shard
            page = self.streams.get_records(ShardIterator=iterator, Limit=1000)
            self.iterators[shard_id] = page.get("NextShardIterator")
            changes += [self._change(record) for record in page["Records"]]
        if not changes and self._current_stream() != self.stream_arn:
            # The replica was deleted and created again: moto still serves the old stream.
            self.reset()
        return changes

    def _change(self, record: dict) -> Change:
        data = record["dynamodb"]
        when = data["ApproximateCreationDateTime"]
        time_ms = int(round(when.timestamp() * 1000)) if hasattr(when, "timestamp") else int(float(when) * 1000)
        image = data.get("NewImage") if record["eventName"] != "REMOVE" else None
        return Change(self.region, data["Keys"], image, Version(time_ms, self.region, int(data["SequenceNumber"])))


@dataclass
class Known:
    """What a region's table holds for a key, by its stream: the version, and the item's
    digest (None: absent)."""

    version: Version
    mark: str | None


class Replicator:
    """The replication state machine over every region's client (``tables``: region ->
    DynamoDB client) and stream (``readers``); ``step()`` is one round."""

    def __init__(
        self,
        table_name: str,
        tables: dict[str, AwsClient],
        readers: dict[str, StreamReader],
        log: TextIO | None = None,
        clock: Callable[[], float] = time.time,
        blocked: Callable[[str, str], bool] = lambda source, target: False,
    ) -> None:
        self.table_name, self.tables, self.readers = table_name, tables, readers
        # (source, target) -> held back now: a fault switch (local/faults.py)
        self.blocked = blocked
        self.log = log if log is not None else sys.stderr
        self.clock = clock
        self.known: dict[tuple[str, str], Known] = {}
        self.tombstones: dict[str, Version] = {}
        self.pending: dict[tuple[str, str, str], list[Version]] = {}
        self.queue: deque[Task] = deque()
        self.lags_ms: list[float] = []
        # (source, target) -> this round's ReplicationLatency values, handed to ``publish``
        self.latencies: dict[tuple[str, str], list[float]] = {}
        self.publish: Callable[[dict[tuple[str, str], list[float]]], None] | None = None

    # --- reading the streams -----------------------------------------------------------

    def step(self) -> int:
        """Read every stream once, then try every queued task; returns the records read."""
        read = 0
        for reader in self.readers.values():
            try:
                changes = reader.read()
            except ClientError as err:  # the replica deleted, or deleted and created again
                reader.reset()
                self.write_log({"event": "stream unreadable", "region": reader.region, "error": str(err)})
                continue
            for change in changes:
                self.observe(change)
                read += 1
        self.apply_queued()
        self.report()
        return read

    # --- metrics ------------------------------------------------------------------------

    def pending_ages(self) -> dict[tuple[str, str], float]:
        """(source, target) -> the age in ms of the oldest write from source not yet applied in
        target. DynamoDB defines ReplicationLatency as the time from a write in one replica
        until it appears in another (Developer Guide, "Monitoring global tables"); a write that
        has not appeared yet has at least its age. During FIS's
        aws:dynamodb:global-table-pause-replication (FIS User Guide, "Actions reference") no
        write crosses, so completed latencies alone leave the alarm without data (which the
        deployed alarm treats as not breaching) until the delayed writes land with their whole
        wait as latency; their age shows the same values while they wait."""
        now_ms, ages = self.clock() * 1000, dict[tuple[str, str], float]()
        for task in self.queue:
            pair = (task.change.region, task.target)
            if pair[0] != pair[1]:
                ages[pair] = max(ages.get(pair, 0.0), now_ms - task.change.version.time_ms)
        return ages

    def report(self) -> None:
        """This round's latencies and pending ages, one batch, to ``publish`` (at most one call a round)."""
        batch, self.latencies = self.latencies, {}
        for pair, age in self.pending_ages().items():
            batch.setdefault(pair, []).append(round(age, 1))
        if batch and self.publish is not None:
            self.publish(batch)

    def observe(self, change: Change) -> None:
        """A record from ``change.region``'s stream: our own write coming back, or a local
        write to replicate everywhere."""
        key = change.key
        waiting = self.pending.get((change.region, key, change.mark))
        if waiting:
            version = waiting.pop(0)
            if not waiting:
                del self.pending[(change.region, key, change.mark)]
            self.known[(change.region, key)] = Known(version, None if change.image is None else change.mark)
            return
        self.known[(change.region, key)] = Known(change.version, None if change.image is None else change.mark)
        if change.image is None:
            self.tombstones[key] = max(self.tombstones.get(key, OLDEST), change.version)
        self.queue.extend(Task(region, change) for region in self.tables)

    # --- applying in a target --------------------------------------------------------------

    def apply_queued(self) -> None:
        for _ in range(len(self.queue)):
            task = self.queue.popleft()
            if self.blocked(task.change.region, task.target):
                task.created = time.monotonic()  # held, as global tables hold it: never given up
                self.queue.append(task)
                continue
            if not self.apply(task):
                if time.monotonic() - task.created < TASK_DEADLINE_S:
                    self.queue.append(task)
                else:
                    self.write_log(
                        {
                            "event": "gave up",
                            "target": task.target,
                            "key": task.change.key,
                            "version": str(task.change.version),
                        }
                    )

    def apply(self, task: Task) -> bool:
        """True when the task is done (applied, or the target already holds something as
        new); False to try again after the target's stream has caught up."""
        change, target = task.change, task.target
        known = self.known.get((target, change.key))
        if known is not None and known.version >= change.version:
            # The target's stream already told of this write or a newer one (always so for
            # the region the write came from): nothing to read. Reading a large item is what
            # costs the emulator most (docs/local-limits.md, "Large items").
            return True
        client = self.tables[target]
        current_item = client.get_item(TableName=self.table_name, Key=change.keys, ConsistentRead=True).get("Item")
        current = self.current_version(target, change.key, current_item)
        if current is None:
            return False
        if current >= change.version:
            return True
        if change.image is None and current_item is None:
            self.known[(target, change.key)] = Known(change.version, None)
            return True
        return self._write(target, change, current_item)

    def current_version(self, target: str, key: str, item: dict | None) -> Version | None:
        """The version of what ``target`` holds for ``key`` (``item``, just read), or None
        when its stream has not yet told which write that is."""
        known = self.known.get((target, key))
        tombstone = self.tombstones.get(key, OLDEST)
        if item is None:
            if known is None or known.mark is None:
                return max(known.version if known else OLDEST, tombstone)
            return None
        if known is not None and known.mark == digest(item):
            return known.version
        return None

    def _write(self, target: str, change: Change, current_item: dict | None) -> bool:
        client = self.tables[target]
        condition = unchanged_condition(current_item) if current_item is not None else absent_condition(change.keys)
        slot = (target, change.key, change.mark)
        self.pending.setdefault(slot, []).append(change.version)
        try:
            if change.image is None:
                client.delete_item(TableName=self.table_name, Key=change.keys, **condition)
            else:
                client.put_item(TableName=self.table_name, Item=change.image, **condition)
        except client.exceptions.ConditionalCheckFailedException:
            self._forget(slot, change.version)
            return False
        self.known[(target, change.key)] = Known(change.version, None if change.image is None else change.mark)
        if target != change.region:
            self._lag(target, change)
        return True

    def _forget(self, slot: tuple[str, str, str], version: Version) -> None:
        waiting = self.pending.get(slot, [])
        if version in waiting:
            waiting.remove(version)
        if not waiting:
            self.pending.pop(slot, None)

    def _lag(self, target: str, change: Change) -> None:
        """AWS's ReplicationLatency: from the write in its region to the write in another."""
        lag_ms = self.clock() * 1000 - change.version.time_ms
        self.lags_ms.append(lag_ms)
        self.latencies.setdefault((change.region, target), []).append(round(lag_ms, 1))
        self.write_log(
            {
                "event": "replicated",
                "source": change.region,
                "target": target,
                "key": change.key,
                "operation": "delete" if change.image is None else "put",
                "lag_ms": round(lag_ms, 1),
            }
        )

    def write_log(self, entry: dict) -> None:
        self.log.write(json.dumps(entry) + "\n")
        self.log.flush()

    def idle(self) -> bool:
        return not self.queue


class LatencyPublisher:
    """PutMetricData of ReplicationLatency batches in each write's region, from a thread of
    its own: ``submit`` never waits for CloudWatch."""

    def __init__(self, endpoint: str, regions: list[str], table_name: str, log: Callable[[dict], None]) -> None:
        self.clients = {region: aws_client("cloudwatch", region, endpoint) for region in regions}
        self.table_name, self.log = table_name, log
        self.batches: queue.Queue[tuple[datetime, dict]] = queue.Queue(maxsize=MAX_WAITING_BATCHES)
        threading.Thread(target=self._drain, daemon=True, name="metrics").start()

    def submit(self, batch: dict[tuple[str, str], list[float]]) -> None:
        try:
            self.batches.put_nowait((datetime.now(UTC), batch))
        except queue.Full:
            self.log({"event": "metrics dropped", "values": sum(map(len, batch.values()))})

    def _drain(self) -> None:
        while True:
            when, batch = self.batches.get()
            try:
                self.put(when, batch)
            except Exception as err:  # the emulator restarting: these values are lost, say so
                self.log({"event": "metrics not published", "error": f"{type(err).__name__}: {err}"})

    def put(self, when: datetime, batch: dict[tuple[str, str], list[float]]) -> None:
        """One PutMetricData per source region (a round holds far fewer than its 1000 data)."""
        by_source: dict[str, list[dict]] = {}
        for (source, target), values in batch.items():
            dimensions = [{"Name": "TableName", "Value": self.table_name}, {"Name": "ReceivingRegion", "Value": target}]
            for start in range(0, len(values), MAX_VALUES_PER_DATUM):
                by_source.setdefault(source, []).append(
                    {
                        "MetricName": METRIC_NAME,
                        "Dimensions": dimensions,
                        "Timestamp": when,
                        "Values": values[start : start + MAX_VALUES_PER_DATUM],
                        "Unit": "Milliseconds",
                    }
                )
        for source, data in by_source.items():
            self.clients[source].put_metric_data(Namespace=METRIC_NAMESPACE, MetricData=data)


def replicator_for(
    deployment: Deployment, log: TextIO | None = None, switches: faults.Faults | None = None
) -> Replicator:
    """The replicator of a deployment file's regions and table; ``switches``: the fault
    switches that hold records back (region-outage, replication-pause)."""
    endpoint = deployment.emulator_url
    table_name = deployment.needed(deployment.table_name, "table_name", "the replicator")
    tables, readers = {}, {}
    for region in deployment.regions:
        tables[region] = aws_client("dynamodb", region, endpoint)
        readers[region] = StreamReader(
            region, tables[region], aws_client("dynamodbstreams", region, endpoint), table_name
        )
    if switches is None:
        return Replicator(table_name, tables, readers, log)
    return Replicator(table_name, tables, readers, log, blocked=switches.replication_blocked)


def run(replicator: Replicator, stop: threading.Event) -> None:
    """Rounds until ``stop``: every ACTIVE_POLL_S while writes arrive, IDLE_POLL_S after
    IDLE_AFTER_S without any."""
    last_change = time.monotonic()
    while not stop.is_set():
        try:
            if replicator.step() or not replicator.idle():
                last_change = time.monotonic()
        except Exception as err:  # the emulator restarting, a table being destroyed: say so, go on
            replicator.write_log({"event": "round failed", "error": f"{type(err).__name__}: {err}"})
            stop.wait(IDLE_POLL_S)
        quiet = time.monotonic() - last_change > IDLE_AFTER_S
        stop.wait(IDLE_POLL_S if quiet else ACTIVE_POLL_S)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Replicate the local environment's tables like a global table.")
    parser.add_argument(
        "--deployment", required=True, type=Path, help="the deployment file, e.g. .emulator/deployment.json"
    )
    args = parser.parse_args(argv)
    deployment = deployment_file.load(args.deployment)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    replicator = replicator_for(deployment, sys.stdout, faults.Faults(faults.path_for(args.deployment.parent)))
    publisher = LatencyPublisher(
        deployment.emulator_url, list(replicator.tables), replicator.table_name, replicator.write_log
    )
    replicator.publish = publisher.submit
    print(
        json.dumps({"event": "started", "regions": list(deployment.regions), "table": replicator.table_name}),
        flush=True,
    )
    with contextlib.suppress(KeyboardInterrupt):
        run(replicator, stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
