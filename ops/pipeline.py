"""The steps the GitHub workflows run, as plain commands that also run on a workstation.

    python -m ops.pipeline changed --base BASE_OUT --head HEAD_OUT [--github-output F] [--summary F]
    python -m ops.pipeline plan --env dev [--summary F]
    python -m ops.pipeline apply --env dev
    python -m ops.pipeline describe --env dev [--github-output F]
    python -m ops.pipeline smoke --env dev

``changed`` compares two synthesized output folders (the pull request's and its base's)
stack by stack, ignoring cdktf's ``//`` metadata, and prints the plan matrix: every real
environment whose ``cdk.tf.json`` differs (the Lambda zip's hash is in it, so code changes
count). ``plan`` runs ``terraform init`` and ``terraform plan -out=plan.tfplan`` in
``cdktf.out/stacks/backend-<env>`` and writes a Markdown summary of the plan. ``apply``
applies exactly that saved plan file; Terraform refuses it if the state moved since.
``describe`` prints the stack name, primary region and backend for a workflow step;
``smoke`` runs ops/smoke.py against every region's invoke URL from the stack's outputs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modules.config.loader import load_environments
from ops import terraform as tf
from ops.quota import QuotaError, require_lambda_concurrency

if TYPE_CHECKING:
    from modules.config.sections import EnvironmentConfig

PROJECT_DIR = Path(__file__).resolve().parent.parent
# The local environment's deployment file, when not .emulator/deployment.json (ops.pipeline smoke).
DEPLOYMENT_FILE_VARIABLE = "BACKEND_DEPLOYMENT_FILE"

PLAN_FILE = "plan.tfplan"
PLAN_JSON = "plan.json"
TIMEOUT = 1800


class PipelineError(RuntimeError):
    pass


def without_metadata(value: Any) -> Any:
    """The document without cdktf's ``//`` keys (construct paths, not configuration)."""
    if isinstance(value, dict):
        return {k: without_metadata(v) for k, v in value.items() if k != "//"}
    if isinstance(value, list):
        return [without_metadata(v) for v in value]
    return value


def stack_doc(outdir: Path, stack: str) -> Any:
    path = outdir / "stacks" / stack / "cdk.tf.json"
    return without_metadata(json.loads(path.read_text())) if path.is_file() else None


def changed_environments(base: Path | None, head: Path, configs: list[EnvironmentConfig]) -> dict[str, str]:
    """environment -> why it needs a plan. ``base`` None (it could not be synthesized)
    means every environment: when in doubt, plan."""
    reasons = {}
    for config in configs:
        new = stack_doc(head, config.stack_name)
        old = stack_doc(base, config.stack_name) if base else None
        if base is None:
            reasons[config.environment] = "the base branch could not be synthesized"
        elif old is None:
            reasons[config.environment] = "new environment"
        elif old != new:
            reasons[config.environment] = "synthesized stack changed"
    return reasons


def matrix(reasons: dict[str, str], configs: list[EnvironmentConfig]) -> dict:
    by_name = {c.environment: c for c in configs}
    return {
        "include": [
            {
                "environment": env,
                "stack": by_name[env].stack_name,
                "region": by_name[env].primary_region,
                "backend": by_name[env].state.backend,
            }
            for env in sorted(reasons)
        ]
    }


def changed(args: argparse.Namespace) -> int:
    configs = load_environments(PROJECT_DIR / "environments")
    real = [c for c in configs if not c.emulator]
    base = Path(args.base) if args.base and (Path(args.base) / "stacks").is_dir() else None
    reasons = changed_environments(base, Path(args.head), real)
    bootstrap_changed = base is None or stack_doc(base, "bootstrap") != stack_doc(Path(args.head), "bootstrap")
    result = matrix(reasons, real)
    lines = ["### Environments to plan", ""]
    lines += [f"- `{env}`: {why}" for env, why in sorted(reasons.items())] or ["- none: no synthesized stack changed"]
    if bootstrap_changed:
        lines += [
            "",
            "**The bootstrap stack changed** (deploy roles or state buckets): an administrator applies it "
            'before this merges (docs/delivery.md, "Bootstrap").',
        ]
    _append(args.summary, "\n".join(lines) + "\n")
    _append(args.github_output, f"matrix={json.dumps(result)}\nany={'true' if reasons else 'false'}\n")
    print(json.dumps(result))
    return 0


def _append(path: str | None, text: str) -> None:
    if path:
        with Path(path).open("a", encoding="utf-8") as handle:
            handle.write(text)


def load_config(name: str, *, emulator_allowed: bool = False) -> EnvironmentConfig:
    """``emulator_allowed``: the smoke step may check the local deployment (it changes nothing);
    planning and applying an emulator environment are make deploy's."""
    (config,) = load_environments(PROJECT_DIR / "environments", [name])
    if config.emulator and emulator_allowed:
        return config
    if config.emulator:
        raise PipelineError(f"{name} is an emulator environment: use make deploy")
    if config.state.backend == "local":
        raise PipelineError(
            f"{name} keeps its state in a local file, which a CI runner loses when the job ends; "
            'set [state] backend = "s3" or "cloud" in its environment file'
        )
    return config


def terraform(args: list[str], stack_dir: Path) -> str:
    result = tf.run(
        args,
        stack_dir,
        tf.terraform_env(PROJECT_DIR / "build"),
        timeout=TIMEOUT,
        on_line=lambda line: print(line, end="", flush=True),
    )
    if result.returncode != 0:
        raise PipelineError(f"terraform {args[0]} failed in {stack_dir} (exit {result.returncode})")
    return result.stdout


def terraform_json(args: list[str], stack_dir: Path) -> Any:
    """A terraform command's JSON on stdout, kept apart from warnings on stderr."""
    binary = tf.terraform_binary()
    if binary is None:
        raise PipelineError(tf.INSTALL_HINT)
    result = subprocess.run(
        [binary, *args],
        cwd=stack_dir,
        env=tf.terraform_env(PROJECT_DIR / "build"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    if result.returncode != 0:
        raise PipelineError(f"terraform {args[0]} failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout)


def summary(plan: dict, stack: str) -> str:
    """Markdown: counts, then every resource that changes with its action."""
    changes = [
        (rc["address"], rc["change"]["actions"])
        for rc in plan.get("resource_changes", [])
        if rc["change"]["actions"] not in (["no-op"], ["read"])
    ]
    label = {
        ("create",): "create",
        ("update",): "update",
        ("delete",): "**destroy**",
        ("delete", "create"): "**replace**",
        ("create", "delete"): "**replace**",
    }
    counts: dict[str, int] = {}
    for _, acts in changes:
        key = label.get(tuple(acts), "/".join(acts))
        counts[key] = counts.get(key, 0) + 1
    head = ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "no changes"
    lines = [f"### `{stack}`: {head}", ""]
    if changes:
        lines += ["| action | address |", "|---|---|"]
        lines += [f"| {label.get(tuple(a), '/'.join(a))} | `{addr}` |" for addr, a in sorted(changes)]
    return "\n".join(lines) + "\n"


def remote_summary(output: str, stack: str) -> str:
    """Summary of a speculative Terraform Cloud plan: its result line and the run's URL."""
    lines = output.splitlines()
    result = next(
        (line.strip() for line in lines if line.strip().startswith(("Plan:", "No changes."))), "no result line"
    )
    url = next((line.strip() for line in lines if line.strip().startswith("https://") and "/runs/" in line), "")
    return f"### `{stack}` (Terraform Cloud speculative plan): {result}\n\n{url}\n"


def check_quotas(config: EnvironmentConfig, client_for: Any = None) -> None:
    """Stop before Terraform runs when the account's quotas cannot hold the environment
    (ops/quota.py); the emulator has no quotas."""
    if config.emulator:
        return
    if client_for is None:
        import boto3

        client_for = lambda region: boto3.client("lambda", region_name=region)  # noqa: E731
    try:
        for region in require_lambda_concurrency(config, client_for):
            print(region.describe(config.stack_name), flush=True)
    except QuotaError as err:
        raise PipelineError(str(err)) from err


def plan(args: argparse.Namespace) -> int:
    config = load_config(args.env)
    stack_dir = PROJECT_DIR / "cdktf.out" / "stacks" / config.stack_name
    check_quotas(config)
    terraform(["init", "-input=false", "-no-color"], stack_dir)
    if args.speculative and config.state.backend == "cloud":
        # A saved cloud plan is a run waiting to be applied; a pull request only needs to
        # be shown one, which Terraform Cloud keeps with its own URL.
        output = terraform(["plan", "-input=false", "-no-color", "-lock-timeout=5m"], stack_dir)
        _append(args.summary, remote_summary(output, config.stack_name))
        return 0
    terraform(["plan", "-input=false", "-no-color", "-lock-timeout=5m", f"-out={PLAN_FILE}"], stack_dir)
    shown = terraform_json(["show", "-json", "-no-color", PLAN_FILE], stack_dir)
    (stack_dir / PLAN_JSON).write_text(json.dumps(shown))
    text = summary(shown, config.stack_name)
    _append(args.summary, text)
    print(text)
    return 0


def apply(args: argparse.Namespace) -> int:
    config = load_config(args.env)
    stack_dir = PROJECT_DIR / "cdktf.out" / "stacks" / config.stack_name
    if not (stack_dir / PLAN_FILE).is_file():
        raise PipelineError(f"no saved plan {stack_dir / PLAN_FILE}: apply only what was planned and reviewed")
    check_quotas(config)
    terraform(["init", "-input=false", "-no-color"], stack_dir)
    terraform(["apply", "-input=false", "-no-color", "-lock-timeout=5m", PLAN_FILE], stack_dir)
    return 0


def describe(args: argparse.Namespace) -> int:
    config = load_config(args.env)
    text = f"stack={config.stack_name}\nregion={config.primary_region}\nbackend={config.state.backend}\n"
    _append(args.github_output, text)
    print(text, end="")
    return 0


def read_only_smoke(urls: dict[str, str], timeout: float = 10.0) -> list[Any]:
    """An authenticated environment without a token: per region, /health answers 200 and an
    item read without a token 401 (the gateway, the authorizer and the route are wired);
    nothing is written."""
    import uuid

    from ops import smoke as smoke_tool

    checks = []
    for region, url in urls.items():
        base = url.rstrip("/")
        for name, path, expected in (
            ("health", "/health", 200),
            ("item read without a token is refused", f"/items/smoke-{uuid.uuid4()}", 401),
        ):
            started = time.monotonic()
            try:
                status = smoke_tool.request("GET", base + path, timeout=timeout).status
                ok, detail = status == expected, f"{status} (expected {expected})"
            except OSError as err:  # refused, unreachable, timed out: the region is down
                ok, detail = False, f"no answer: {err} (expected {expected})"
            ms = (time.monotonic() - started) * 1000
            checks.append(smoke_tool.Check(region, name, ok, detail, ms))
    return checks


def smoke_checks(config: EnvironmentConfig, urls: dict[str, str], token: str | None) -> list[Any]:
    """The full smoke (writes an item and deletes it) where it can authenticate: a public
    environment, or SMOKE_TOKEN (a client-credentials token of the issuer, items:read and
    items:write); else the read-only checks."""
    from ops import smoke as smoke_tool

    if config.auth.public or token:
        return smoke_tool.smoke(urls, token=token)
    return read_only_smoke(urls)


def invoke_urls(config: EnvironmentConfig) -> dict[str, str]:
    """region -> the stage's base URL: the applied stack's outputs; for the emulator, the
    deployment file `make deploy` wrote (``DEPLOYMENT_FILE_VARIABLE``, default
    .emulator/deployment.json), whose URLs are the local gateways that serve the deployed
    APIs (the outputs' invoke URLs are the emulator's, which serve nothing)."""
    if config.emulator:
        from local import deployment_file

        path = Path(os.environ.get(DEPLOYMENT_FILE_VARIABLE) or PROJECT_DIR / ".emulator" / "deployment.json")
        try:
            regions = deployment_file.load(path).regions
        except deployment_file.DeploymentFileError as err:
            raise PipelineError(f"{err} (deploy the local environment first: make deploy)") from err
        return {region: value.api_url for region, value in regions.items()}
    stack_dir = PROJECT_DIR / "cdktf.out" / "stacks" / config.stack_name
    regions = terraform_json(["output", "-json", "-no-color"], stack_dir)["regions"]["value"]
    return {region: value["invoke_url"] for region, value in regions.items()}


def smoke(args: argparse.Namespace) -> int:
    from ops import smoke as smoke_tool

    config = load_config(args.env, emulator_allowed=True)
    checks = smoke_checks(config, invoke_urls(config), os.environ.get("SMOKE_TOKEN") or None)
    print(smoke_tool.format_checks(checks))
    return 0 if checks and all(c.ok for c in checks) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("changed", help="which environments' synthesized stacks differ")
    p.add_argument("--base", help="the base branch's synthesized output folder (missing: plan everything)")
    p.add_argument("--head", required=True)
    p.add_argument("--github-output")
    p.add_argument("--summary")
    p = sub.add_parser("plan", help="init + plan -out for one environment")
    p.add_argument("--env", required=True)
    p.add_argument(
        "--speculative",
        action="store_true",
        help="pull requests: Terraform Cloud environments get a speculative plan, not a saved run",
    )
    p.add_argument("--summary")
    p = sub.add_parser("apply", help="apply the saved plan of one environment")
    p.add_argument("--env", required=True)
    p = sub.add_parser("describe", help="stack, primary region and backend of one environment")
    p.add_argument("--env", required=True)
    p.add_argument("--github-output")
    p = sub.add_parser("smoke", help="smoke-check every region of an applied environment")
    p.add_argument("--env", required=True)
    args = parser.parse_args(argv)
    commands = {"changed": changed, "plan": plan, "apply": apply, "describe": describe, "smoke": smoke}
    try:
        return commands[args.command](args)
    except PipelineError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
