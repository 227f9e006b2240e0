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

(c) Cold-start import of Powertools for AWS Lambda's Logger and Metrics (pinned in
    requirements.txt for this comparison only), the same way as (a): what adopting them
    would add to every cold start, against our own _log module inside (a).
(d) The 413 for an oversized body: create_item on a 6 MB body (ASCII, and 2-byte UTF-8
    characters) and on the slowest body the size check still has to measure (1,228,800
    non-ASCII characters: UTF-8 encoded to count its bytes); median of --runs. Target:
    6 MB answered in < 10 ms.
(e) Bodies at the size limit in the shapes that cost most to parse and convert (many tiny
    values): time to the answer and the process's peak memory above its baseline, each in
    a fresh interpreter. These are what the body limit and the value budget bound.

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


POWERTOOLS_PROBE = """
import time, boto3
started = time.perf_counter()
from aws_lambda_powertools import Logger, Metrics
Logger(service="items"); Metrics(namespace="items", service="items")
print(time.perf_counter() - started)
"""


def import_times(runs):
    """Median import times (ms) of our handlers, boto3 and Powertools, interleaved."""
    probes = {"handlers": IMPORT_PROBE, "boto3": BOTO3_PROBE, "powertools": POWERTOOLS_PROBE}
    results: dict[str, list[float]] = {name: [] for name in probes}
    env = {**os.environ, "POWERTOOLS_METRICS_DISABLED": "true"}
    for _ in range(runs):
        for name, code in probes.items():
            out = subprocess.run(
                [sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, text=True, env=env
            ).stdout
            results[name].append(float(out) * 1000)
    return {name: statistics.median(values) for name, values in results.items()}


def oversized_body(runs):
    """Median ms to the 413 for each body, through create_item (no DynamoDB reached)."""
    sys.path.insert(0, str(ROOT))
    from functions import items
    from functions.schema import MAX_BODY_BYTES as limit

    bodies = {
        "6 MB ASCII body": "x" * 6_000_000,
        "6 MB body of 2-byte characters": "é" * 3_000_000,
        f"{limit:,} characters, {2 * limit:,} bytes": "é" * limit,
    }
    results = {}
    real_stdout = sys.stdout
    with Path(os.devnull).open("w") as devnull:
        sys.stdout = devnull
        try:
            for name, body in bodies.items():
                request = event("POST", "/items", "/items", body=body)
                samples = []
                for _ in range(runs):
                    started = time.perf_counter()
                    status = items.create_item(request, None)["statusCode"]
                    samples.append((time.perf_counter() - started) * 1000)
                    assert status == 413, status
                results[name] = statistics.median(samples)
        finally:
            sys.stdout = real_stdout
    return results


SHAPE_PROBE = """
import json, resource, sys, time
sys.path.insert(0, ".")
from functions import _store, items, schema
limit = schema.MAX_BODY_BYTES
shape = sys.argv[1]
unit = {"zeros": "0", "empty lists": "[]", "empty maps": "{}", "nulls": "null", "short strings": '"ab"'}
if shape == "small attributes":
    body, i = [], 0
    while sum(map(len, body)) + len(body) + 2 < limit - 20:
        body.append('"%x":0' % i); i += 1
    body = "{" + ",".join(body) + "}"
else:
    count = (limit - 10) // (len(unit[shape]) + 1)
    body = '{"l":[' + ",".join([unit[shape]] * count) + "]}"
request = {"httpMethod": "POST", "headers": {"Content-Type": "application/json"}, "body": body,
           "requestContext": {"requestId": "bench"}, "isBase64Encoded": False}
sys.stdout = open("/dev/null", "w")
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
status = items.create_item(request, None)["statusCode"]
elapsed = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
sys.__stdout__.write(json.dumps([len(body), status, elapsed * 1000, (peak - base) / 1024]))
"""
SHAPES = ("zeros", "empty lists", "empty maps", "nulls", "short strings", "small attributes")


def worst_shapes():
    env = {
        **os.environ,
        "AWS_REGION": "eu-west-1",
        "TABLE_NAME": "bench-items",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
    }  # never reached: every shape is refused first
    results = {}
    for shape in SHAPES:
        out = subprocess.run(
            [sys.executable, "-c", SHAPE_PROBE, shape], cwd=ROOT, check=True, capture_output=True, text=True, env=env
        ).stdout
        results[shape] = json.loads(out)
    return results


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
            "bare put_item": lambda: client.put_item(TableName="bench-items", Item=attributes, ReturnValues="ALL_OLD"),
            "minimal put_item": lambda: client.put_item(TableName="bench-items", Item=attributes),
            "get handler": lambda: items.get_item(get_event, None),
            "bare get_item": lambda: client.get_item(TableName="bench-items", Key=key, ConsistentRead=True),
        }
        samples: dict[str, list[float]] = {name: [] for name in cases}
        real_stdout = sys.stdout
        with Path(os.devnull).open("w") as devnull:
            sys.stdout = devnull  # the handlers' log lines are written (and cost) but not shown
            try:
                assert items.create_item(create_event, None)["statusCode"] in (200, 201)
                assert items.get_item(get_event, None)["statusCode"] == 200
                for call in cases.values():  # warm-up
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

    imports = import_times(args.runs)
    print(
        f"import functions.items + functions.health after boto3: {imports['handlers']:.1f} ms "
        f"(median of {args.runs}; target <= 50 ms; boto3 itself: {imports['boto3']:.1f} ms)"
    )
    print(
        f"import + create Powertools Logger and Metrics after boto3: {imports['powertools']:.1f} ms "
        f"(median of {args.runs}; what adopting them would add to each cold start)"
    )

    print(f"413 for an oversized body, create_item, median of {args.runs} (target < 10 ms for 6 MB):")
    for name, millis in oversized_body(args.runs).items():
        print(f"  {name:40s} {millis:7.2f} ms")

    print("bodies at the size limit, most objects per byte (fresh interpreter each):")
    for shape, (size, status, millis, mib) in worst_shapes().items():
        print(f"  {shape:16s} {size:>9,} bytes -> {status} in {millis:6.0f} ms, peak memory +{mib:.0f} MiB")

    medians = per_request(args.iterations)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"per request, median of {args.iterations} (moto in-process, same client; "
        f"load average {load} on {os.cpu_count()} CPUs):"
    )
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
