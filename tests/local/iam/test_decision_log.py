"""The emulator `make deploy` starts keeps every IAM decision in its state directory, one line
each: allowed calls at INFO, refused ones at WARNING (ops/iam_report.py reads them)."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError

from local import emulator
from local.emulator import aws_client

REGION, ACCOUNT = "eu-west-1", "123456789012"


def document(statement: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": [statement]}


@pytest.mark.timeout(120)
def test_the_emulator_writes_one_line_per_decision_into_its_state_directory(tmp_path):
    state_dir = tmp_path / ".emulator"
    proc, port = emulator.start_emulator(state_dir)
    url = f"http://127.0.0.1:{port}"
    try:
        iam = aws_client("iam", REGION, url)
        trust = document({"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": ACCOUNT}})
        iam.create_role(RoleName="lister", AssumeRolePolicyDocument=json.dumps(trust))
        policy = document({"Sid": "List", "Effect": "Allow", "Action": "dynamodb:ListTables", "Resource": "*"})
        iam.put_role_policy(RoleName="lister", PolicyName="list", PolicyDocument=json.dumps(policy))
        aws_client("dynamodb", REGION, url).list_tables()  # root: not evaluated, not logged
        creds = aws_client("sts", REGION, url).assume_role(
            RoleArn=f"arn:aws:iam::{ACCOUNT}:role/lister", RoleSessionName="report"
        )["Credentials"]
        role = boto3.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
            region_name=REGION,
        ).client("dynamodb", endpoint_url=url)
        role.list_tables()
        role.list_tables()
        with pytest.raises(ClientError):
            role.describe_table(TableName="items")
        lines = (state_dir / emulator.DECISION_LOG).read_text().splitlines()
    finally:
        emulator.stop_pid(proc.pid)
    session = f"arn:aws:sts::{ACCOUNT}:assumed-role/lister/report"
    assert [line.split(" ", 2)[2] for line in lines] == [
        f"INFO IAM: {session} dynamodb:ListTables on *: allowed by lister/list List",
        f"INFO IAM: {session} dynamodb:ListTables on *: allowed by lister/list List",
        f"WARNING IAM: {session} dynamodb:DescribeTable on arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/items: "
        f"no identity policy of arn:aws:iam::{ACCOUNT}:role/lister allows dynamodb:DescribeTable",
    ]
