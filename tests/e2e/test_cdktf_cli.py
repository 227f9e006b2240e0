"""The README's cdktf CLI route, as a user takes it the first time: `npx cdktf diff
backend-local` then `npx cdktf deploy backend-local --auto-approve`, from a clean output
folder, against moto's server on 127.0.0.1, with every request that is not for loopback sent
to a dead proxy (a machine that reaches only the provider mirror). The first diff must not
need the registry: synth writes the stack's lock file from the mirror, so cdktf skips
`terraform providers lock`.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from local import emulator
from ops import deploy
from ops import terraform as tf

pytestmark = [pytest.mark.e2e, pytest.mark.terraform, pytest.mark.timeout(1200)]

PROJECT_DIR = Path(__file__).resolve().parents[2]
DEAD_PROXY = "http://127.0.0.1:1"


@pytest.fixture(scope="module")
def cli(tmp_path_factory, terraform_bin):
    root = tmp_path_factory.mktemp("cli")
    config = deploy.load_config("local")
    proc, port = emulator.start_emulator(root / ".emulator")
    url = f"http://{emulator.LOOPBACK}:{port}"
    try:
        deploy.create_zone(config, url)
        env = {
            **tf.terraform_env(root / "build"),
            "AWS_ENDPOINT_URL": url,
            "BACKEND_ENVIRONMENTS": "local",
            "CHECKPOINT_DISABLE": "1",
            "CI": "true",
            # The stack's emulator-only variable (ops/deploy.py passes the running local issuer's URL).
            "TF_VAR_local_issuer_url": "http://127.0.0.1:1",
            "HTTPS_PROXY": DEAD_PROXY,
            "HTTP_PROXY": DEAD_PROXY,
            "NO_PROXY": "127.0.0.1,localhost",
            "https_proxy": DEAD_PROXY,
            "http_proxy": DEAD_PROXY,
            "no_proxy": "127.0.0.1,localhost",
        }
        if tf.find_provider_mirror() is None:
            env.pop("HTTPS_PROXY"), env.pop("https_proxy")  # no mirror: the registry is the only source
        outdir = root / "cdktf.out"  # fresh: nothing synthesized, no lock file, no .terraform
        yield {"root": root, "env": env, "outdir": outdir, "stack_dir": outdir / "stacks" / config.stack_name}
    finally:
        emulator.stop_pid(proc.pid)
    assert not emulator.pid_alive(proc.pid)


def npx_cdktf(args: list[str], cli: dict, timeout: float) -> tuple[subprocess.CompletedProcess, float]:
    started = time.monotonic()
    result = subprocess.run(
        ["npx", "--no-install", "cdktf", *args, "--output", str(cli["outdir"]), "--no-color"],
        cwd=PROJECT_DIR,
        env=cli["env"],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    return result, time.monotonic() - started


def test_first_diff_plans_the_whole_stack_without_a_registry(cli):
    result, elapsed = npx_cdktf(["diff", "backend-local"], cli, timeout=600)
    output = result.stdout + result.stderr
    print(f"npx cdktf diff backend-local: {elapsed:.1f} s")
    assert result.returncode == 0, output[-6000:]
    assert "Plan:" in output and "to add" in output, output[-3000:]
    assert "registry.terraform.io" not in output.replace("registry.terraform.io/hashicorp/aws", ""), output[-3000:]
    lock = (cli["stack_dir"] / ".terraform.lock.hcl").read_text()
    assert f'"{tf.PROVIDER_VERSION}"' in lock


def test_deploy_applies_it(cli):
    result, elapsed = npx_cdktf(["deploy", "backend-local", "--auto-approve"], cli, timeout=900)
    output = result.stdout + result.stderr
    print(f"npx cdktf deploy backend-local --auto-approve: {elapsed:.1f} s")
    assert result.returncode == 0, output[-6000:]
    assert "Apply complete!" in output, output[-3000:]
    # The local backend keeps state beside the output folder, as it does beside cdktf.out/.
    state = json.loads((cli["root"] / "state" / "backend-local.tfstate").read_text())
    managed = [r for r in state["resources"] if r["mode"] == "managed"]
    assert len(managed) > 100
    assert os.path.isdir(cli["stack_dir"] / ".terraform")
