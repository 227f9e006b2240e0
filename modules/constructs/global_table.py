"""The DynamoDB global table: the table in the primary region and one
``aws_dynamodb_table_replica`` per other region, each on that region's provider, so plan
review shows every replica as its own resource."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cdktf import DataResource
from constructs import Construct

from functions.schema import HEALTH_SENTINEL_ID, PARTITION_KEY, PARTITION_KEY_TYPE
from modules.config.sections import TableConfig
from modules.provider import aws

if TYPE_CHECKING:
    from collections.abc import Mapping

    from cdktf_cdktf_provider_aws.dynamodb_table import DynamodbTable, DynamodbTableServerSideEncryption
    from cdktf_cdktf_provider_aws.dynamodb_table_item import DynamodbTableItem
    from cdktf_cdktf_provider_aws.dynamodb_table_replica import DynamodbTableReplicaA
    from cdktf_cdktf_provider_aws.provider import AwsProvider


@dataclass(frozen=True, kw_only=True)
class GlobalTableProps:
    """``name``: the physical table name. ``providers``: region -> provider, primary first.
    ``kms_key_arns``: region -> key ARN, used when ``table_config.encryption`` is
    customer_managed. ``table_config`` (default ``TableConfig()``: PITR on, no deletion
    protection, customer-managed keys); with deletion protection, Terraform also refuses to
    destroy the table, the replicas and a change of primary region (``prevent_destroy``).
    The emulator applies the same resources (local/dynamodb_replicas.py creates replicas)."""

    name: str
    providers: Mapping[str, AwsProvider]
    kms_key_arns: Mapping[str, str]
    table_config: TableConfig = field(default_factory=TableConfig)


class GlobalTable(Construct):
    """Exposes ``name``, ``table`` (primary), ``replicas`` (region -> replica resource),
    ``arns`` (region -> the table ARN in that region), ``primary_region_guard`` and
    ``sentinel`` (the health check's item)."""

    def __init__(self, scope: Construct, id_: str, props: GlobalTableProps) -> None:
        super().__init__(scope, id_)
        self._props = props
        regions = list(props.providers)
        primary, secondaries = regions[0], regions[1:]
        self.name = props.name
        self.replicas: dict[str, DynamodbTableReplicaA] = {}
        self.table = self._table(primary)
        self.primary_region_guard = self._primary_region_guard(primary)
        self.arns = {primary: self.table.arn}
        for region in secondaries:
            self.replicas[region] = self._replica(Construct(self, region), region)
            self.arns[region] = self.replicas[region].arn
        self.sentinel = self._sentinel(primary)

    def _sentinel(self, primary: str) -> DynamodbTableItem:
        """The item every region's /health reads, written once in the primary region:
        replication copies it to every other region like any item, so a region that does
        not receive replicated writes cannot answer healthy either."""
        return aws.dynamodb_table_item.DynamodbTableItem(
            self,
            "health_sentinel",
            provider=self._props.providers[primary],
            table_name=self.table.name,
            hash_key=PARTITION_KEY,
            item=json.dumps(
                {
                    PARTITION_KEY: {PARTITION_KEY_TYPE: HEALTH_SENTINEL_ID},
                    "purpose": {"S": "read by GET /health in every region; the items API refuses this key"},
                }
            ),
            depends_on=list(self.replicas.values()) or None,
        )

    def _table(self, region: str) -> DynamodbTable:
        props, settings = self._props, self._props.table_config
        return aws.dynamodb_table.DynamodbTable(
            self,
            "table",
            provider=props.providers[region],
            name=props.name,
            billing_mode="PAY_PER_REQUEST",
            hash_key=PARTITION_KEY,
            attribute=[aws.dynamodb_table.DynamodbTableAttribute(name=PARTITION_KEY, type=PARTITION_KEY_TYPE)],
            # Global tables replicate through the stream; NEW_AND_OLD_IMAGES is what they require.
            stream_enabled=True,
            stream_view_type="NEW_AND_OLD_IMAGES",
            point_in_time_recovery=aws.dynamodb_table.DynamodbTablePointInTimeRecovery(
                enabled=settings.point_in_time_recovery
            ),
            server_side_encryption=self._server_side_encryption(region),
            deletion_protection_enabled=settings.deletion_protection,
            # Replicas are separate resources; without this the table would try to remove them.
            lifecycle={"ignore_changes": ["replica"], **self._retained()},
        )

    def _retained(self) -> dict:
        """``prevent_destroy`` where the environment protects its table: a plan that would
        destroy or replace it fails instead (deletion protection alone fails only at apply,
        after everything else in the plan has changed)."""
        return {"prevent_destroy": True} if self._props.table_config.deletion_protection else {}

    def _primary_region_guard(self, primary: str) -> DataResource:
        """Moving the primary region (``primary_region``, or reordering ``regions``) keeps the
        table's address but binds it to another region's provider. Terraform then reads the
        table in the new region, finds that region's replica (or nothing, and plans a new
        empty table; measured with Terraform 1.11 on the emulator), and plans to destroy the
        new primary region's replica: ``prevent_destroy`` on the table never fires. This
        record of the primary region is replaced when it changes, and with deletion
        protection ``prevent_destroy`` refuses that plan. (README: "Adding or removing a
        region" says how to move the primary on purpose.)"""
        return DataResource(
            self,
            "primary_region",
            input={"primary_region": primary},
            triggers_replace={"primary_region": primary},
            lifecycle={"prevent_destroy": True} if self._props.table_config.deletion_protection else None,
        )

    def _server_side_encryption(self, region: str) -> DynamodbTableServerSideEncryption | None:
        """None for an AWS-owned key (DynamoDB's default)."""
        encryption = self._props.table_config.encryption
        if encryption == "customer_managed":
            return aws.dynamodb_table.DynamodbTableServerSideEncryption(
                enabled=True, kms_key_arn=self._props.kms_key_arns[region]
            )
        if encryption == "aws_managed":
            return aws.dynamodb_table.DynamodbTableServerSideEncryption(enabled=True)
        return None

    def _replica(self, scope: Construct, region: str) -> DynamodbTableReplicaA:
        props, settings = self._props, self._props.table_config
        return aws.dynamodb_table_replica.DynamodbTableReplicaA(
            scope,
            "replica",
            provider=props.providers[region],
            global_table_arn=self.table.arn,
            point_in_time_recovery=settings.point_in_time_recovery,
            deletion_protection_enabled=settings.deletion_protection,
            kms_key_arn=props.kms_key_arns[region] if settings.encryption == "customer_managed" else None,
            lifecycle=self._retained() or None,
        )
