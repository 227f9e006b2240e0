"""The emulator sends each response in one write (see local/emulator_server.py for why: with
headers and body in two writes, the AWS provider's client now and then closed the
connection between them and retried a create that had already succeeded)."""

from __future__ import annotations

import socket
import threading

import pytest
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

from local.emulator_server import OneWriteRequestHandler

REQUEST = (
    b"GET /2015-03-31/functions HTTP/1.1\r\n"
    b"Host: 127.0.0.1\r\n"
    b"Authorization: AWS4-HMAC-SHA256 Credential=test/20261127/eu-west-1/lambda/aws4_request, "
    b"SignedHeaders=host, Signature=0\r\n"
    b"Content-Length: 0\r\n\r\n"
)


class RecordingSocket(socket.socket):
    """A real socket that remembers the size of every write the server makes."""

    writes: list[int]

    def send(self, data, *args):
        self.writes.append(len(data))
        return super().send(data, *args)

    def sendall(self, data, *args):
        self.writes.append(len(data))
        return super().sendall(data, *args)


def serve_one_request(handler_class) -> tuple[list[int], bytes]:
    """Serve REQUEST through ``handler_class`` on a real loopback connection; return the
    server's write sizes and the bytes the client received."""
    app = DomainDispatcherApplication(create_backend_app)
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=handler_class)
    listener = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(listener.getsockname())
    accepted, address = listener.accept()
    recording = RecordingSocket(fileno=accepted.detach())
    recording.writes = []
    client.sendall(REQUEST)
    worker = threading.Thread(target=server.finish_request, args=(recording, address))
    worker.start()
    worker.join(timeout=30)
    recording.close()
    received = b""
    while chunk := client.recv(65536):
        received += chunk
    client.close()
    listener.close()
    server.server_close()
    return [size for size in recording.writes if size], received


@pytest.fixture(autouse=True)
def _credentials(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")


def test_each_response_leaves_in_one_write():
    writes, received = serve_one_request(OneWriteRequestHandler)
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert b'"Functions"' in body
    assert writes == [len(received)], f"the response left in {len(writes)} writes: {writes}"


def test_moto_server_alone_writes_headers_and_body_separately():
    """Why the handler exists: the stock handler writes the headers, then the body."""
    writes, received = serve_one_request(MotoRequestHandler)
    assert received.startswith(b"HTTP/1.1 200")
    assert len(writes) >= 2, writes
