"""DynamoDB replicas in the emulator (local/dynamodb_replicas.py), through boto3 against the
emulator's own server application on 127.0.0.1: the calls the AWS provider's
aws_dynamodb_table_replica makes (UpdateTable with ReplicaUpdates in the main region,
DescribeTable in both regions, UpdateTable and DescribeContinuousBackups in the replica's)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import pytest
from botocore.exceptions import ClientError
from werkzeug.serving import make_server

from local.emulator import aws_client
from local.emulator_server import OneWriteRequestHandler, emulator_app

if TYPE_CHECKING:
    from collections.abc import Iterator

PRIMARY, REPLICA = "eu-west-1", "us-east-2"
KEY_ARN = "arn:aws:kms:us-east-2:123456789012:key/0d5b1c43-replica-key"
PRIMARY_KEY_ARN = "arn:aws:kms:eu-west-1:123456789012:key/5e8f0c3a-primary-key"


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    server = make_server("127.0.0.1", 0, emulator_app(), threaded=True, request_handler=OneWriteRequestHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def create_table(url: str, name: str, key_arn: str | None = PRIMARY_KEY_ARN) -> None:
    sse = {"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": key_arn} if key_arn else {"Enabled": False}
    aws_client("dynamodb", PRIMARY, url).create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "item_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "item_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        SSESpecification=sse,
    )


def replica_update(url: str, name: str, action: str, **fields) -> dict:
    return aws_client("dynamodb", PRIMARY, url).update_table(
        TableName=name, ReplicaUpdates=[{action: {"RegionName": REPLICA, **fields}}]
    )


def describe(url: str, region: str, name: str) -> dict:
    return aws_client("dynamodb", region, url).describe_table(TableName=name)["Table"]


def test_create_makes_the_replica_table_in_its_region_with_schema_stream_and_key(url):
    create_table(url, "created")
    replica_update(url, "created", "Create", KMSMasterKeyId=KEY_ARN)
    primary, replica = describe(url, PRIMARY, "created"), describe(url, REPLICA, "created")
    assert replica["TableArn"] == f"arn:aws:dynamodb:{REPLICA}:123456789012:table/created"
    assert replica["KeySchema"] == primary["KeySchema"]
    assert replica["AttributeDefinitions"] == primary["AttributeDefinitions"]
    assert replica["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert replica["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert replica["LatestStreamArn"].startswith(replica["TableArn"] + "/stream/")
    assert replica["SSEDescription"]["KMSMasterKeyArn"] == KEY_ARN


def test_describe_in_both_regions_reports_the_other_member_active(url):
    create_table(url, "described")
    replica_update(url, "described", "Create", KMSMasterKeyId=KEY_ARN)
    primary, replica = describe(url, PRIMARY, "described"), describe(url, REPLICA, "described")
    assert primary["Replicas"] == [{"RegionName": REPLICA, "ReplicaStatus": "ACTIVE", "KMSMasterKeyId": KEY_ARN}]
    assert replica["Replicas"] == [
        {"RegionName": PRIMARY, "ReplicaStatus": "ACTIVE", "KMSMasterKeyId": PRIMARY_KEY_ARN}
    ]
    assert primary["GlobalTableVersion"] == replica["GlobalTableVersion"] == "2019.11.21"


def test_a_table_without_replicas_reports_none(url):
    create_table(url, "alone")
    assert "Replicas" not in describe(url, PRIMARY, "alone")


def test_existing_items_are_copied_and_recorded_in_the_replica_stream(url):
    create_table(url, "copied")
    aws_client("dynamodb", PRIMARY, url).put_item(TableName="copied", Item={"item_id": {"S": "a"}, "n": {"N": "1"}})
    replica_update(url, "copied", "Create", KMSMasterKeyId=KEY_ARN)
    replica = aws_client("dynamodb", REPLICA, url)
    assert replica.get_item(TableName="copied", Key={"item_id": {"S": "a"}})["Item"]["n"] == {"N": "1"}
    streams = aws_client("dynamodbstreams", REPLICA, url)
    arn = describe(url, REPLICA, "copied")["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    records = streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"]
    assert [record["dynamodb"]["Keys"] for record in records] == [{"item_id": {"S": "a"}}]


def test_replica_settings_are_its_own(url):
    create_table(url, "settings")
    replica_update(url, "settings", "Create", KMSMasterKeyId=KEY_ARN)
    replica = aws_client("dynamodb", REPLICA, url)
    replica.update_continuous_backups(
        TableName="settings", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    replica.update_table(TableName="settings", DeletionProtectionEnabled=True)
    pitr = replica.describe_continuous_backups(TableName="settings")["ContinuousBackupsDescription"]
    assert pitr["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    assert describe(url, REPLICA, "settings")["DeletionProtectionEnabled"] is True
    assert describe(url, PRIMARY, "settings")["DeletionProtectionEnabled"] is False
    with pytest.raises(ClientError, match="DeletionProtectionEnabled is set to True"):
        replica_update(url, "settings", "Delete")


def test_delete_removes_the_replica_table_and_the_membership(url):
    create_table(url, "deleted")
    replica_update(url, "deleted", "Create", KMSMasterKeyId=KEY_ARN)
    replica_update(url, "deleted", "Delete")
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        describe(url, REPLICA, "deleted")
    assert "Replicas" not in describe(url, PRIMARY, "deleted")


def test_a_replica_can_be_created_again_after_its_deletion(url):
    create_table(url, "again")
    replica_update(url, "again", "Create", KMSMasterKeyId=KEY_ARN)
    replica_update(url, "again", "Delete")
    replica_update(url, "again", "Create", KMSMasterKeyId=KEY_ARN)
    assert describe(url, PRIMARY, "again")["Replicas"][0]["ReplicaStatus"] == "ACTIVE"


@pytest.mark.parametrize(
    ("name", "fields", "message"),
    [
        ("cmk_without_key", {}, "KMSMasterKeyId must be specified"),
        ("twice", {"KMSMasterKeyId": KEY_ARN}, "already existed"),
    ],
)
def test_refused_creates(url, name, fields, message):
    create_table(url, name)
    if name == "twice":
        replica_update(url, name, "Create", KMSMasterKeyId=KEY_ARN)
    with pytest.raises(ClientError, match=message):
        replica_update(url, name, "Create", **fields)


def test_deleting_a_region_that_is_no_replica_answers_as_aws_does(url):
    """The AWS provider's table delete removes the replicas it last read and ignores exactly
    this answer for those aws_dynamodb_table_replica has already removed."""
    create_table(url, "never_replicated")
    with pytest.raises(ClientError, match="ValidationException") as refused:
        replica_update(url, "never_replicated", "Delete")
    assert "request was not found" in str(refused.value)


@pytest.mark.parametrize("action", ["Create", "Delete"])
def test_the_tables_own_region_is_refused(url, action):
    create_table(url, f"own_{action}")
    with pytest.raises(ClientError, match="Cannot add, delete, or update the local region"):
        aws_client("dynamodb", PRIMARY, url).update_table(
            TableName=f"own_{action}", ReplicaUpdates=[{action: {"RegionName": PRIMARY}}]
        )


def test_deleting_the_replica_table_itself_leaves_the_group(url):
    create_table(url, "left")
    replica_update(url, "left", "Create", KMSMasterKeyId=KEY_ARN)
    aws_client("dynamodb", REPLICA, url).delete_table(TableName="left")
    assert "Replicas" not in describe(url, PRIMARY, "left")


def test_a_table_without_a_stream_gets_one_with_its_first_replica(url):
    aws_client("dynamodb", PRIMARY, url).create_table(
        TableName="streamless",
        KeySchema=[{"AttributeName": "item_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "item_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    replica_update(url, "streamless", "Create")
    for region in (PRIMARY, REPLICA):
        spec = describe(url, region, "streamless")["StreamSpecification"]
        assert spec == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}, region
    assert "SSEDescription" not in describe(url, REPLICA, "streamless")
