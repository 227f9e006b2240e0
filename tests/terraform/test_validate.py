"""The real Terraform, with the machine's provider mirror, validates every synthesized stack."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import pytest

from ops import terraform as tf

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.terraform


@pytest.fixture(scope="session")
def validated(synthesized_dir, terraform_bin, tmp_path_factory):
    env = tf.terraform_env(tmp_path_factory.mktemp("tf"))

    def check(stack_dir: Path) -> tuple[str, str]:
        init = tf.run(["init", "-backend=false", "-input=false", "-no-color"], stack_dir, env, timeout=300)
        if init.returncode != 0:
            return stack_dir.name, f"init failed:\n{init.stdout}\n{init.stderr}"
        result = tf.run(["validate", "-json", "-no-color"], stack_dir, env, timeout=300)
        return stack_dir.name, result.stdout if result.returncode else "ok"

    stacks = sorted((synthesized_dir / "stacks").iterdir())
    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(check, stacks))


@pytest.mark.parametrize("environment", ["dev", "staging", "prod", "weighted", "nodomain", "trafficpolicy"])
def test_terraform_validate_passes(environment, validated):
    assert validated[f"backend-{environment}"] == "ok"


def test_provider_mirror_is_found_not_hard_coded():
    mirror = tf.find_provider_mirror()
    if mirror is None:
        pytest.skip("this machine has no local provider mirror; terraform init uses the registry")
    assert (mirror / tf.PROVIDER / tf.PROVIDER_VERSION).is_dir()
