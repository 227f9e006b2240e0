"""Benchmark the IAM evaluator (prints numbers; not a test): microseconds per evaluation for the
dev deploy role's policy set as the bootstrap stack synthesizes it, for requests that stop at
different points (an allow found early, one that needs conditions, implicit and explicit deny
after scanning every statement). Median over --runs of --iterations each.

Run: .venv/bin/python benchmarks/iam_eval.py [--runs 7] [--iterations 2000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from local.iam import Request, evaluate
from tests.local.iam.bootstrap_policies import principal, synthesize_bootstrap

ACCOUNT = "111111111111"
KEY = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
CASES = {
    "allow, no condition (lambda get)": Request(
        "lambda:GetFunction", f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:items-dev-create-item-eu-west-1"
    ),
    "allow with conditions (kms via dynamodb)": Request(
        "kms:Decrypt", KEY, {"aws:ResourceTag/environment": "dev", "kms:ViaService": "dynamodb.eu-west-1.amazonaws.com"}
    ),
    "implicit deny (replica refresh)": Request("kms:DescribeKey", KEY, {"kms:RequestAlias": "alias/aws/dynamodb"}),
    "explicit deny": Request("iam:DeleteRolePermissionsBoundary", f"arn:aws:iam::{ACCOUNT}:role/items-dev-x"),
}


def per_evaluation_us(role, request: Request, iterations: int) -> float:
    start = time.perf_counter()
    for _ in range(iterations):
        evaluate(role, request)
    return (time.perf_counter() - start) / iterations * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--iterations", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as outdir:
        role = principal(synthesize_bootstrap(Path(outdir)), "deploy-items-dev", ACCOUNT)
    statements = sum(len(policy.document["Statement"]) for policy in role.identity_policies)
    print(f"deploy-items-dev: {len(role.identity_policies)} policies, {statements} statements")
    for name, request in CASES.items():
        evaluate(role, request)  # warm the wildcard cache
        samples = [per_evaluation_us(role, request, args.iterations) for _ in range(args.runs)]
        verdict = evaluate(role, request).verdict.value
        print(f"{name:45} {verdict:16} median {statistics.median(samples):7.1f} us  (min {min(samples):.1f})")


if __name__ == "__main__":
    main()
