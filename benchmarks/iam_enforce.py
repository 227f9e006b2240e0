"""Benchmark what IAM enforcement adds to a call to the emulator (prints numbers; not a test):
milliseconds per DynamoDB GetItem, over HTTP to the emulator's server application on
127.0.0.1, signed by an assumed role with enforcement on, by the same role with moto's own
(no-op) check put back, and by the root test keys (never checked). The modes are interleaved
in rounds so that machine load hits each alike; the median round is printed.

Run: .venv/bin/python benchmarks/iam_enforce.py [--calls 500] [--rounds 10]
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import boto3
from moto.core.authorization import ActionAuthenticatorMixin
from werkzeug.serving import make_server

from local import iam_enforcement
from local.emulator import aws_client
from local.emulator_server import OneWriteRequestHandler, emulator_app

REGION, ACCOUNT, TABLE = "eu-west-1", "123456789012", "bench"
POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": "dynamodb:GetItem",
            "Resource": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{TABLE}",
        }
    ],
}


def set_up(url: str) -> boto3.Session:
    """The table, a role allowed to read it, and a session of that role (root keys for set-up)."""
    aws_client("dynamodb", REGION, url).create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "item_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "item_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    aws_client("dynamodb", REGION, url).put_item(TableName=TABLE, Item={"item_id": {"S": "a"}})
    iam = aws_client("iam", REGION, url)
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "sts:AssumeRole"}],
    }
    iam.create_role(RoleName="reader", AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(RoleName="reader", PolicyName="read", PolicyDocument=json.dumps(POLICY))
    creds = aws_client("sts", REGION, url).assume_role(
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/reader", RoleSessionName="bench"
    )["Credentials"]
    return boto3.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name=REGION,
    )


def ms_per_call(client, calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        client.get_item(TableName=TABLE, Key={"item_id": {"S": "a"}})
    return (time.perf_counter() - start) * 1000 / calls


class TimedHook:
    """The enforcement hook, timing itself: the work it adds to each call, apart from the
    noise of the HTTP round trip on a loaded machine."""

    def __init__(self, hook) -> None:
        self.hook, self.seconds, self.calls = hook, 0.0, 0

    def __get__(self, handler, owner=None):
        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return self.hook(handler, *args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - start
                self.calls += 1

        return timed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=500, help="GetItem calls per mode and round")
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one log line per call would be measured too
    server = make_server("127.0.0.1", 0, emulator_app(), threaded=True, request_handler=OneWriteRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}"
    role = set_up(url).client("dynamodb", endpoint_url=url)
    root = aws_client("dynamodb", REGION, url)
    enforced = TimedHook(iam_enforcement.authorize)
    ActionAuthenticatorMixin._authenticate_and_authorize_normal_action = enforced  # type: ignore[method-assign, assignment]
    results: dict[str, list[float]] = {"assumed role, enforced": [], "assumed role, not enforced": [], "root": []}
    for client in (role, root):
        ms_per_call(client, 20)  # warm-up: connections, caches
    hook_ms: dict[str, list[float]] = {"assumed role": [], "root": []}
    for _ in range(args.rounds):
        enforced.seconds, enforced.calls = 0.0, 0
        results["assumed role, enforced"].append(ms_per_call(role, args.calls))
        hook_ms["assumed role"].append(enforced.seconds * 1000 / enforced.calls)
        ActionAuthenticatorMixin._authenticate_and_authorize_normal_action = iam_enforcement.MOTO_CHECK  # type: ignore[method-assign]
        results["assumed role, not enforced"].append(ms_per_call(role, args.calls))
        ActionAuthenticatorMixin._authenticate_and_authorize_normal_action = enforced  # type: ignore[method-assign, assignment]
        enforced.seconds, enforced.calls = 0.0, 0
        results["root"].append(ms_per_call(root, args.calls))
        hook_ms["root"].append(enforced.seconds * 1000 / enforced.calls)
    for mode, values in results.items():
        print(f"{mode:28} {statistics.median(values):6.2f} ms/call (median of {args.rounds} rounds of {args.calls})")
    added = statistics.median(results["assumed role, enforced"]) - statistics.median(
        results["assumed role, not enforced"]
    )
    print(f"{'enforcement adds':28} {added:6.2f} ms/call (difference of the medians)")
    for mode, values in hook_ms.items():
        print(f"{'hook time, ' + mode:28} {statistics.median(values):6.3f} ms/call (median of the rounds)")
    server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
