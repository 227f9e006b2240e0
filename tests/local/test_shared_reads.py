"""Concurrent reads of the deployed state are shared, and never older than the request."""

from __future__ import annotations

import threading
import time

import pytest

from local.shared_reads import SharedReads


class Source:
    """A slow read of a value that changes: counts its calls and when each started."""

    def __init__(self, seconds: float) -> None:
        self.seconds, self.value, self.calls = seconds, 0, 0
        self.lock = threading.Lock()

    def read(self) -> int:
        with self.lock:
            self.calls += 1
            value = self.value
        time.sleep(self.seconds)
        return value


def test_callers_arriving_together_share_calls():
    source, reads = Source(0.2), SharedReads()
    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(reads.get("stage", source.read))) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [0] * 40
    assert source.calls <= 3, source.calls  # one running, one gathering; 40 without sharing


def test_a_caller_never_gets_a_call_that_started_before_it_asked():
    source, reads = Source(0.3), SharedReads()
    first = threading.Thread(target=reads.get, args=("stage", source.read))
    first.start()
    time.sleep(0.1)  # the first call runs and has read the old value
    source.value = 1  # a change, made before the second caller asks
    assert reads.get("stage", source.read) == 1
    first.join()
    assert source.calls == 2


def test_keys_do_not_share_and_errors_reach_every_caller_of_their_call():
    reads = SharedReads()
    assert reads.get(("policy", "a"), lambda: "a") == "a"
    assert reads.get(("policy", "b"), lambda: "b") == "b"

    def missing() -> None:
        raise LookupError("no such function")

    with pytest.raises(LookupError):
        reads.get("configuration", missing)
    assert reads.get("configuration", lambda: "back") == "back"
