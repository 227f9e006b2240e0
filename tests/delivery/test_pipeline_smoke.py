"""The pipeline's smoke step against an authenticated environment without a token: read-only
checks that pass where the full smoke answered 401 (issue 19, item 2). A real HTTP server on
loopback answers as API Gateway does with a TOKEN authorizer and no Authorization header."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ops import pipeline


class Gateway(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/v1/health":
            status = 200
        elif self.path.startswith("/v1/items/") and "Authorization" not in self.headers:
            status = 401
        else:
            status = 500
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def gateway_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def test_without_a_token_an_authenticated_environment_gets_the_read_only_checks(environment_configs, gateway_url):
    dev = environment_configs["dev"]
    assert not dev.auth.public
    checks = pipeline.smoke_checks(dev, {"eu-west-1": gateway_url, "eu-central-1": gateway_url}, token=None)
    assert [(c.region, c.name, c.ok) for c in checks] == [
        (region, name, True)
        for region in ("eu-west-1", "eu-central-1")
        for name in ("health", "item read without a token is refused")
    ]


def test_a_gateway_that_lets_an_unauthenticated_read_through_fails(environment_configs, gateway_url):
    checks = pipeline.read_only_smoke({"eu-west-1": gateway_url.replace("/v1", "/v2")})
    assert [c.ok for c in checks] == [False, False]
