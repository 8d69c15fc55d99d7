"""Waiting for something the emulator records, without polling."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class Signal:
    """Fired (from sync or async code) whenever a record changes; waiters re-check on each fire."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def fire(self) -> None:
        event, self._event = self._event, asyncio.Event()
        event.set()

    async def wait_for(
        self, check: Callable[[], T | None], *, timeout: float, describe: Callable[[], str]
    ) -> T:
        """The first non-None ``check()``, or ``TimeoutError`` (saying ``describe()``)."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    event = self._event
                    found = check()
                    if found is not None:
                        return found
                    await event.wait()
        except TimeoutError:
            raise TimeoutError(f"after {timeout:g}s: {describe()}") from None
