"""Dependency lock files made from the local provider mirror.

The first ``cdktf diff``/``deploy`` of a stack without ``.terraform.lock.hcl`` runs
``terraform providers lock -platform=linux_amd64``, which ignores the CLI configuration's
filesystem mirror and asks the public registry; on a machine that reaches only a mirror it
fails. A stack that already has a lock file for the required provider version is not locked
again (cdktf checks the file), so ``main.py`` writes one into each synthesized stack that has
none: made once per machine with ``terraform providers lock -fs-mirror=<mirror>`` for this
machine's platform, cached in ``build/provider-lock/``. Without a mirror (or without
terraform) nothing is written and cdktf locks against the registry as usual.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

from ops import terraform as tf

LOCK_FILE = ".terraform.lock.hcl"
TIMEOUT = 300


def terraform_platform(binary: str) -> str:
    """``linux_amd64`` and the like, as the installed terraform reports it."""
    result = subprocess.run([binary, "version", "-json"], capture_output=True, text=True, timeout=60, check=True)
    return json.loads(result.stdout)["platform"]


def mirror_lock_file(build_dir: Path, mirror: Path, binary: str) -> Path:
    """The lock file for hashicorp/aws from ``mirror`` on this platform, made once."""
    platform = terraform_platform(binary)
    key = hashlib.sha256(f"{mirror.resolve()}|{tf.PROVIDER_VERSION}|{platform}".encode()).hexdigest()[:16]
    target = Path(build_dir) / "provider-lock" / key / LOCK_FILE
    if target.is_file():
        return target
    # Each process locks in a folder of its own and moves the result into place, so two
    # processes making it at once (make test's workers) never copy a half-written file.
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=target.parent, prefix=".lock-"))
    (work / "main.tf.json").write_text(
        json.dumps(
            {"terraform": {"required_providers": {"aws": {"source": "hashicorp/aws", "version": tf.PROVIDER_VERSION}}}}
        )
    )
    result = subprocess.run(
        [binary, "providers", "lock", f"-fs-mirror={mirror}", f"-platform={platform}", "-no-color"],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=tf.terraform_env(Path(build_dir)),
    )
    if result.returncode != 0:
        raise RuntimeError(f"terraform providers lock from {mirror} failed:\n{result.stdout}{result.stderr}")
    (work / LOCK_FILE).replace(target)
    shutil.rmtree(work, ignore_errors=True)
    return target


def lock_stacks(outdir: Path, build_dir: Path) -> list[str]:
    """Copy the mirror's lock file into each synthesized stack that has none; returns the
    stack names written (empty without a mirror or terraform)."""
    mirror, binary = tf.find_provider_mirror(), tf.terraform_binary()
    stacks = sorted(p.parent for p in Path(outdir).glob("stacks/*/cdk.tf.json"))
    missing = [s for s in stacks if not (s / LOCK_FILE).exists()]
    if mirror is None or binary is None or not missing:
        return []
    lock = mirror_lock_file(build_dir, mirror, binary)
    for stack in missing:
        shutil.copyfile(lock, stack / LOCK_FILE)
    return [s.name for s in missing]
