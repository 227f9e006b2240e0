"""What every local front door (a region's gateway, the global router) bounds before any
work is done for a request, so that no client can make the process hold or wait for more
than these limits, and every refusal is an answer (JSON, as API Gateway's are), never a
dropped or reset connection:

- the request line and headers together: at most ``MAX_HEADER_BYTES`` (431);
- the body: at most ``MAX_BODY_BYTES``, whatever ``Content-Length`` says and for chunked
  bodies (413); a ``Content-Length`` that is not one decimal number, or several that
  disagree, or a malformed chunk: 400;
- time: ``SOCKET_TIMEOUT_S`` between two reads, ``REQUEST_READ_DEADLINE_S`` for a whole
  request;
- concurrency: ``workers`` threads serve connections, ``waiting`` more wait in a queue, the
  kernel's listen backlog holds ``BACKLOG`` not yet accepted; past workers + waiting the
  server answers its ``busy`` response at once (the gateway 429, the router 503 with
  ``Retry-After``) and reads what the client sent before closing, so the client gets the
  answer instead of a reset;
- queueing: a connection no worker has started within ``queue_deadline_s`` of being accepted
  gets the same answer then (checked every ``EXPIRY_TICK_S``), so no admitted request waits
  longer than that for a worker and no refused one waits longer for its answer.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import queue
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import TYPE_CHECKING, TypedDict

if TYPE_CHECKING:
    import io
    from email.message import Message

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's REST payload quota
MAX_HEADER_BYTES = 10240  # API Gateway's quota on the request line and headers together
SOCKET_TIMEOUT_S = 10.0  # between two reads from a client
REQUEST_READ_DEADLINE_S = 30.0  # for a whole request, however slowly it trickles in
BACKLOG = 1024  # the kernel caps it at net.core.somaxconn
# Threads serving connections: the work is waiting (on handlers, on the emulator), not CPU.
WORKERS = 16 * (os.cpu_count() or 1)
WAITING = 256  # connections accepted and queued for a worker before the busy answer
DRAIN_BYTES, DRAIN_S = 1 << 20, 1.0  # read from a refused client so that close() sends no RST
REFUSERS = 4  # threads giving the busy answer
# Longest wait for a worker. Sized for the local deployment's measured service (50-128 admitted
# requests/s through the router's 8 workers per core: well under 0.5 s in flight), so that an
# admitted request is answered within ~1.5 s and a refused one learns it within ~1 s
# (docs/local-limits.md, "Bursts").
QUEUE_DEADLINE_S = 1.0
EXPIRY_TICK_S = 0.05
DECIMAL = re.compile(r"[0-9]{1,19}")


class Capacity(TypedDict, total=False):
    """A server's bounds on concurrency, each defaulting to the constant of its name."""

    workers: int
    waiting: int
    queue_deadline_s: float


class Refused(Exception):
    """A request answered before it is served: ``status`` and API Gateway's ``message`` and
    ``error_type``; ``cause`` goes to the log."""

    def __init__(self, status: int, message: str, error_type: str, cause: str | None = None) -> None:
        super().__init__(cause or message)
        self.status, self.message, self.error_type, self.cause = status, message, error_type, cause or message


def bad_request(cause: str) -> Refused:
    return Refused(400, "Bad Request", "BadRequestException", cause)


def too_long(max_bytes: int) -> Refused:
    return Refused(413, "Request Too Long", "RequestTooLarge", f"body over {max_bytes} bytes")


def content_length(headers: Message) -> int:
    """The one declared length (0 when absent), or a 400 for anything but a decimal number."""
    values = {value.strip() for value in headers.get_all("Content-Length") or []}
    if len(values) > 1:
        raise bad_request(f"{len(values)} different Content-Length values")
    text = values.pop() if values else "0"
    if not DECIMAL.fullmatch(text):
        raise bad_request("Content-Length is not a decimal number")
    return int(text)


def read_body(headers: Message, rfile: io.BufferedIOBase, max_bytes: int = MAX_BODY_BYTES) -> bytes:
    """The request body, never reading more than ``max_bytes`` of it."""
    if "chunked" in (headers.get("Transfer-Encoding") or "").lower():
        return _read_chunked(rfile, max_bytes)
    length = content_length(headers)
    if length > max_bytes:
        raise too_long(max_bytes)
    body = rfile.read(length) if length else b""
    if len(body) != length:
        raise ConnectionError("the client closed the connection before sending its body")
    return body


def _read_chunked(rfile: io.BufferedIOBase, max_bytes: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        line = rfile.readline(100)
        size_text = line.split(b";")[0].strip()
        if not re.fullmatch(rb"[0-9a-fA-F]{1,16}", size_text):
            raise bad_request("malformed chunk size")
        chunk_size = int(size_text, 16)
        if chunk_size == 0:
            while rfile.readline(MAX_HEADER_BYTES) not in (b"\r\n", b"\n", b""):
                pass  # trailers are dropped, as API Gateway does
            return b"".join(chunks)
        size += chunk_size
        if size > max_bytes:
            raise too_long(max_bytes)
        chunk = rfile.read(chunk_size)
        if len(chunk) != chunk_size:
            raise ConnectionError("the client closed the connection inside a chunk")
        chunks.append(chunk)
        rfile.readline(3)


class _BoundedReader:
    """The connection's reader, refusing to hand out more than ``limit`` bytes of head."""

    def __init__(self, raw: io.BufferedIOBase, limit: int) -> None:
        self.raw, self.remaining = raw, limit

    def readline(self, size: int = -1) -> bytes:
        cap = self.remaining + 1 if size < 0 else min(size, self.remaining + 1)
        line = self.raw.readline(cap)
        self.remaining -= len(line)
        if self.remaining < 0:
            raise Refused(431, "Request Header Fields Too Large", "RequestHeaderFieldsTooLarge")
        return line


class Deadlines:
    """One thread that shuts down the connections whose request took too long to arrive."""

    def __init__(self) -> None:
        self._due: dict[socket.socket, float] = {}
        self._lock = threading.Lock()
        threading.Thread(target=self._watch, daemon=True, name="request-deadlines").start()

    def arm(self, connection: socket.socket, seconds: float) -> None:
        with self._lock:
            self._due[connection] = time.monotonic() + seconds

    def disarm(self, connection: socket.socket) -> None:
        with self._lock:
            self._due.pop(connection, None)

    def _watch(self) -> None:
        while True:
            time.sleep(0.25)
            now = time.monotonic()
            with self._lock:
                late = [connection for connection, due in self._due.items() if due <= now]
                for connection in late:
                    self._due.pop(connection)
            for connection in late:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)


class FrontDoorHandler(BaseHTTPRequestHandler):
    """Reads each request within the bounds; subclasses answer with ``serve(body)`` and
    turn a ``Refused`` into their own error answer with ``refuse``."""

    protocol_version = "HTTP/1.1"
    # Until a request line says otherwise: HTTP/0.9 would send refusals without a status line.
    default_request_version = "HTTP/1.1"
    timeout = SOCKET_TIMEOUT_S
    server: FrontDoorServer
    max_body_bytes = MAX_BODY_BYTES

    def handle_one_request(self) -> None:
        self.command = ""  # until the request line is read (a refusal may come first)
        self.server.deadlines.arm(self.connection, REQUEST_READ_DEADLINE_S)
        try:
            body = self._read_request()
        except Refused as refused:
            self.close_connection = True
            return self.refuse(refused)
        except (OSError, ValueError):  # timeouts, resets, a deadline shutdown
            self.close_connection = True
            return None
        finally:
            self.server.deadlines.disarm(self.connection)
        if body is not None:
            self.serve(body)

    def _read_request(self) -> bytes | None:
        raw_reader = self.rfile
        # Only readline is used while the head is read (raw_requestline, parse_request).
        self.rfile = _BoundedReader(raw_reader, MAX_HEADER_BYTES)  # type: ignore[assignment]
        try:
            self.raw_requestline = self.rfile.readline(65537)
            if not self.raw_requestline:
                self.close_connection = True
                return None
            if not self.parse_request():  # it has answered (400, 505, ...) with send_error
                return None
        finally:
            self.rfile = raw_reader
        return read_body(self.headers, self.rfile, self.max_body_bytes)

    def serve(self, body: bytes) -> None:
        raise NotImplementedError

    def refuse(self, refused: Refused) -> None:
        raise NotImplementedError

    # parse_request's answers
    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        self.close_connection = True
        self.refuse(Refused(code, message or "Bad Request", "BadRequestException"))

    def log_message(self, format: str, *args: object) -> None:  # each server logs its own way
        pass


def json_error(status: int, message: str, extra: str = "") -> bytes:
    """A whole HTTP/1.1 error response with a JSON body, closing the connection."""
    body = json.dumps({"message": message}).encode()
    reason = {429: "Too Many Requests", 503: "Service Unavailable"}.get(status, "Error")
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        f"{extra}Connection: close\r\n\r\n"
    )
    return head.encode() + body


class FrontDoorServer(HTTPServer):
    """An HTTP server on a fixed pool of ``workers`` threads with ``waiting`` connections
    queued; ``busy`` (a whole response) answers every connection beyond that."""

    request_queue_size = BACKLOG
    busy = json_error(503, "Service Unavailable", "Retry-After: 1\r\n")

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        workers: int = WORKERS,
        waiting: int = WAITING,
        queue_deadline_s: float = QUEUE_DEADLINE_S,
    ) -> None:
        super().__init__(address, handler)
        self.deadlines = Deadlines()
        self.queue_deadline_s = queue_deadline_s
        self.slots = threading.BoundedSemaphore(workers + waiting)
        # (accepted at, connection, client address), oldest first
        self.pending: collections.deque[tuple[float, socket.socket, object]] = collections.deque()
        self.ready = threading.Condition()
        self.refusals: queue.SimpleQueue = queue.SimpleQueue()
        for number in range(workers):
            threading.Thread(target=self._work, daemon=True, name=f"worker-{number}").start()
        for number in range(REFUSERS):
            threading.Thread(target=self._refuse, daemon=True, name=f"busy-answers-{number}").start()
        threading.Thread(target=self._expire, daemon=True, name="queue-deadline").start()

    def process_request(self, request: socket.socket | tuple[bytes, socket.socket], client_address: object) -> None:
        assert isinstance(request, socket.socket)  # a TCP server
        if self.slots.acquire(blocking=False):
            with self.ready:
                self.pending.append((time.monotonic(), request, client_address))
                self.ready.notify()
        else:
            self.refusals.put(request)

    def _next(self) -> tuple[float, socket.socket, object]:
        with self.ready:
            while not self.pending:
                self.ready.wait()
            return self.pending.popleft()

    def _work(self) -> None:
        while True:
            accepted_at, request, client_address = self._next()
            if time.monotonic() - accepted_at > self.queue_deadline_s:
                self._late(request)
                continue
            try:
                self.finish_request(request, client_address)
            except OSError:  # the client went away: nothing to answer
                pass
            except Exception:
                self.handle_error(request, client_address)
            finally:
                self.shutdown_request(request)
                self.slots.release()

    def _expire(self) -> None:
        """Answers the queued connections past the deadline, oldest first, without a worker."""
        while True:
            time.sleep(EXPIRY_TICK_S)
            cutoff = time.monotonic() - self.queue_deadline_s
            late = []
            with self.ready:
                while self.pending and self.pending[0][0] < cutoff:
                    late.append(self.pending.popleft()[1])
            for connection in late:
                self._late(connection)

    def _late(self, connection: socket.socket) -> None:
        self.slots.release()
        self.refusals.put(connection)

    def _refuse(self) -> None:
        """Answers, then reads what the client sent (bounded) so closing does not reset."""
        while True:
            connection = self.refusals.get()
            try:
                connection.settimeout(DRAIN_S)
                connection.sendall(self.busy)
                connection.shutdown(socket.SHUT_WR)
                drained, until = 0, time.monotonic() + DRAIN_S
                while drained < DRAIN_BYTES and time.monotonic() < until and (chunk := connection.recv(65536)):
                    drained += len(chunk)
            except OSError:
                pass
            finally:
                connection.close()
