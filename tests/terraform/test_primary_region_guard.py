"""Real Terraform refuses to move a protected environment's primary region. The guard is the
synthesized ``terraform_data`` resource itself, applied to a local state; the next synth,
after ``primary_region`` moved, differs only in the region it records. (Terraform's
built-in provider: no AWS, no emulator.)"""

from __future__ import annotations

import json

import pytest

from ops import terraform as tf

pytestmark = pytest.mark.terraform


def guard(doc: dict) -> tuple[str, dict]:
    ((name, body),) = doc["resource"]["terraform_data"].items()
    return name, body


def moved(body: dict, region: str) -> dict:
    text = json.dumps(body)
    primary = body["input"]["primary_region"]
    return json.loads(text.replace(json.dumps(primary), json.dumps(region)))


def plan_after_move(tmp_path, doc: dict, region: str) -> tuple[str, object]:
    name, body = guard(doc)
    env = tf.terraform_env(tmp_path / "build")
    config = tmp_path / "main.tf.json"

    def write(resource: dict) -> None:
        config.write_text(json.dumps({"resource": {"terraform_data": {name: resource}}}))

    write(body)
    for args in (["init", "-input=false", "-no-color"], ["apply", "-auto-approve", "-input=false", "-no-color"]):
        done = tf.run(args, tmp_path, env, timeout=120)
        assert done.returncode == 0, done.stdout
    write(moved(body, region))
    return name, tf.run(["plan", "-detailed-exitcode", "-input=false", "-no-color"], tmp_path, env, timeout=120)


def test_a_protected_environment_refuses_a_new_primary_region(tmp_path, synthesized, all_configs, terraform_bin):
    prod = all_configs["prod"]
    assert prod.table.deletion_protection
    name, planned = plan_after_move(tmp_path, synthesized["prod"], prod.secondary_regions[0])
    assert planned.returncode == 1, planned.stdout
    assert "Instance cannot be destroyed" in planned.stdout
    assert f"terraform_data.{name} has lifecycle.prevent_destroy set" in " ".join(planned.stdout.split())


def test_an_unprotected_environment_shows_the_move_as_a_replacement(tmp_path, synthesized, all_configs, terraform_bin):
    dev = all_configs["dev"]
    assert not dev.table.deletion_protection
    name, planned = plan_after_move(tmp_path, synthesized["dev"], dev.secondary_regions[0])
    assert planned.returncode == 2, planned.stdout
    assert f"terraform_data.{name} must be replaced" in planned.stdout


def test_the_same_primary_plans_nothing(tmp_path, synthesized, all_configs, terraform_bin):
    _, planned = plan_after_move(tmp_path, synthesized["prod"], all_configs["prod"].primary_region)
    assert planned.returncode == 0, planned.stdout
