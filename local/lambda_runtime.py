"""One Lambda execution environment: imports the deployed handler (``_HANDLER``) from the
deployed code (``LAMBDA_TASK_ROOT``) once, then serves invocations one at a time.

Started by local/execution_environment.py as a *file* (``python .../lambda_runtime.py``),
never with ``-m``: the project directory must not be on ``sys.path``, or ``functions``
could be imported from the working tree instead of from the deployed zip. Standard
library only, for the same reason.

Protocol: one JSON line per message. The gateway writes ``{"event", "request_id",
"deadline_ms"}`` on stdin; the runtime answers on the file descriptor that was stdout when
it started: first ``{"ready": true}`` or ``{"init_error": {...}}``, then per invocation
``{"result": ...}`` or ``{"error": {"errorType", "errorMessage"}}``. Whatever the handler
prints or logs goes to stderr (the gateway's log), as Lambda sends it to CloudWatch.
"""

import importlib
import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO


class LambdaContext:
    """The context object's attributes and method, as the Python runtime provides them."""

    def __init__(self, request_id: str, deadline_ms: int) -> None:
        environ = os.environ
        self.aws_request_id = request_id
        self.function_name = environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.memory_limit_in_mb = environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "")
        self.invoked_function_arn = environ.get("LOCAL_LAMBDA_FUNCTION_ARN", "")
        self.log_group_name = environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


def load_handler(spec: str, task_root: str) -> Callable[..., Any]:
    """``functions.items.create_item`` from the deployed code; refuses a module that was
    found anywhere else (Lambda's Runtime.ImportModuleError otherwise)."""
    module_name, _, attribute = spec.rpartition(".")
    if not module_name:
        raise ValueError(f"bad handler {spec!r} (expected module.function)")
    module = importlib.import_module(module_name)
    origin = os.path.realpath(getattr(module, "__file__", "") or "")
    if not origin.startswith(os.path.realpath(task_root) + os.sep):
        raise ImportError(f"{module_name} was imported from {origin}, not from the deployed code in {task_root}")
    return getattr(module, attribute)


def _error(exc: BaseException) -> dict:
    return {"errorType": type(exc).__name__, "errorMessage": str(exc)[:1000]}


def serve(channel: BinaryIO, requests: BinaryIO) -> None:
    task_root = os.environ["LAMBDA_TASK_ROOT"]
    try:
        handler = load_handler(os.environ["_HANDLER"], task_root)
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)
        channel.write(json.dumps({"init_error": _error(exc)}).encode() + b"\n")
        return
    channel.write(b'{"ready": true}\n')
    for line in requests:
        request = json.loads(line)
        context = LambdaContext(request["request_id"], request["deadline_ms"])
        try:
            reply = {"result": handler(request["event"], context)}
            encoded = json.dumps(reply).encode()
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            encoded = json.dumps({"error": _error(exc)}).encode()
        channel.write(encoded + b"\n")


def main() -> None:
    # The protocol gets the original stdout; the handler's stdout becomes stderr.
    channel = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)
    # Lambda puts the task root first; the local/ folder (this script's) is not Lambda's.
    here = Path(__file__).resolve().parent
    sys.path[:] = [os.environ["LAMBDA_TASK_ROOT"]] + [
        entry for entry in sys.path if Path(entry or ".").resolve() != here
    ]
    serve(channel, sys.stdin.buffer)


if __name__ == "__main__":
    main()
