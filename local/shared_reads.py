"""Concurrent requests share their reads of the deployed state, without reading it stale.

The gateway reads the stage and the target function's configuration and policy for every
request, so that a change applies to the next request. Under a burst, dozens of requests
make the same three emulator calls at the same moment, and the emulator (one Python
process) is what limits the local deployment's throughput. ``SharedReads.get`` lets them
share one call, under one rule that keeps "the next request sees the change": a caller
only takes the result of a call that *started after it asked*. Callers arriving while a
call runs gather for the next one, which starts when the running one ends; a lone caller
reads at once, as before.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable


class _Flight:
    """One call and the callers that gathered for it before it started."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: Any = None
        self.error: BaseException | None = None

    def run(self, read: Callable[[], Any]) -> None:
        try:
            self.value = read()
        except BaseException as err:  # every caller of this flight gets it
            self.error = err
        finally:
            self.done.set()

    def result(self) -> Any:
        self.done.wait()
        if self.error is not None:
            raise self.error
        return self.value


class SharedReads:
    """Per key: at most one call running and one gathering callers for the next."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._gathering: dict[Hashable, _Flight] = {}
        self._turns: dict[Hashable, threading.Lock] = {}

    def get(self, key: Hashable, read: Callable[[], Any]) -> Any:
        """``read()``'s result from a call that started after this call began."""
        with self._lock:
            flight = self._gathering.get(key)
            leads = flight is None
            if flight is None:
                flight = self._gathering[key] = _Flight()
            turn = self._turns.setdefault(key, threading.Lock())
        if leads:
            with turn:  # the running call (started before some of us asked) ends first
                with self._lock:
                    del self._gathering[key]  # who asks from now on waits for the next call
                flight.run(read)
        return flight.result()
