"""Lock files made from the provider mirror let `terraform init` (and so the cdktf CLI, which
then skips `terraform providers lock`) work on a machine that reaches no registry."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from ops import provider_lock
from ops import terraform as tf

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.terraform

STACK = {"terraform": {"required_providers": {"aws": {"source": "aws", "version": tf.PROVIDER_VERSION}}}}


def stack(outdir: Path, name: str) -> Path:
    path = outdir / "stacks" / name
    path.mkdir(parents=True)
    (path / "cdk.tf.json").write_text(json.dumps(STACK))
    return path


def test_lock_files_from_the_mirror_let_init_work_without_a_registry(tmp_path, terraform_bin):
    if tf.find_provider_mirror() is None:
        pytest.skip("no provider mirror on this machine: cdktf locks against the registry")
    fresh, kept = stack(tmp_path, "backend-a"), stack(tmp_path, "backend-b")
    (kept / provider_lock.LOCK_FILE).write_text("# the user's own lock\n")
    assert provider_lock.lock_stacks(tmp_path, tmp_path / "build") == ["backend-a"]
    assert (kept / provider_lock.LOCK_FILE).read_text() == "# the user's own lock\n"
    lock = (fresh / provider_lock.LOCK_FILE).read_text()
    assert f'provider "{tf.PROVIDER}"' in lock and f'version     = "{tf.PROVIDER_VERSION}"' in lock
    assert "h1:" in lock
    # Every registry request fails: only the mirror can satisfy init.
    env = tf.terraform_env(
        tmp_path / "build", {"HTTPS_PROXY": "http://127.0.0.1:1", "HTTP_PROXY": "http://127.0.0.1:1"}
    )
    init = tf.run(
        ["init", "-backend=false", "-input=false", "-no-color", "-lockfile=readonly"], fresh, env, timeout=300
    )
    assert init.returncode == 0, init.stdout


def test_nothing_is_written_without_a_mirror(tmp_path, monkeypatch):
    stack(tmp_path, "backend-a")
    monkeypatch.setattr(tf, "find_provider_mirror", lambda: None)
    assert provider_lock.lock_stacks(tmp_path, tmp_path / "build") == []
    assert not (tmp_path / "stacks" / "backend-a" / provider_lock.LOCK_FILE).exists()
