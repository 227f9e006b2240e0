"""Running the machine's Terraform against a synthesized stack, with the provider taken from
a local filesystem mirror when the machine has one (no network needed).

The mirror is located, never hard-coded: ``TF_PROVIDER_MIRROR`` if set, else the first of the
usual plugin directories that holds hashicorp/aws. Without one, Terraform uses the registry.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from local.emulator import stop_pid

if TYPE_CHECKING:
    from collections.abc import Callable

PROVIDER = "registry.terraform.io/hashicorp/aws"
PROVIDER_VERSION = "5.100.0"
INSTALL_HINT = (
    "Terraform >= 1.10 is required: install it from https://developer.hashicorp.com/terraform/install "
    "(or your package manager) and make sure `terraform` is on PATH"
)

_CANDIDATES = (
    "/opt/tf-plugins",
    "~/.terraform.d/plugins",
    "~/.local/share/terraform/plugins",
    "/usr/local/share/terraform/plugins",
    "/usr/share/terraform/plugins",
)


def terraform_binary() -> str | None:
    return shutil.which("terraform")


def find_provider_mirror() -> Path | None:
    """A directory laid out as a filesystem mirror that holds hashicorp/aws, or None."""
    explicit = os.environ.get("TF_PROVIDER_MIRROR")
    candidates = [explicit] if explicit else list(_CANDIDATES)
    for candidate in candidates:
        root = Path(candidate).expanduser()
        if (root / PROVIDER / PROVIDER_VERSION).is_dir():
            return root
    return None


def cli_config(build_dir: Path) -> Path | None:
    """Write a Terraform CLI config that installs hashicorp/* from the mirror only, and
    return its path (None when there is no mirror: Terraform then uses the registry)."""
    mirror = find_provider_mirror()
    if mirror is None:
        return None
    build_dir = Path(build_dir).resolve()
    build_dir.mkdir(parents=True, exist_ok=True)
    path = build_dir / "terraformrc"
    text = (
        "provider_installation {\n"
        f'  filesystem_mirror {{\n    path    = "{mirror}"\n    include = ["registry.terraform.io/hashicorp/*"]\n  }}\n'
        '  direct {\n    exclude = ["registry.terraform.io/hashicorp/*"]\n  }\n'
        "}\n"
    )
    # Written aside and moved into place: a Terraform starting in another process (make test's
    # other worker) never reads it half-written.
    with tempfile.NamedTemporaryFile("w", dir=build_dir, prefix=".terraformrc", delete=False, encoding="utf-8") as f:
        f.write(text)
    Path(f.name).replace(path)
    return path


# The emulator's root credentials (moto's account 123456789012): requests signed with them are
# not evaluated. Emulator stacks carry no keys (modules/provider/emulator.py), so these come
# through the environment, to root runs only.
EMULATOR_ROOT_KEYS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
# What would beat a role's web identity in the provider's credential chain.
STATIC_CREDENTIALS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE")


def terraform_env(build_dir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Terraform's environment. With ``AWS_ROLE_ARN`` in ``extra`` (a role run: the provider
    assumes it with ``AWS_WEB_IDENTITY_TOKEN_FILE``) no static credentials are inherited; with
    ``AWS_ENDPOINT_URL`` and no role (a root run on the emulator) the emulator's root keys."""
    extra = extra or {}
    env = dict(os.environ)
    if "AWS_ROLE_ARN" in extra:
        for name in STATIC_CREDENTIALS:
            env.pop(name, None)
    elif "AWS_ENDPOINT_URL" in extra:
        env.update(EMULATOR_ROOT_KEYS)
    config = cli_config(build_dir)
    if config is not None:
        env["TF_CLI_CONFIG_FILE"] = str(config)
    env.setdefault("TF_IN_AUTOMATION", "1")
    env["CHECKPOINT_DISABLE"] = "1"
    env.update(extra)
    return env


class TerraformStopped(RuntimeError):
    """Terraform was stopped before it finished because ``stop_when`` said why."""


class TerraformInterrupted(KeyboardInterrupt):
    """Ctrl-C while Terraform ran: its process group (providers included) has been stopped.
    Terraform runs in a session of its own, so a terminal's SIGINT reaches only us."""

    def __init__(self, command: str, pid: int) -> None:
        super().__init__(f"terraform {command} (pid {pid}) and its provider plugins")
        self.stopped = f"terraform {command} (pid {pid}) and its provider plugins"


def local_lock_file(state_file: Path) -> Path:
    """Where Terraform's local backend writes its lock's info: ``.<name>.lock.info`` next to
    the state. The lock itself is an fcntl lock on the state file that dies with the
    process; the info file stays behind when Terraform is killed, and then only misleads."""
    return state_file.parent / f".{state_file.name}.lock.info"


def release_local_lock(state_file: Path) -> bool:
    """Remove a stale local lock left by a stopped Terraform; True if there was one. Call only
    once the Terraform that held it has stopped."""
    lock = local_lock_file(state_file)
    if not lock.exists():
        return False
    lock.unlink()
    return True


def run(
    args: list[str],
    cwd: Path,
    env: dict[str, str],
    timeout: float,
    log: Path | None = None,
    on_line: Callable[[str], None] | None = None,
    stop_when: Callable[[], str | None] | None = None,
) -> subprocess.CompletedProcess:
    """Run terraform with a hard timeout; stdout and stderr together in ``.stdout``, also
    written to ``log`` and passed line by line to ``on_line`` when given. ``stop_when`` is
    polled every second; when it returns a reason, or on timeout, the whole process group
    (terraform and its provider plugins) is stopped and TerraformStopped / TimeoutError
    raised."""
    binary = terraform_binary()
    if binary is None:
        raise FileNotFoundError(INSTALL_HINT)
    proc = subprocess.Popen(
        [binary, *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []

    def pump() -> None:
        assert proc.stdout is not None  # a pipe
        for line in proc.stdout:
            lines.append(line)
            if on_line:
                on_line(line)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        _wait(proc, timeout, stop_when)
    except subprocess.TimeoutExpired:
        stop_pid(proc.pid)
        raise TimeoutError(f"terraform {args[0]} did not finish within {timeout} s (output: {log})") from None
    except TerraformStopped:
        stop_pid(proc.pid)
        raise
    except KeyboardInterrupt:
        # Terraform stops gracefully on SIGTERM (state written, lock released); stop_pid
        # kills the group if it takes longer than its timeout.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut this short
        try:
            stop_pid(proc.pid)
        finally:
            signal.signal(signal.SIGINT, previous)
        raise TerraformInterrupted(args[0], proc.pid) from None
    finally:
        reader.join(timeout=5)
        if log is not None:
            log.parent.mkdir(parents=True, exist_ok=True)
            log.write_text("".join(lines))
    return subprocess.CompletedProcess(proc.args, proc.returncode, "".join(lines), "")


def _wait(proc: subprocess.Popen, timeout: float, stop_when: Callable[[], str | None] | None) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            proc.wait(timeout=min(1.0, max(0.0, deadline - time.monotonic())))
            return
        except subprocess.TimeoutExpired:
            if time.monotonic() >= deadline:
                raise
        reason = stop_when() if stop_when else None
        if reason:
            raise TerraformStopped(reason)


if __name__ == "__main__":
    # `python -m ops.terraform` writes build/terraformrc and prints its path (empty if the
    # machine has no mirror), so the Makefile can point TF_CLI_CONFIG_FILE at it.
    project = Path(__file__).resolve().parent.parent
    written = cli_config(project / "build")
    print(written or "")
