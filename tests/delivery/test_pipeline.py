"""ops/pipeline.py: which environments a change needs planned, and the plan summary."""

from __future__ import annotations

import copy
import json
import os
from typing import TYPE_CHECKING

import pytest

from ops import pipeline

if TYPE_CHECKING:
    from pathlib import Path


def write(outdir: Path, stack: str, doc: dict) -> None:
    path = outdir / "stacks" / stack
    path.mkdir(parents=True, exist_ok=True)
    (path / "cdk.tf.json").write_text(json.dumps(doc))


@pytest.fixture
def outdirs(tmp_path, synthesized):
    base, head = tmp_path / "base", tmp_path / "head"
    for env in ("dev", "staging", "prod"):
        write(base, f"backend-{env}", synthesized[env])
        write(head, f"backend-{env}", synthesized[env])
    return base, head


def real(environment_configs):
    return [c for c in environment_configs.values() if not c.emulator]


def test_nothing_changed_plans_nothing(outdirs, environment_configs):
    base, head = outdirs
    assert pipeline.changed_environments(base, head, real(environment_configs)) == {}


def test_metadata_only_changes_are_not_changes(outdirs, environment_configs, synthesized):
    base, head = outdirs
    doc = copy.deepcopy(synthesized["dev"])
    doc["//"] = {"metadata": {"version": "other"}}
    write(head, "backend-dev", doc)
    assert pipeline.changed_environments(base, head, real(environment_configs)) == {}


def test_a_changed_stack_is_planned_alone(outdirs, environment_configs, synthesized):
    base, head = outdirs
    doc = copy.deepcopy(synthesized["staging"])
    next(iter(doc["resource"]["aws_lambda_function"].values()))["memory_size"] = 1024
    write(head, "backend-staging", doc)
    reasons = pipeline.changed_environments(base, head, real(environment_configs))
    assert reasons == {"staging": "synthesized stack changed"}
    m = pipeline.matrix(reasons, real(environment_configs))
    assert m == {
        "include": [{"environment": "staging", "stack": "backend-staging", "region": "eu-west-1", "backend": "s3"}]
    }


def test_without_a_base_every_environment_is_planned(outdirs, environment_configs):
    _, head = outdirs
    assert set(pipeline.changed_environments(None, head, real(environment_configs))) == {"dev", "staging", "prod"}


def test_changed_writes_the_matrix_for_github(outdirs, tmp_path, synthesized):
    base, head = outdirs
    doc = copy.deepcopy(synthesized["prod"])
    doc["output"]["table_name"]["value"] = "x"
    write(head, "backend-prod", doc)
    output, summary = tmp_path / "out.txt", tmp_path / "summary.md"
    assert (
        pipeline.main(
            [
                "changed",
                "--base",
                str(base),
                "--head",
                str(head),
                "--github-output",
                str(output),
                "--summary",
                str(summary),
            ]
        )
        == 0
    )
    lines = dict(line.split("=", 1) for line in output.read_text().splitlines())
    assert lines["any"] == "true"
    assert [e["environment"] for e in json.loads(lines["matrix"])["include"]] == ["prod"]
    assert "`prod`: synthesized stack changed" in summary.read_text()


def test_plan_summary_counts_and_flags_destruction():
    plan = {
        "resource_changes": [
            {"address": "aws_s3_bucket.a", "change": {"actions": ["create"]}},
            {"address": "aws_iam_role.b", "change": {"actions": ["delete", "create"]}},
            {"address": "aws_sns_topic.c", "change": {"actions": ["no-op"]}},
            {"address": "aws_kms_key.d", "change": {"actions": ["delete"]}},
        ]
    }
    text = pipeline.summary(plan, "backend-dev")
    assert text.startswith("### `backend-dev`: 1 **destroy**, 1 **replace**, 1 create")
    assert "| **replace** | `aws_iam_role.b` |" in text and "aws_sns_topic.c" not in text


def test_local_environments_are_refused():
    with pytest.raises(pipeline.PipelineError, match="emulator environment"):
        pipeline.load_config("local")


def test_remote_summary_shows_the_result_and_the_run():
    output = (
        "Running plan in HCP Terraform...\n\nTo view this run in a browser, visit:\n"
        "https://app.terraform.io/app/example-platform/backend-prod/runs/run-abc123\n\n"
        "Plan: 2 to add, 1 to change, 0 to destroy.\n"
    )
    text = pipeline.remote_summary(output, "backend-prod")
    assert "Plan: 2 to add, 1 to change, 0 to destroy." in text
    assert "https://app.terraform.io/app/example-platform/backend-prod/runs/run-abc123" in text


@pytest.mark.terraform
def test_summary_reads_a_real_saved_plan(tmp_path, terraform_bin, monkeypatch):
    """The JSON of `terraform show -json <saved plan>` from the real Terraform, not a fixture."""
    from ops import terraform as tf

    (tmp_path / "main.tf.json").write_text(json.dumps({"resource": {"terraform_data": {"marker": {"input": "a"}}}}))
    env = tf.terraform_env(tmp_path / "build")
    for args in (["init", "-input=false", "-no-color"], ["plan", "-input=false", "-no-color", "-out=plan.tfplan"]):
        result = tf.run(args, tmp_path, env, timeout=120)
        assert result.returncode == 0, result.stdout
    # The CLI config warning of a machine with a missing config file goes to stderr, not into the JSON.
    monkeypatch.setenv("TF_CLI_CONFIG_FILE", str(tmp_path / "absent.tfrc"))
    monkeypatch.setattr(pipeline.tf, "terraform_env", lambda build_dir, extra=None: dict(os.environ))
    text = pipeline.summary(
        pipeline.terraform_json(["show", "-json", "-no-color", "plan.tfplan"], tmp_path), "backend-x"
    )
    assert text.startswith("### `backend-x`: 1 create")
    assert "| create | `terraform_data.marker` |" in text
