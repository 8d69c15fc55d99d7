"""Rate limits and the daily budget, enforced through the shared state.

Three token buckets — per asker, per channel, and for everyone — and a daily question budget.
Because the buckets live in the state store, limits hold across replicas and restarts. A
question is let through only when every limit allows it; the first limit that refuses says
when the asker may try again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ledger_bot.settings import Settings
from ledger_bot.state import StateStore, TokenTake


@dataclass(frozen=True, slots=True)
class LimitDecision:
    allowed: bool
    limit: str = ""  # which limit refused: user, channel, global or daily
    retry_after: float = 0.0  # seconds until the asker may try again


ALLOWED = LimitDecision(allowed=True)


@dataclass(frozen=True, slots=True)
class _Bucket:
    name: str
    per_minute: float
    burst: int


def _seconds_to_midnight(now: datetime) -> float:
    tomorrow = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return (tomorrow - now).total_seconds()


class RateLimiter:
    def __init__(self, state: StateStore, settings: Settings) -> None:
        self._state = state
        self._buckets = (
            _Bucket("user", settings.user_rate_per_minute, settings.user_burst),
            _Bucket("channel", settings.channel_rate_per_minute, settings.channel_burst),
            _Bucket("global", settings.global_rate_per_minute, settings.global_burst),
        )
        self._daily_budget = settings.daily_question_budget

    async def check(self, user: str, channel: str, now: datetime | None = None) -> LimitDecision:
        """Take one question from every limit that applies to ``user`` in ``channel``."""
        keys = {"user": f"user:{user}", "channel": f"channel:{channel}", "global": "global"}
        buckets = [bucket for bucket in self._buckets if bucket.per_minute > 0]
        if buckets:
            # One transaction for every bucket, always in the order user, channel, global.
            decisions = await self._state.take_tokens(
                [TokenTake(f"rate:{keys[b.name]}", b.burst, b.per_minute / 60.0) for b in buckets]
            )
            last = decisions[-1]
            if not last.allowed:
                return LimitDecision(
                    False, buckets[len(decisions) - 1].name, _ceil(last.retry_after)
                )
        if self._daily_budget > 0:
            now = now or datetime.now(UTC)
            counted = await self._state.add_to_counter(
                "questions", now.date().isoformat(), 1, self._daily_budget
            )
            if not counted.allowed:
                return LimitDecision(False, "daily", _ceil(_seconds_to_midnight(now)))
        return ALLOWED


def _ceil(seconds: float) -> float:
    return float(math.ceil(seconds)) if math.isfinite(seconds) else seconds
