"""DynamoDB global-table replicas (version 2019.11.21) for the emulator: what moto lacks.

moto accepts ``UpdateTable`` with ``ReplicaUpdates`` and ignores it, so the AWS provider's
``aws_dynamodb_table_replica`` waits forever for a replica that never appears. ``install()``
extends moto's DynamoDB (its response handler, backend and table classes) so that:

- ``Create`` makes the replica table in its region: the same key schema, attributes, indexes
  and billing mode, its own stream (NEW_AND_OLD_IMAGES, as global tables do), encrypted with
  the KMS key the update names, and a copy of the table's items (each copy is a record in
  the replica's stream, so local/replicator.py knows what the replica holds);
- ``Update`` changes a replica's KMS key; ``Delete`` removes the replica table;
- ``DescribeTable`` in every member region lists the other members under ``Replicas``, each
  ``ACTIVE``, with ``GlobalTableVersion``; ``DeleteTable`` of a member leaves the group.

Replicas are created synchronously (``ACTIVE`` at once, never ``CREATING``) and copying items
between members is local/replicator.py's job; docs/replicas.md lists what else differs.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from moto.dynamodb.exceptions import MockValidationException
from moto.dynamodb.models import DynamoDBBackend, dynamodb_backends
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoHandler

if TYPE_CHECKING:
    from moto.core.responses import ActionResult

GLOBAL_TABLE_VERSION = "2019.11.21"
REPLICA_STREAM = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
# Marks the moto classes as extended, so install() is idempotent.
_INSTALLED = "_items_replicas_installed"

# region -> the KMS key ARN the member was created with (None: DynamoDB's default key).
# One dict shared by every member table of a global table.
Group = dict[str, str | None]


def group_of(table: Table) -> Group | None:
    return getattr(table, "replication_group", None)


def _join(table: Table, group: Group | None) -> None:
    setattr(table, "replication_group", group)  # noqa: B010 (moto's Table declares no such attribute)


def _backend(backend: DynamoDBBackend, region: str) -> DynamoDBBackend:
    return dynamodb_backends[backend.account_id][region]


def _own_key(table: Table) -> str | None:
    sse = table.sse_specification or {}
    return sse.get("KMSMasterKeyId") if sse.get("Enabled") else None


def apply_replica_updates(backend: DynamoDBBackend, name: str, updates: list[dict[str, Any]]) -> None:
    """The ``ReplicaUpdates`` of an UpdateTable on ``name`` in ``backend``'s region."""
    table = backend.get_table(name)
    for update in updates:
        if "Create" in update:
            create_replica(backend, table, update["Create"])
        elif "Update" in update:
            update_replica(backend, table, update["Update"])
        elif "Delete" in update:
            delete_replica(backend, table, update["Delete"]["RegionName"])


def _check_can_replicate(backend: DynamoDBBackend, table: Table, region: str, key: str | None) -> None:
    _not_local(backend, region)
    group = group_of(table) or {}
    if region in group or table.name in _backend(backend, region).tables:
        raise MockValidationException(
            f"Failed to create a the new replica of table with name: {table.name} because one or more "
            f"replicas already existed as tables ({region})."
        )
    if _own_key(table) and not key:
        raise MockValidationException(
            "One or more parameter values were invalid: KMSMasterKeyId must be specified for each replica."
        )
    view = (table.stream_specification or {}).get("StreamViewType")
    if view and view != REPLICA_STREAM["StreamViewType"]:
        raise MockValidationException(
            f"Table: {table.name} has a stream with view type {view}; replicas need NEW_AND_OLD_IMAGES"
        )


def create_replica(backend: DynamoDBBackend, table: Table, action: dict[str, Any]) -> Table:
    region, key = action["RegionName"], action.get("KMSMasterKeyId")
    _check_can_replicate(backend, table, region, key)
    if not table.latest_stream_label:
        # 2019.11.21 global tables turn the stream on themselves.
        table.set_stream_specification(dict(REPLICA_STREAM))
    group = group_of(table)
    if group is None:
        group = {backend.region_name: _own_key(table)}
        _join(table, group)
    replica = _backend(backend, region).create_table(
        table.name,
        schema=table.schema,
        throughput=table.throughput if table.billing_mode == "PROVISIONED" else None,
        attr=table.attr,
        global_indexes=[_index_request(index.describe()) for index in table.global_indexes],
        indexes=[_index_request(index.describe()) for index in table.indexes],
        streams=dict(REPLICA_STREAM),
        billing_mode=table.billing_mode or "PROVISIONED",
        sse_specification=_sse(table, key),
        tags=[],
        deletion_protection_enabled=False,
        warm_throughput=None,
    )
    for item in table.all_items():
        replica.put_item(item.to_json()["Attributes"])
    group[region] = key
    _join(replica, group)
    return replica


def _index_request(description: dict[str, Any]) -> dict[str, Any]:
    return {name: description[name] for name in ("IndexName", "KeySchema", "Projection") if name in description}


def _sse(table: Table, key: str | None) -> dict[str, Any] | None:
    if key:
        return {"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": key}
    sse = table.sse_specification or {}
    return {"Enabled": True, "SSEType": "KMS"} if sse.get("Enabled") else None


def update_replica(backend: DynamoDBBackend, table: Table, action: dict[str, Any]) -> None:
    region = action["RegionName"]
    _not_local(backend, region)
    group = _member_group(table, region)
    if action.get("KMSMasterKeyId"):
        group[region] = action["KMSMasterKeyId"]
        replica = _backend(backend, region).get_table(table.name)
        replica.sse_specification = _sse(table, action["KMSMasterKeyId"])


def delete_replica(backend: DynamoDBBackend, table: Table, region: str) -> None:
    _not_local(backend, region)
    _member_group(table, region)
    _backend(backend, region).delete_table(table.name)


def _not_local(backend: DynamoDBBackend, region: str) -> None:
    if region == backend.region_name:
        raise MockValidationException(
            "Cannot add, delete, or update the local region through ReplicaUpdates. "
            "Use CreateTable, DeleteTable, or UpdateTable as required."
        )


def _member_group(table: Table, region: str) -> Group:
    """AWS's answer for a region that is no replica; the AWS provider's table delete relies on
    it (it deletes the replicas it last read, which aws_dynamodb_table_replica already did)."""
    group = group_of(table)
    if group is None or region not in group:
        raise MockValidationException(
            "Replica specified in the Replica Update or Replica Delete action of the request was not found."
        )
    return group


def replica_descriptions(table: Table) -> list[dict[str, Any]]:
    """``Replicas`` as DescribeTable in ``table``'s region reports them: every other member."""
    described = []
    for region, key in sorted((group_of(table) or {}).items()):
        if region == table.region_name:
            continue
        member: dict[str, Any] = {"RegionName": region, "ReplicaStatus": "ACTIVE"}
        if key:
            member["KMSMasterKeyId"] = key
        described.append(member)
    return described


def install() -> None:
    """Extends moto's DynamoDB classes in this process (idempotent)."""
    if getattr(DynamoHandler, _INSTALLED, False):
        return
    setattr(DynamoHandler, _INSTALLED, True)
    _wrap_update_table()
    _wrap_describe()
    _wrap_delete_table()


def _wrap_update_table() -> None:
    original = DynamoHandler.update_table

    @functools.wraps(original)
    def update_table(self: DynamoHandler) -> ActionResult:
        updates = self.body.get("ReplicaUpdates")
        if updates:
            apply_replica_updates(self.dynamodb_backend, self.body["TableName"], updates)
        return original(self)

    DynamoHandler.update_table = update_table  # type: ignore[method-assign]


def _wrap_describe() -> None:
    original = Table.describe

    @functools.wraps(original)
    def describe(self: Table, base_key: str = "TableDescription") -> dict[str, Any]:
        result = original(self, base_key)
        if group_of(self) and len(group_of(self) or {}) > 1:
            result[base_key]["Replicas"] = replica_descriptions(self)
            result[base_key]["GlobalTableVersion"] = GLOBAL_TABLE_VERSION
        return result

    Table.describe = describe  # type: ignore[method-assign]


def _wrap_delete_table() -> None:
    original = DynamoDBBackend.delete_table

    @functools.wraps(original)
    def delete_table(self: DynamoDBBackend, name: str) -> Table:
        table = original(self, name)
        group = group_of(table)
        if group is not None:
            group.pop(self.region_name, None)
            _join(table, None)
        return table

    DynamoDBBackend.delete_table = delete_table  # type: ignore[method-assign]
