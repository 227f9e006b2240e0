"""Benchmark the Lambda handlers (prints numbers; not a test).

(a) Import cost of functions.items + functions.health beyond boto3: in a fresh interpreter,
    import boto3 first, then time importing the handler modules; median of several runs.
    Target: <= 50 ms.
(b) Warm per-request cost of the create and get handlers against a bare boto3 client call
    on the same moto in-process table, same client; median over many iterations after a
    warm-up, interleaved so load on the machine hits all cases alike. Target: handler /
    bare <= 1.2. The bare call is the request the handler has to make: put_item with
    ReturnValues=ALL_OLD (the contract needs it to tell 201 from 200) and get_item with
    ConsistentRead. A minimal put_item (no ReturnValues) is shown for reference: in moto,
    returning the old item costs about as much as the write itself.

Run: .venv/bin/python benchmarks/handlers.py [--runs 9] [--iterations 2000]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

IMPORT_PROBE = """
import time, boto3
started = time.perf_counter()
import functions.items, functions.health
print(time.perf_counter() - started)
"""
BOTO3_PROBE = """
import time
started = time.perf_counter()
import boto3
print(time.perf_counter() - started)
"""


def import_times(runs):
    def probe(code):
        results = []
        for _ in range(runs):
            out = subprocess.run(
                [sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, text=True
            ).stdout
            results.append(float(out) * 1000)
        return statistics.median(results)

    return probe(IMPORT_PROBE), probe(BOTO3_PROBE)


def event(method, resource, path, path_parameters=None, body=None):
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": {"Content-Type": "application/json", "Host": "example.execute-api.eu-west-1.amazonaws.com"},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "pathParameters": path_parameters,
        "stageVariables": None,
        "requestContext": {"requestId": "bench-request", "stage": "prod", "httpMethod": method},
        "body": body,
        "isBase64Encoded": False,
    }


def per_request(iterations):
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_REGION="eu-west-1",
        AWS_DEFAULT_REGION="eu-west-1",
        AWS_EC2_METADATA_DISABLED="true",
        TABLE_NAME="bench-items",
    )
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE", "STATUS"):
        os.environ.pop(name, None)
    sys.path.insert(0, str(ROOT))
    from moto import mock_aws

    from functions import _aws, _json, _store, items
    from functions.schema import PARTITION_KEY

    document = {
        PARTITION_KEY: "bench-1",
        "name": "widget",
        "price": 0.1,
        "quantity": 12,
        "tags": ["a", "b", "c"],
        "dimensions": {"w": 10, "h": 2.5, "unit": "cm"},
        "active": True,
        "note": None,
    }
    body = json.dumps(document)
    create_event = event("POST", "/items", "/items", body=body)
    get_event = event("GET", "/items/{item_id}", "/items/bench-1", {"item_id": "bench-1"})

    with mock_aws():
        client = _aws.table().client
        client.create_table(
            TableName="bench-items",
            KeySchema=[{"AttributeName": PARTITION_KEY, "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": PARTITION_KEY, "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        # The same item, as the handler stores it, for the bare calls.
        attributes = _store.prepare_item(_json.loads(body), region="eu-west-1").attributes
        key = {PARTITION_KEY: {"S": "bench-1"}}

        cases = {
            "create handler": lambda: items.create_item(create_event, None),
            "bare put_item": lambda: client.put_item(
                TableName="bench-items", Item=attributes, ReturnValues="ALL_OLD"
            ),
            "minimal put_item": lambda: client.put_item(TableName="bench-items", Item=attributes),
            "get handler": lambda: items.get_item(get_event, None),
            "bare get_item": lambda: client.get_item(
                TableName="bench-items", Key=key, ConsistentRead=True
            ),
        }
        samples = {name: [] for name in cases}
        real_stdout = sys.stdout
        with open(os.devnull, "w") as devnull:
            sys.stdout = devnull  # the handlers' log lines are written (and cost) but not shown
            try:
                assert items.create_item(create_event, None)["statusCode"] in (200, 201)
                assert items.get_item(get_event, None)["statusCode"] == 200
                for name, call in cases.items():  # warm-up
                    for _ in range(200):
                        call()
                for _ in range(iterations):
                    for name, call in cases.items():
                        started = time.perf_counter_ns()
                        call()
                        samples[name].append(time.perf_counter_ns() - started)
            finally:
                sys.stdout = real_stdout
    return {name: statistics.median(values) / 1000 for name, values in samples.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="fresh interpreters for the import time")
    parser.add_argument("--iterations", type=int, default=2000, help="timed calls per case")
    args = parser.parse_args()

    handlers_ms, boto3_ms = import_times(args.runs)
    print(f"import functions.items + functions.health after boto3: {handlers_ms:.1f} ms "
          f"(median of {args.runs}; target <= 50 ms; boto3 itself: {boto3_ms:.1f} ms)")

    medians = per_request(args.iterations)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"per request, median of {args.iterations} (moto in-process, same client; "
          f"load average {load} on {os.cpu_count()} CPUs):")
    for name, micros in medians.items():
        print(f"  {name:17s} {micros:9.1f} us")
    for handler, bare in (
        ("create handler", "bare put_item"),
        ("get handler", "bare get_item"),
        ("create handler", "minimal put_item"),
    ):
        ratio = medians[handler] / medians[bare]
        overhead = medians[handler] - medians[bare]
        target = "" if bare == "minimal put_item" else "; target <= 1.2x"
        print(f"  {handler} / {bare}: {ratio:.3f}x ({overhead:+.1f} us{target})")


if __name__ == "__main__":
    main()
