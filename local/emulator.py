"""The AWS API emulator (moto's server) on 127.0.0.1, and the processes the local deployment
leaves running, tracked in ``.emulator/state.json`` so ``make down`` can stop exactly them.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from collections.abc import Mapping

# A boto3 client: boto3 ships no type information (and no stubs are installed).
AwsClient: TypeAlias = Any

# The only address anything local listens on or is sent to.
LOOPBACK = "127.0.0.1"
# Every IAM decision of the emulator (local/emulator_server.py, keep_decisions), in its state directory.
DECISION_LOG = "iam-decisions.log"
PROJECT_DIR = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def wait_for_port(url: str, timeout: float) -> bool:
    """True once something accepts TCP connections at ``url``'s host and port."""
    split = urlsplit(url)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((split.hostname, split.port), timeout=1):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def wait_for_http(url: str, timeout: float) -> None:
    """Until ``url`` answers any HTTP status; raises TimeoutError after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return
        except OSError as err:
            last = err
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s ({last})")


def aws_client(service: str, region: str, endpoint: str) -> AwsClient:
    """A boto3 client for the emulator at ``endpoint``, with test credentials."""
    import boto3

    return boto3.client(
        service, endpoint_url=endpoint, region_name=region, aws_access_key_id="test", aws_secret_access_key="test"
    )


def pid_alive(pid: int) -> bool:
    """Running, and not a zombie. An exited server whose parent has not reaped it yet (init
    may take a second or more; a test's own child until it is waited for) still answers
    signal 0, and counting it alive made `make down` wait for nothing."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        pass  # gone, or no /proc: ask the kernel
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_pid(pid: int, timeout: float = 10.0) -> bool:
    """SIGTERM the process group ``pid`` leads (each of our servers leads its own), then
    SIGKILL after ``timeout`` seconds; True if something was running. Done once the leader
    has exited."""
    if not pid_alive(pid):
        return False
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig) if os.getpgid(pid) == pid else os.kill(pid, sig)
        except ProcessLookupError:
            return True
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)  # our own child (a test's, a failed deploy's): reap it
            if not pid_alive(pid):
                # A leader shows Z while its other threads still exit, before WNOHANG can reap
                # it: reap our own child now (blocks only until those threads are gone).
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, 0)
                return True
            time.sleep(0.02)
    return True


def spawn(args: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start a process in its own session (so it outlives `make deploy` and its group can
    be stopped as one), output to ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        return subprocess.Popen(
            args,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
            close_fds=True,
        )


@dataclass
class RunState:
    """What a local deployment left running."""

    path: Path
    emulator_pid: int | None = None
    emulator_port: int | None = None
    apis: dict[str, dict] = field(default_factory=dict)  # region -> {"pid", "port", "url"}
    issuer: dict = field(default_factory=dict)  # the local issuer: {"pid", "url"}
    processes: dict[str, dict] = field(default_factory=dict)  # "replicator", "router" -> {"pid", ...}

    @property
    def emulator_url(self) -> str:
        return f"http://{LOOPBACK}:{self.emulator_port}"

    @classmethod
    def load(cls, path: Path) -> RunState:
        if not path.exists():
            return cls(path)
        data = json.loads(path.read_text())
        return cls(
            path,
            data.get("emulator_pid"),
            data.get("emulator_port"),
            data.get("apis", {}),
            data.get("issuer", {}),
            data.get("processes", {}),
        )

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(
            json.dumps(
                {
                    "emulator_pid": self.emulator_pid,
                    "emulator_port": self.emulator_port,
                    "apis": self.apis,
                    "issuer": self.issuer,
                    "processes": self.processes,
                },
                indent=2,
            )
        )
        tmp.replace(self.path)


def start_emulator(
    state_dir: Path, startup_timeout: float = 60.0, extra_env: Mapping[str, str] | None = None
) -> tuple[subprocess.Popen, int]:
    """moto's server on a free loopback port, certificates issued at once; ``extra_env`` adds
    to what it inherits (LOCAL_OIDC_ISSUERS: the issuers it trusts, local/emulator_server.py)."""
    port = free_port()
    env = {
        **os.environ,
        **(extra_env or {}),
        # Certificates are ISSUED as soon as they are described, not after 60 s.
        "MOTO_ACM_VALIDATION_WAIT": "0",
        # AWS managed policies (API Gateway's CloudWatch role uses one) exist only if loaded.
        "MOTO_IAM_LOAD_MANAGED_POLICIES": "true",
    }
    # moto's server, but sending each response in one write (see local/emulator_server.py).
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_DIR), env.get("PYTHONPATH")]))
    args = [sys.executable, "-m", "local.emulator_server", "-H", LOOPBACK, "-p", str(port)]
    args += ["--decision-log", str(state_dir / DECISION_LOG)]
    proc = spawn(args, state_dir / "moto.log", env)
    try:
        wait_for_http(f"http://{LOOPBACK}:{port}/moto-api/", startup_timeout)
    except TimeoutError:
        stop_pid(proc.pid)
        raise
    return proc, port
