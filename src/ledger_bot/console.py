"""The console adapter: chat with the bot in a terminal, or pipe questions through it.

On a terminal it is a small chat (like Hubot's shell adapter): a prompt, follow-ups that
remember the conversation, ``/new`` to start over and ``/quit`` to leave. When standard input
is not a terminal it reads one question per line and prints one JSON object per question
(JSON Lines), then stops at the end of the input. Either way each question goes through the
same pipeline as Slack: validation, redaction, rate limits, the question log and metrics.
"""

from __future__ import annotations

import asyncio
import getpass
import json
from typing import TextIO

from starlette.routing import BaseRoute

from ledger_bot.http_api import CheckResult
from ledger_bot.rendering import outcome_to_dict, render_outcome_text
from ledger_bot.service import LedgerBotService, QuestionRequest

PROMPT = "you › "
HISTORY_TURNS = 6


class ConsoleAdapter:
    name = "console"

    def __init__(
        self,
        service: LedgerBotService,
        stdin: TextIO,
        stdout: TextIO,
        *,
        interactive: bool,
        user: str | None = None,
    ) -> None:
        self._service = service
        self._stdin = stdin
        self._stdout = stdout
        self._interactive = interactive
        self._user = user or local_user("console")
        self.connected = False
        self.answered = 0

    def routes(self) -> list[BaseRoute]:
        return []

    async def check(self) -> CheckResult:
        return CheckResult(self.connected, "" if self.connected else "not connected")

    async def stop(self) -> None:
        """Nothing to close: the console stops reading when the process ends."""

    async def drain(self, grace: float) -> int:
        return 0  # its questions are the service's, which the service drains

    async def _read_line(self) -> str | None:
        if self._interactive:
            self._stdout.write(PROMPT)
            self._stdout.flush()
        line = await asyncio.to_thread(self._stdin.readline)
        return line if line else None

    async def run(self) -> None:
        """Answer questions until the input ends or ``/quit``."""
        self.connected = True
        history: list[str] = []
        try:
            while (line := await self._read_line()) is not None:
                text = line.strip()
                if self._interactive and text in {"/quit", "/exit"}:
                    break
                if self._interactive and text == "/new":
                    history.clear()
                    continue
                if self._interactive and not text:
                    continue
                request = QuestionRequest(
                    text=text,
                    user=self._user,
                    channel="console",
                    surface="console",
                    history=tuple(history[-HISTORY_TURNS:]) if self._interactive else (),
                )
                streamed = _Streamed(self._stdout) if self._interactive else None
                outcome = await self._service.handle(request, on_text=streamed)
                self.answered += 1
                if streamed is not None:
                    streamed.finish(render_outcome_text(outcome))
                    if outcome.answer is not None:
                        history.append(text)
                else:
                    record = outcome_to_dict(text, outcome)
                    self._stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
                self._stdout.flush()
        finally:
            self.connected = False


class _Streamed:
    """Prints a streamed answer as it grows, then whatever the final answer adds to it (or the
    final answer in full, when it differs from what was shown, e.g. renumbered citations)."""

    def __init__(self, stdout: TextIO) -> None:
        self._stdout = stdout
        self._shown = ""

    def __call__(self, text: str) -> None:
        if text.startswith(self._shown):
            self._stdout.write(text[len(self._shown) :])
        else:
            self._stdout.write("\n" + text)
        self._stdout.flush()
        self._shown = text

    def finish(self, final: str) -> None:
        if not self._shown:
            self._stdout.write(final + "\n\n")
        elif final.startswith(self._shown):
            self._stdout.write(final[len(self._shown) :] + "\n\n")
        else:
            self._stdout.write("\n\n" + final + "\n\n")


def local_user(fallback: str) -> str:
    """The name of the user running this process, or ``fallback`` when it has none (a
    container's arbitrary UID has no passwd entry)."""
    try:
        return getpass.getuser()
    except Exception:
        return fallback
