"""Lambda execution environments for the local gateway: one worker process per concurrent
invocation of a function, made from the function's deployed configuration and code.

- Code: the zip Terraform uploaded is one of the synthesized stack's assets; the one whose
  SHA-256 is the function's deployed ``CodeSha256`` is extracted once and imported from.
  No asset with that hash: the invocation is refused (``CodeMismatch``).
- Environment: the deployed variables plus the ones Lambda sets, the emulator's URL and
  credentials of the function's execution role (local/function_credentials.py; the
  emulator's test credentials only for a pool made without ``RoleCredentials``). A
  configuration change, the role included (``FunctionConfig.environment_key``), retires the
  old workers, as Lambda starts new environments after UpdateFunctionConfiguration; so do
  credentials close to expiry.
- Time: an invocation that outlives its deadline kills its worker (a new one is started
  for the next request); so does a worker that dies or answers garbage.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from local.function_credentials import RoleCredentials, RoleRefused, Session

if TYPE_CHECKING:
    from local.deployed_api import FunctionConfig
    from local.faults import Faults

RUNTIME_FILE = Path(__file__).resolve().with_name("lambda_runtime.py")
# Lambda's limit on a synchronous invocation's response; larger answers are function errors.
MAX_RESPONSE_BYTES = 6 * 1024 * 1024
# Lambda's limit on the init phase (importing the handler).
INIT_TIMEOUT_S = 10.0
# Concurrent environments per function; more requests wait for a free one.
MAX_WORKERS_PER_FUNCTION = 4


class CodeMismatch(RuntimeError):
    """No asset of the synthesized stack has the function's deployed CodeSha256."""


def lambda_sha256(path: Path) -> str:
    """Base64 of the file's SHA-256: how Lambda reports ``CodeSha256``."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return base64.b64encode(digest.digest()).decode()


class CodeStore:
    """Finds the deployed zip among the stack's assets and extracts it once per hash."""

    def __init__(self, stack_dir: Path, cache_dir: Path) -> None:
        self.stack_dir, self.cache_dir = Path(stack_dir), Path(cache_dir)
        self._hashes: dict[tuple[str, float, int], str] = {}
        self._lock = threading.Lock()

    def task_root(self, code_sha256: str) -> Path:
        with self._lock:
            target = self.cache_dir / hashlib.sha256(code_sha256.encode()).hexdigest()[:32]
            if (target / ".complete").exists():
                return target
            for archive in sorted(self.stack_dir.glob("assets/**/*.zip")):
                if self._hash(archive) == code_sha256:
                    return self._extract(archive, target)
        raise CodeMismatch(
            f"no asset under {self.stack_dir / 'assets'} has the deployed CodeSha256 {code_sha256}: "
            "the code Terraform uploaded is not the code on disk (synthesize and apply again)"
        )

    def _hash(self, archive: Path) -> str:
        stat = archive.stat()
        key = (str(archive), stat.st_mtime, stat.st_size)
        if key not in self._hashes:
            self._hashes[key] = lambda_sha256(archive)
        return self._hashes[key]

    @staticmethod
    def _extract(archive: Path, target: Path) -> Path:
        """Extract into a folder of this call's own, then rename it to ``target`` at once.
        Every region's gateway is a process of its own sharing ``cache_dir``: with one shared
        partial folder, one gateway's cleanup removed files another was extracting, and a
        task root came out without its first files (``No module named 'functions._errors'``).
        A ``target`` only ever appears whole, so one already there is kept, never replaced:
        its files may be in use."""
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = Path(tempfile.mkdtemp(dir=target.parent, prefix=target.name + ".partial-"))
        try:
            with zipfile.ZipFile(archive) as zipped:
                for member in zipped.namelist():
                    resolved = (partial / member).resolve()
                    if not str(resolved).startswith(str(partial.resolve()) + os.sep):
                        raise CodeMismatch(f"{archive}: member {member!r} would land outside the task root")
                zipped.extractall(partial)
            (partial / ".complete").write_text(str(archive))
            try:
                partial.rename(target)
            except OSError:  # another gateway renamed its copy first, or an older run left one half-made
                if not (target / ".complete").exists():
                    shutil.rmtree(target)
                    partial.rename(target)
        finally:
            shutil.rmtree(partial, ignore_errors=True)
        return target


def lambda_variables(
    config: FunctionConfig, region: str, task_root: Path, emulator_url: str, credentials: dict[str, str] | None = None
) -> dict[str, str]:
    """The process environment of an execution environment: the deployed variables, then
    the reserved ones Lambda sets (they win, as on Lambda), then what points boto3 at the
    emulator with ``credentials`` (the role's; the emulator's test ones if None). Nothing
    is inherited from the gateway's environment but PATH and the locale."""
    reserved = {
        "_HANDLER": config.handler,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{config.runtime}",
        "AWS_LAMBDA_FUNCTION_NAME": config.name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.memory_mb),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{config.name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": f"local/[$LATEST]{os.urandom(16).hex()}",
        "LAMBDA_TASK_ROOT": str(task_root),
        "LAMBDA_RUNTIME_DIR": str(RUNTIME_FILE.parent),
        "PYTHONPATH": str(task_root),
        "TZ": ":UTC",
        "LANG": "en_US.UTF-8",
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        **(credentials or {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_SESSION_TOKEN": "test"}),
        "AWS_ENDPOINT_URL": emulator_url,
        "LOCAL_LAMBDA_FUNCTION_ARN": config.arn,
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    return {**config.environment, **reserved}


@dataclass(frozen=True)
class Outcome:
    """``kind``: ok (``payload`` is the handler's result), error (a function error),
    timeout (the deadline passed), crash (the worker died, did not start, or answered
    something that is not the protocol)."""

    kind: str
    payload: object = None
    detail: str = ""


def injected_error(config: FunctionConfig) -> Outcome:
    """A function error as FIS's aws:lambda:invocation-error returns it."""
    message = f"{config.name}: invocation error injected by a fault (local/faults.py)"
    return Outcome("error", {"errorType": "InjectedFault", "errorMessage": message}, "injected")


class Worker:
    """One execution environment: a runtime process serving one invocation at a time."""

    def __init__(
        self, config: FunctionConfig, env: dict[str, str], task_root: Path, log: TextIO, session: Session | None = None
    ) -> None:
        self.key, self.session = config.environment_key, session  # session: the role's, in ``env``
        self.proc = subprocess.Popen(
            [sys.executable, str(RUNTIME_FILE)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            env=env,
            cwd=task_root,
            close_fds=True,
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None  # both are pipes
        self.stdin, self.stdout = self.proc.stdin, self.proc.stdout
        self.ready: Outcome | None = None

    def start(self, deadline: float) -> Outcome:
        """Wait until ``deadline`` for the handler to be imported (Lambda's init phase)."""
        reply = self._read(deadline)
        if reply.kind == "ok" and isinstance(reply.payload, dict) and reply.payload.get("ready"):
            self.ready = Outcome("ok")
        elif reply.kind == "ok" and isinstance(reply.payload, dict) and "init_error" in reply.payload:
            self.ready = Outcome("error", reply.payload["init_error"], "init failed")
        else:
            self.ready = reply if reply.kind != "ok" else Outcome("crash", detail="no ready message")
        return self.ready

    def invoke(self, event: dict, request_id: str, deadline: float) -> Outcome:
        deadline_ms = int((time.time() + (deadline - time.monotonic())) * 1000)
        message = json.dumps({"event": event, "request_id": request_id, "deadline_ms": deadline_ms}).encode()
        try:
            self.stdin.write(message + b"\n")
            self.stdin.flush()
        except (BrokenPipeError, OSError):
            return Outcome("crash", detail=f"the environment exited ({self.proc.poll()})")
        reply = self._read(deadline)
        if reply.kind != "ok":
            return reply
        if not isinstance(reply.payload, dict) or not ({"result", "error"} & reply.payload.keys()):
            return Outcome("crash", detail="the runtime answered outside its protocol")
        if "error" in reply.payload:
            return Outcome("error", reply.payload["error"], "the handler raised")
        return Outcome("ok", reply.payload["result"])

    def _read(self, deadline: float) -> Outcome:
        """One protocol line, bounded in time and size."""
        fd, chunks, size = self.stdout.fileno(), [], 0
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return Outcome("timeout", detail="the deadline passed")
            readable, _, _ = select.select([fd], [], [], remaining)
            if not readable:
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return Outcome("crash", detail=f"the environment exited ({self.proc.wait(timeout=5)})")
            chunks.append(chunk)
            size += len(chunk)
            if chunk.endswith(b"\n"):
                break
            if size > MAX_RESPONSE_BYTES + 1024:
                return Outcome("crash", detail=f"response larger than {MAX_RESPONSE_BYTES} bytes")
        try:
            return Outcome("ok", json.loads(b"".join(chunks)))
        except ValueError:
            return Outcome("crash", detail="the runtime answered something that is not JSON")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        for stream in (self.stdin, self.stdout):
            with contextlib.suppress(OSError):
                stream.close()


class EnvironmentPool:
    """Execution environments per function name, reused while the function's configuration
    is unchanged; at most ``max_per_function`` at once (more requests wait for one)."""

    def __init__(
        self,
        code: CodeStore,
        region: str,
        emulator_url: str,
        log: TextIO | None = None,
        max_per_function: int = MAX_WORKERS_PER_FUNCTION,
        faults: Faults | None = None,
        credentials: RoleCredentials | None = None,
    ) -> None:
        self.code, self.region, self.emulator_url = code, region, emulator_url
        self.faults, self.credentials = faults, credentials
        self.log = log if log is not None else sys.stderr
        self.max_per_function = max_per_function
        self._idle: dict[str, list[Worker]] = {}
        self._count: dict[str, int] = {}
        self._changed = threading.Condition()

    def invoke(self, config: FunctionConfig, event: dict, request_id: str, deadline: float) -> Outcome:
        task_root = self.code.task_root(config.code_sha256)  # CodeMismatch before anything runs
        fail, delayed = self._injected(config, deadline)
        if delayed is not None or (fail and self._prevents_execution(config)):
            return delayed or injected_error(config)
        worker = self._acquire(config, task_root, deadline)
        if isinstance(worker, Outcome):
            return worker
        outcome = worker.invoke(event, request_id, deadline)
        self._release(config.name, worker, keep=outcome.kind in ("ok", "error"))
        return injected_error(config) if fail else outcome

    def _injected(self, config: FunctionConfig, deadline: float) -> tuple[bool, Outcome | None]:
        """The fault switches (local/faults.py) for this invocation: whether it fails, and
        the timeout when the added delay passes the deadline (the delay is slept here)."""
        if self.faults is None:
            return False, None
        fail, delay_s = self.faults.invocation(self.region, config.name)
        if delay_s:
            remaining = deadline - time.monotonic()
            time.sleep(max(0.0, min(delay_s, remaining)))
            if delay_s >= remaining:
                return fail, Outcome("timeout", detail="the deadline passed (injected delay)")
        return fail, None

    def _prevents_execution(self, config: FunctionConfig) -> bool:
        assert self.faults is not None
        return any(fault.get("prevent_execution", True) for fault in self.faults.active("lambda-errors"))

    def _acquire(self, config: FunctionConfig, task_root: Path, deadline: float) -> Worker | Outcome:
        with self._changed:
            while True:
                self._retire_stale(config)
                idle = self._idle.setdefault(config.name, [])
                if idle:
                    return idle.pop()
                if self._count.get(config.name, 0) < self.max_per_function:
                    self._count[config.name] = self._count.get(config.name, 0) + 1
                    break
                if not self._changed.wait(timeout=max(0.0, deadline - time.monotonic())):
                    return Outcome("timeout", detail="no execution environment became free")
        try:
            session = None if self.credentials is None else self.credentials.session(config.role, config.name)
        except RoleRefused:
            self._release(config.name, None, keep=False)
            raise
        credentials = None if session is None else session.variables()
        env = lambda_variables(config, self.region, task_root, self.emulator_url, credentials)
        worker = Worker(config, env, task_root, self.log, session)
        started = worker.start(min(deadline, time.monotonic() + INIT_TIMEOUT_S))
        if started.kind != "ok":
            self._release(config.name, worker, keep=False)
            return started
        return worker

    def _retire_stale(self, config: FunctionConfig) -> None:
        """Idle environments made from another configuration of this function, or whose
        credentials are due for a refresh, are stopped."""
        idle = self._idle.get(config.name, [])
        stale = [
            worker
            for worker in idle
            if worker.key != config.environment_key or (worker.session is not None and not worker.session.fresh())
        ]
        for worker in stale:
            idle.remove(worker)
            self._count[config.name] -= 1
            worker.stop()

    def _release(self, name: str, worker: Worker | None, keep: bool) -> None:
        """``worker`` None: the one counted for an environment that was never started."""
        with self._changed:
            if keep and worker is not None and worker.proc.poll() is None:
                self._idle.setdefault(name, []).append(worker)
            else:
                self._count[name] -= 1
                if worker is not None:
                    worker.stop()
            self._changed.notify()

    def close(self) -> None:
        with self._changed:
            for workers in self._idle.values():
                for worker in workers:
                    worker.stop()
            self._idle.clear()
