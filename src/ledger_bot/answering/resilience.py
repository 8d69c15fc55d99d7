"""Staying useful when the language model is not: a circuit breaker and the price table.

The breaker opens after ``failures`` calls in a row fail, and while open the bot does not call
the provider at all (answers go out extractively at once instead of after a timeout). After
``cooldown`` seconds one trial call is let through: success closes the breaker, failure opens
it for another cooldown.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass


class CircuitBreaker:
    def __init__(
        self,
        failures: int,
        cooldown: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._threshold = failures
        self._cooldown = cooldown
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._trial = False

    @property
    def state(self) -> str:
        """``closed`` (calling), ``open`` (not calling) or ``half_open`` (one trial allowed)."""
        if self._opened_at is None:
            return "closed"
        if self._clock() - self._opened_at >= self._cooldown:
            return "half_open"
        return "open"

    def allow(self) -> bool:
        """Whether to call the provider now (in half-open state, only one caller gets through)."""
        state = self.state
        if state == "closed":
            return True
        if state == "half_open" and not self._trial:
            self._trial = True
            return True
        return False

    def succeeded(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._trial = False

    def failed(self) -> None:
        self._failures += 1
        self._trial = False
        if self._opened_at is not None or self._failures >= self._threshold:
            self._opened_at = self._clock()

    def retry_in(self) -> float:
        """Seconds until the next trial call; 0 when closed."""
        if self._opened_at is None:
            return 0.0
        return max(0.0, self._cooldown - (self._clock() - self._opened_at))


@dataclass(frozen=True, slots=True)
class Price:
    """US dollars per million tokens."""

    input_per_million: float
    output_per_million: float

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        return (
            input_tokens * self.input_per_million + output_tokens * self.output_per_million
        ) / 1_000_000


def parse_prices(text: str) -> dict[str, Price]:
    """``model=input:output,model=input:output`` (USD per million tokens) → prices by model.

    Raises ValueError with the offending entry when one is malformed.
    """
    prices: dict[str, Price] = {}
    for entry in filter(None, (part.strip() for part in text.split(","))):
        model, sep, rates = entry.rpartition("=")
        input_rate, colon, output_rate = rates.partition(":")
        try:
            if not sep or not colon or not model.strip():
                raise ValueError
            price = Price(float(input_rate), float(output_rate))
        except ValueError:
            raise ValueError(
                f"price entry {entry!r} must look like model=INPUT:OUTPUT "
                "(US dollars per million tokens)"
            ) from None
        if price.input_per_million < 0 or price.output_per_million < 0:
            raise ValueError(f"price entry {entry!r} has a negative price")
        prices[model.strip()] = price
    return prices


def price_of(prices: Mapping[str, Price], model: str) -> Price | None:
    """The price of ``model``, also when the provider reports a dated version of its name
    (``gpt-4o-mini-2024-07-18`` for ``gpt-4o-mini``)."""
    if model in prices:
        return prices[model]
    candidates = [name for name in prices if model.startswith(name + "-")]
    return prices[max(candidates, key=len)] if candidates else None
