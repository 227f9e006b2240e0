"""Terraform as the pipeline's roles on the emulator (issue 18 item 3): the bootstrap stack for
an emulator environment (its deploy and plan roles and GitHub's OIDC provider, in the
emulator's account), GitHub-shaped tokens from the local issuer, and Terraform's environment
for a role run, which assumes the role with AssumeRoleWithWebIdentity as the workflows do.

    python -m ops.pipeline_roles --env local --stack-json <cdk.tf.json> --root .emulator/bootstrap
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
BOOTSTRAP_STACK = "bootstrap"  # modules/bootstrap/delivery.py's; the stack's folder in cdktf.out
# GitHub environments whose jobs may assume each role (modules/bootstrap/stack.py).
GITHUB_ENVIRONMENTS = {"plan": "{env}-plan", "deploy": "{env}"}
# The emulator's message, as AWS words it: "User: <arn> is not authorized to perform: <action>
# on resource: <arn> because ...".
ACCESS_DENIED = re.compile(r"User: (arn:\S+) is not authorized to perform: (\S+) on resource: (\S+)")


@dataclass(frozen=True)
class Role:
    """A pipeline role: ``kind`` (plan or deploy), its ARN, the GitHub environment its token names."""

    kind: str
    arn: str
    github_environment: str

    @property
    def name(self) -> str:
        return self.arn.rsplit("/", 1)[-1]


def roles(bootstrap_outputs: dict, environment: str) -> dict[str, Role]:
    """The plan and deploy roles of ``environment`` from the bootstrap's ``roles`` output."""
    arns = bootstrap_outputs["roles"][environment]
    return {
        kind: Role(kind, arns[f"{kind}_role_arn"], pattern.format(env=environment))
        for kind, pattern in GITHUB_ENVIRONMENTS.items()
    }


def write_token(path: Path, token: str) -> Path:
    """The token in a file created 0600 (never readable by others, not even briefly)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as stream:
        stream.write(token)
    path.chmod(0o600)
    return path


def role_env(role: Role, key_dir: Path, repository: str, token_dir: Path, endpoint: str) -> dict[str, str]:
    """What Terraform needs to run as ``role``: a fresh token of ``repository``'s job in the
    role's GitHub environment, and no static keys (ops/terraform.py drops inherited ones)."""
    from local import issuer

    token = issuer.mint_github(key_dir, repository, role.github_environment)
    return {
        "AWS_ENDPOINT_URL": endpoint,
        # The provider's web identity credentials call STS at this endpoint, not AWS_ENDPOINT_URL's.
        "AWS_ENDPOINT_URL_STS": endpoint,
        "AWS_ROLE_ARN": role.arn,
        "AWS_WEB_IDENTITY_TOKEN_FILE": str(write_token(token_dir / f"{role.kind}.jwt", token).resolve()),
        "AWS_ROLE_SESSION_NAME": role.kind,
    }


def refused(output: str) -> str | None:
    """``<role> may not <action> on <resource>`` from Terraform's output, when the emulator
    refused a call with AccessDenied; None otherwise."""
    match = ACCESS_DENIED.search(" ".join(output.split()))  # Terraform may wrap the message
    if match is None:
        return None
    principal, action, resource = match.groups()
    role = principal.split(":assumed-role/", 1)[-1].split("/", 1)[0]
    return f"AccessDenied: {role} may not {action} on {resource.rstrip('.,;')}"


def synth_bootstrap(environment: str, stack_json: Path, root: Path) -> Path:
    """The bootstrap stack for ``environment`` alone, synthesized under ``root`` (its state goes
    to ``root/state``); in a process of its own: the provider binding costs seconds to load."""
    result = subprocess.run(
        [sys.executable, "-m", "ops.pipeline_roles", "--env", environment, "--stack-json", str(stack_json)]
        + ["--root", str(root)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=PROJECT_DIR,
        env={**os.environ, "PYTHONPATH": str(PROJECT_DIR)},
    )
    if result.returncode != 0:
        raise RuntimeError(f"bootstrap synth failed:\n{result.stderr[-4000:]}")
    return root / "cdktf.out" / "stacks" / BOOTSTRAP_STACK


def _synth(environment: str, stack_json: Path, root: Path) -> None:
    from cdktf import App

    from modules.bootstrap.delivery import load_delivery
    from modules.bootstrap.stack import BootstrapProps, BootstrapStack, EnvironmentTarget
    from modules.config.loader import load_environments

    (config,) = load_environments(PROJECT_DIR / "environments", [environment])
    target = EnvironmentTarget(config=config, doc=json.loads(stack_json.read_text(encoding="utf-8")))
    settings = load_delivery(PROJECT_DIR / "delivery.toml")
    root.mkdir(parents=True, exist_ok=True)
    app = App(outdir=str(root / "cdktf.out"))
    BootstrapStack(app, BootstrapProps(targets=(target,), settings=settings, project_dir=root, emulator=True))
    app.synth()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Synthesize the bootstrap stack of one emulator environment.")
    parser.add_argument("--env", required=True)
    parser.add_argument("--stack-json", type=Path, required=True)
    parser.add_argument("--root", type=Path, required=True)
    args = parser.parse_args()
    _synth(args.env, args.stack_json.resolve(), args.root.resolve())
