"""A stuck apply on the emulator fails fast, names the resource and shows what the emulator
answered, instead of waiting out a provider retry loop (the AWS provider retries a 409 on
CreateFunction for five minutes)."""

from __future__ import annotations

import json
import re
import subprocess
import time

import pytest

from ops import deploy
from ops import terraform as tf

# Lines as moto's server (werkzeug) writes them, colour codes included.
MOTO_LOG = "\n".join(
    [
        " * Running on http://127.0.0.1:5000",
        '127.0.0.1 - - [27/Nov/2026 16:40:15] "\x1b[35m\x1b[1mPOST /2015-03-31/functions HTTP/1.1\x1b[0m" 201 -',
        '127.0.0.1 - - [27/Nov/2026 16:40:15] "GET /2015-03-31/functions/items-local-health HTTP/1.1" 200 -',
        *[
            f'127.0.0.1 - - [27/Nov/2026 16:4{n}:25] "\x1b[33mPOST /2015-03-31/functions HTTP/1.1\x1b[0m" 409 -'
            for n in range(3)
        ],
        '127.0.0.1 - - [27/Nov/2026 16:42:30] "\x1b[33mGET /2015-03-31/functions/nope HTTP/1.1\x1b[0m" 404 -',
    ]
)


def test_progress_lines_give_each_resources_elapsed_time():
    watch = deploy.StuckResources(limit=60)
    watch.see("aws_lambda_function.eu-central-1_api_health_function_D8952BE7: Still creating... [50s elapsed]")
    watch.see("aws_kms_key.eu-west-1_key_key_1: Still creating... [10s elapsed]")
    assert watch.stuck() is None
    watch.see("aws_lambda_function.eu-central-1_api_health_function_D8952BE7: Still creating... [1m0s elapsed]")
    assert watch.stuck() == "aws_lambda_function.eu-central-1_api_health_function_D8952BE7 has been creating for 60 s"
    watch.see("aws_lambda_function.eu-central-1_api_health_function_D8952BE7: Creation complete after 1m3s [id=x]")
    assert watch.stuck() is None


def test_destroy_and_modify_are_watched_too():
    """Once a resource has an id, Terraform prints it before the time."""
    watch = deploy.StuckResources(limit=30)
    watch.see("aws_lambda_function.f: Still modifying... [id=items-local-health, 20s elapsed]")
    watch.see("aws_dynamodb_table.t: Still destroying... [id=items, 2m10s elapsed]")
    assert watch.stuck() == "aws_dynamodb_table.t has been destroying for 130 s"
    watch.see("aws_dynamodb_table.t: Destruction complete after 2m11s")
    watch.see("aws_lambda_function.f: Still modifying... [id=items-local-health, 1h0m30s elapsed]")
    assert watch.stuck() == "aws_lambda_function.f has been modifying for 3630 s"


def test_emulator_errors_count_and_show_failed_requests(tmp_path):
    log = tmp_path / "moto.log"
    log.write_text(MOTO_LOG)
    text = deploy.emulator_errors(log)
    assert "   3 x 409  POST /2015-03-31/functions" in text
    assert "   1 x 404  GET /2015-03-31/functions/nope" in text
    assert " 201 " not in text and " 200 " not in text
    assert text.count("409 -") == 3


def test_emulator_errors_without_failures_or_log(tmp_path):
    assert "no emulator log" in deploy.emulator_errors(tmp_path / "missing.log")
    (tmp_path / "ok.log").write_text(MOTO_LOG.splitlines()[1])
    assert "below 400" in deploy.emulator_errors(tmp_path / "ok.log")


@pytest.mark.terraform
def test_a_stuck_apply_stops_with_the_resource_and_the_emulator_errors(tmp_path, terraform_bin):
    """Real Terraform, a resource that never finishes (a provisioner sleeping 300 s): the
    apply stops at the first progress line past the limit and leaves nothing running."""
    stack = tmp_path / "stack"
    stack.mkdir()
    marker = f"sleep-{time.time_ns()}"
    (stack / "main.tf.json").write_text(
        json.dumps(
            {
                "resource": {
                    "terraform_data": {"slow": {"provisioner": {"local-exec": {"command": f"sleep 300 # {marker}"}}}}
                }
            }
        )
    )
    env = tf.terraform_env(tmp_path / "build")
    assert tf.run(["init", "-input=false", "-no-color"], stack, env, 120).returncode == 0
    log = tmp_path / "moto.log"
    log.write_text(MOTO_LOG)
    started = time.monotonic()
    with pytest.raises(deploy.DeployError) as raised:
        deploy.apply(stack, env, tmp_path, stuck_after=5, emulator_log=log)
    elapsed = time.monotonic() - started
    message = str(raised.value)
    # Terraform's first "Still creating... [10s elapsed]" line past the 5 s limit, which it prints
    # a second late when the machine is busy (make test's other worker): never its 20 s line.
    creating = re.search(r"terraform_data\.slow has been creating for (\d+) s", message)
    assert creating and 10 <= int(creating.group(1)) < 20, message
    assert "3 x 409  POST /2015-03-31/functions" in message
    assert elapsed < 40, f"took {elapsed:.0f} s to notice"
    left = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True).stdout.split()
    assert not left, f"terraform's children still run: {left}"
