"""moto's server in this process, on 127.0.0.1 (a free port), for tests of tools that read
DynamoDB streams: moto serves streams in server mode only (the in-process mock answers
DescribeStream with "Not yet implemented")."""

from __future__ import annotations

import contextlib

from moto.server import ThreadedMotoServer

from local.emulator import aws_client


@contextlib.contextmanager
def moto_server():
    """Yields the server's URL; stops it afterwards."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def create_table(url: str, region: str, name: str, key: str = "item_id") -> None:
    """A table shaped like the stack's: string partition key, NEW_AND_OLD_IMAGES stream."""
    aws_client("dynamodb", region, url).create_table(
        TableName=name,
        KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
