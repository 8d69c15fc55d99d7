"""The canary: a question ``serve`` asks itself now and then, to catch a knowledge base that
has quietly stopped answering.

Health and readiness say the process runs and the index exists; they cannot say the bot still
answers the team's questions. A sync that removed the docs folder, a document moved or
renamed, an index left empty or corrupt: the bot stays up and says "not found" to everyone.
With ``LEDGER_BOT_CANARY_QUESTION`` set, the canary searches for it and answers it with the
offline answerer every ``LEDGER_BOT_CANARY_INTERVAL`` seconds (no language model, so it costs
nothing and does not depend on one; the model has its own readiness check), and checks that
it is answered, citing ``LEDGER_BOT_CANARY_SOURCE`` when that is set. The result goes to
``/ready`` as the optional check ``canary`` (degraded, never failing: if every replica failed
it, none would be left to answer) and to ``ledger_bot_canary_ok``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from ledger_bot.answering.extractive import ExtractiveAnswerer
from ledger_bot.documents import Answer
from ledger_bot.http_api import CheckResult
from ledger_bot.knowledge_base import SqliteKnowledgeBase
from ledger_bot.metrics import Metrics
from ledger_bot.service import PASSAGES_PER_LIMIT
from ledger_bot.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CanaryResult:
    ok: bool
    detail: str
    seconds: float


class Canary:
    """Asks ``settings.canary_question`` of the knowledge base; see the module docstring."""

    def __init__(
        self, settings: Settings, knowledge_base: SqliteKnowledgeBase, metrics: Metrics
    ) -> None:
        if not settings.canary_question:
            raise ValueError("no canary question is set")
        self.question = settings.canary_question
        self.source = settings.canary_source
        self.interval = settings.canary_interval
        self._limit = settings.search_limit * PASSAGES_PER_LIMIT
        self._knowledge_base = knowledge_base
        self._answerer = ExtractiveAnswerer(
            knowledge_base,
            min_support=settings.answer_min_support,
            max_quotes=settings.answer_max_quotes,
        )
        self._metrics = metrics
        self.last: CanaryResult | None = None

    def _answer(self) -> Answer:
        passages = self._knowledge_base.search(self.question, self._limit)
        return self._answerer.compose(self.question, passages)

    async def ask(self) -> CanaryResult:
        """Ask the question once and record the result; never raises."""
        started = time.perf_counter()
        try:
            answer = await asyncio.to_thread(self._answer)
            ok, detail = self._judge(answer)
        except Exception as exc:  # a corrupt index, a locked file: that is what it is for
            ok, detail = False, f"asking it failed: {type(exc).__name__}: {exc}"
        result = CanaryResult(ok, detail, time.perf_counter() - started)
        if not ok and (self.last is None or self.last.ok or self.last.detail != detail):
            log.warning("canary question failed: %s", detail, extra={"question": self.question})
        elif ok and self.last is not None and not self.last.ok:
            log.info("canary question answered again", extra={"question": self.question})
        self.last = result
        self._metrics.canary_ok.set(1 if ok else 0)
        self._metrics.canary_duration_seconds.set(result.seconds)
        return result

    def _judge(self, answer: Answer) -> tuple[bool, str]:
        cited = [citation.source for citation in answer.citations]
        if not answer.answered:
            closest = ", ".join(s.source for s in answer.suggestions) or "nothing"
            return False, f"{self.question!r} is no longer answered (closest: {closest})"
        if self.source is not None and self.source not in cited:
            return False, f"the answer cites {', '.join(cited)}, not {self.source}"
        return True, f"answered from {', '.join(cited)}"

    async def run(self) -> None:
        """Ask every ``interval`` seconds, the first time at once, until cancelled."""
        while True:
            await self.ask()
            await asyncio.sleep(self.interval)

    async def check(self) -> CheckResult:
        """The ``canary`` check of ``/ready``: the last result, without asking again."""
        if self.last is None:
            return CheckResult(True, "not asked yet", required=False)
        return CheckResult(self.last.ok, self.last.detail, required=False)
