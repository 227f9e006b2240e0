"""The local stack is what `dev` deploys, applied to the emulator: the Terraform resource types
of backend-local and backend-dev may differ only where this file says why. A type the emulator
cannot apply must not be swapped for something else silently (as the per-region tables that
once stood in for DynamoDB replicas were)."""

from __future__ import annotations

# type -> why it is in one of the two stacks only ("local only" / "dev only" in the reason).
_CORS = "local only: environments/local.toml sets [api] cors_origins (a browser app on localhost), dev sets none"
ALLOWED_DIFFERENCES: dict[str, str] = {
    "aws_api_gateway_gateway_response": _CORS,
    "aws_api_gateway_integration_response": _CORS,
    "aws_api_gateway_method_response": _CORS,
    "aws_xray_sampling_rule": "dev only: moto has no X-Ray sampling rules (CreateSamplingRule is not implemented)",
}


def resource_types(doc: dict) -> set[str]:
    return set(doc.get("resource", {})) | {f"data.{t}" for t in doc.get("data", {})}


def test_local_and_dev_differ_only_in_the_listed_resource_types(synthesized):
    local, dev = resource_types(synthesized["local"]), resource_types(synthesized["dev"])
    differences = {**{t: "local only" for t in local - dev}, **{t: "dev only" for t in dev - local}}
    assert sorted(differences) == sorted(ALLOWED_DIFFERENCES), differences
    for rtype, side in differences.items():
        assert ALLOWED_DIFFERENCES[rtype].startswith(side), f"{rtype} is {side}: {ALLOWED_DIFFERENCES[rtype]}"


def test_both_stacks_have_the_global_table_and_its_replicas(synthesized):
    for name in ("local", "dev"):
        assert {"aws_dynamodb_table", "aws_dynamodb_table_replica"} <= resource_types(synthesized[name]), name
        assert len(synthesized[name]["resource"]["aws_dynamodb_table"]) == 1, name
