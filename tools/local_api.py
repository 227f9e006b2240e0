"""A local stand-in for one region's API Gateway: serves HTTP on 127.0.0.1, turns each
request into an API Gateway REST (v1) proxy event and calls the real handler from
``functions/`` against that region's table on the emulator.

moto's API Gateway does not route requests and its Lambda needs Docker to invoke, so this
is how the emulated deployment answers. One process per region, because the handlers read
their region and table from the process environment, exactly as on Lambda:

    python -m tools.local_api --region eu-west-1 --table items-local-items \
        --endpoint http://127.0.0.1:5000 --stage v1 [--port 0] [--port-file F]
"""

from __future__ import annotations

import argparse
import base64
import importlib
import json
import os
import re
import sys
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable
from urllib.parse import parse_qs, unquote, urlsplit

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

from modules.routes import ROUTES  # noqa: E402

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class CompiledRoute:
    method: str
    resource: str  # "/items/{item_id}"
    pattern: re.Pattern
    handler: str


def compile_routes() -> list[CompiledRoute]:
    compiled = []
    for route in ROUTES:
        regex = "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(route.path)) + "$"
        compiled.append(CompiledRoute(route.method, route.path, re.compile(regex), route.handler))
    return compiled


def load_handler(dotted: str) -> Callable:
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


class LambdaContext:
    """The attributes handlers and loggers use from the real Lambda context."""

    def __init__(self, function_name: str, region: str, timeout_s: float = 10.0) -> None:
        self.aws_request_id = str(uuid.uuid4())
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 256
        self.invoked_function_arn = f"arn:aws:lambda:{region}:000000000000:function:{function_name}"
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def build_event(method: str, raw_path: str, headers: dict[str, str], body: bytes, stage: str,
                route: CompiledRoute, params: dict[str, str], request_id: str, host: str) -> dict:
    """An API Gateway REST proxy event, as API Gateway would send it for this request."""
    split = urlsplit(raw_path)
    query = parse_qs(split.query, keep_blank_values=True)
    try:
        text = body.decode("utf-8") if body else None
        is_b64 = False
    except UnicodeDecodeError:
        text, is_b64 = base64.b64encode(body).decode("ascii"), True
    path = split.path[len(stage) + 1:] if stage else split.path
    return {
        "resource": route.resource,
        "path": path,
        "httpMethod": method,
        "headers": headers or None,
        "multiValueHeaders": {k: [v] for k, v in headers.items()} or None,
        "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": {k: unquote(v) for k, v in params.items()} or None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": route.resource,
            "httpMethod": method,
            "path": split.path,
            "stage": stage,
            "requestId": request_id,
            "requestTimeEpoch": int(time.time() * 1000),
            "protocol": "HTTP/1.1",
            "domainName": host,
            "apiId": "local",
            "identity": {"sourceIp": LOOPBACK, "userAgent": headers.get("User-Agent", "")},
        },
        "body": text,
        "isBase64Encoded": is_b64,
    }


def make_server(region: str, stage: str, port: int = 0) -> ThreadingHTTPServer:
    routes = compile_routes()
    handlers = {r.handler: load_handler(r.handler) for r in routes}
    prefix = f"/{stage}"

    class Handler(BaseHTTPRequestHandler):
        server_version = "local-api-gateway"
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):  # access log as one JSON line, like the stage's
            sys.stderr.write(json.dumps({"region": region, "request": fmt % args}) + "\n")

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            path = urlsplit(self.path).path
            request_id = str(uuid.uuid4())
            if not (path == prefix or path.startswith(prefix + "/")):
                return self._reply(403, {"message": "Forbidden"}, {}, request_id)
            sub = path[len(prefix):] or "/"
            matches = [(r, m) for r in routes if (m := r.pattern.match(sub))]
            route_match = next(((r, m) for r, m in matches if r.method == self.command), None)
            if route_match is None:
                # API Gateway answers unknown routes and methods this way.
                return self._reply(403, {"message": "Missing Authentication Token"}, {}, request_id)
            route, match = route_match
            event = build_event(
                self.command, self.path, dict(self.headers.items()), body, stage, route,
                match.groupdict(), request_id, self.headers.get("Host", ""),
            )
            context = LambdaContext(route.handler.rsplit(".", 1)[-1], region)
            try:
                result = handlers[route.handler](event, context)
            except Exception:  # noqa: BLE001 - API Gateway turns a crashed Lambda into a 502
                return self._reply(502, {"message": "Internal server error"}, {}, request_id)
            raw = result.get("body") or ""
            payload = base64.b64decode(raw) if result.get("isBase64Encoded") else raw.encode("utf-8")
            self._send(int(result.get("statusCode", 200)), payload, result.get("headers") or {}, request_id)

        def _reply(self, status: int, body: dict, headers: dict, request_id: str) -> None:
            self._send(status, json.dumps(body).encode(), {"Content-Type": "application/json", **headers}, request_id)

        def _send(self, status: int, payload: bytes, headers: dict, request_id: str) -> None:
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, str(v))
            self.send_header("x-amzn-RequestId", request_id)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = do_HEAD = do_OPTIONS = _serve

    return ThreadingHTTPServer((LOOPBACK, port), Handler)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--region", required=True)
    parser.add_argument("--table", required=True)
    parser.add_argument("--endpoint", required=True, help="the emulator, e.g. http://127.0.0.1:5000")
    parser.add_argument("--stage", default="v1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--port-file", help="write the bound port here once serving")
    args = parser.parse_args(argv)
    if urlsplit(args.endpoint).hostname not in (LOOPBACK, "localhost"):
        parser.error(f"--endpoint {args.endpoint!r} is not on loopback (expected http://127.0.0.1:PORT)")
    # What Lambda would give the function, plus the emulator's address for boto3.
    os.environ.update(
        {
            "AWS_REGION": args.region,
            "AWS_DEFAULT_REGION": args.region,
            "TABLE_NAME": args.table,
            "AWS_ENDPOINT_URL": args.endpoint,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
        }
    )
    os.environ.pop("AWS_PROFILE", None)
    server = make_server(args.region, args.stage, args.port)
    port = server.server_address[1]
    if args.port_file:
        tmp = Path(args.port_file + ".tmp")
        tmp.write_text(str(port))
        tmp.replace(args.port_file)
    print(f"{args.region}: http://{LOOPBACK}:{port}/{args.stage}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
