"""Slack: time from event delivery to the final answer, through the Slack emulator.

Usage: python bench/slack.py [--concurrency 1,20] [--questions 200] [--warm-up 20] [--kb PATH]
                             [--eval JSONL] [--channel-per-asker] [--in-process]
                             [--py-spy DIR] [--json]

The Slack emulator of ``tests/slack_emulator`` (its Web API and Socket Mode server) runs in
this process; the real bot runs as Slack sees it in production, on the other side of a
socket: by default ``ledger-bot serve`` in a child process, configured by environment
variables as an operator does (Socket Mode, the extractive answerer, the SQLite state store
next to the knowledge base, JSON logs at INFO to a file). With ``--in-process`` the bot runs
in this process and event loop instead, as ``tests/slack/conftest.py`` runs it (the mode of
the first measurements: the emulator's work is then charged to the bot). Rate limits are
off, so latency is measured, not throttling. The knowledge base is indexed from ``--kb``
(``sample-kb/`` by default) into a fresh database once, and copied for each level.

For each concurrency level a fresh emulator and bot are started; N askers (``U0ASK01``…)
each mention the bot with a question from ``--eval`` (the answerable single-turn items,
cycled) and ask the next one as soon as the previous answer (posted, or the update of its
placeholder) has reached the emulator (a closed loop). Every question is delivered as Slack
delivers it: the ``app_mention`` envelope, then the ``message`` envelope of the same message
(which the bot ignores: one answer per question). Per question, every time taken in this
process (one clock):

* ack: from the emulator sending the ``app_mention`` envelope to the bot's ack arriving;
* placeholder: from just before the delivery to the "Thinking…" ``chat.postMessage`` in the
  thread (none when the answer is quicker than LEDGER_BOT_SLACK_PLACEHOLDER_AFTER);
* final answer: from just before the delivery to the answer: the ``chat.update`` of that
  placeholder, or the answer posted directly.

The first ``--warm-up`` questions of each level are asked and discarded. At the end every
question must have exactly one answer and at most one placeholder (checked, and reported).
CPU is counted per process: the bot's (from /proc) and this one's (the emulator and the askers).
``--py-spy DIR`` records the bot process with py-spy during each measured phase (raw
collapsed stacks, ``DIR/bot-<askers>.txt``); the sampling takes some CPU itself.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import math
import os
import platform
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any, Protocol

from prometheus_client.parser import text_string_to_metric_families

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # the emulator is test code: `tests.slack_emulator`

from tests.slack_emulator import ApiCall, SlackEmulator  # noqa: E402

from ledger_bot.indexer import index_paths  # noqa: E402
from ledger_bot.knowledge_base import SqliteKnowledgeBase  # noqa: E402
from ledger_bot.logs import configure_logging  # noqa: E402
from ledger_bot.server import BotProcess  # noqa: E402
from ledger_bot.service import LedgerBotService, build_answerer  # noqa: E402
from ledger_bot.settings import load_settings  # noqa: E402
from ledger_bot.slack.blocks import render_thinking  # noqa: E402
from ledger_bot.state import SqliteStateStore  # noqa: E402

SAMPLE_KB = REPO / "sample-kb"
SAMPLE_EVAL = REPO / "tests" / "data" / "sample_eval.jsonl"
TIGERBEETLE_KB = REPO.parent / "shared" / "corpora" / "tigerbeetle-docs"
TIGERBEETLE_EVAL = REPO.parent / "shared" / "eval" / "tigerbeetle-dev.jsonl"
BOT_TOKEN = "xoxb-test"  # noqa: S105 (the emulator's fake tokens)
APP_TOKEN = "xapp-test"  # noqa: S105
CHANNEL = "C0LEDGERHELP"
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy")

TARGET_FINAL_P95_MS = 200.0  # at TARGET_ASKERS concurrent askers
TARGET_ASKERS = 20
TARGET_ACK_MS = 50.0
ANSWER_TIMEOUT = 30.0  # seconds an asker waits for one answer before counting it missing
BOT_START_TIMEOUT = 60.0  # seconds for `ledger-bot serve` to connect to the emulator
OUTCOMES = ("answered", "not_found", "rejected", "rate_limited", "error")
STRAY_GRACE = 0.5  # seconds to wait after the last answer for duplicate posts or updates


@dataclass
class Asked:
    """One question: when it was delivered, and when its answer reached the emulator."""

    asker: str
    channel: str
    ts: str  # the question's ts, which is the root of the answer's thread
    warm_up: bool
    delivered_at: float = 0.0  # time.monotonic(), just before the app_mention was delivered
    mention_envelope: str = ""
    message_envelope: str = ""
    placeholders: list[ApiCall] = field(default_factory=list)
    updates: list[ApiCall] = field(default_factory=list)

    def after(self, call: ApiCall) -> float:
        return (call.at - self.delivered_at) * 1000


# The "Thinking…" placeholder (the bot's default language); any other reply in a question's
# thread is the reply itself: an answer, or "not found" with or without buttons.
PLACEHOLDER_TEXT = render_thinking().text


class AnswerWatcher:
    """Follows the emulator's call log: placeholders posted in question threads, updates of
    those placeholders.

    One watcher wakes on each ``chat.update`` (not one waiter per asker), and it takes the
    calls it has read out of the emulator's log: ``wait_for_call`` scans the whole log each
    time anything happens, which would otherwise grow with the run and be charged to the bot.
    """

    def __init__(self, slack: SlackEmulator) -> None:
        self._slack = slack
        self.questions: dict[str, Asked] = {}  # by question ts
        self._placeholder_of: dict[str, Asked] = {}  # by placeholder ts
        self._waiting: dict[str, asyncio.Future[None]] = {}
        self.methods: Counter[str] = Counter()
        self.strays: list[ApiCall] = []  # posts and updates outside any question's thread

    def expect(self, asked: Asked) -> asyncio.Future[None]:
        self.questions[asked.ts] = asked
        future = asyncio.get_running_loop().create_future()
        self._waiting[asked.ts] = future
        return future

    async def run(self) -> None:
        while True:
            # An answer arrives as the update of a placeholder, or posted directly.
            waits = {
                asyncio.create_task(self._slack.wait_for_call(method, timeout=3600))
                for method in ("chat.update", "chat.postMessage")
            }
            try:
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for wait in waits:
                    wait.cancel()
                await asyncio.gather(*waits, return_exceptions=True)
            self.scan()

    def scan(self) -> None:
        calls = self._slack.calls  # the emulator's own list
        for call in calls:
            self.methods[call.method] += 1
            if call.method == "chat.postMessage":
                self._on_post(call)
            elif call.method == "chat.update":
                self._on_update(call)
        calls.clear()

    def _on_post(self, call: ApiCall) -> None:
        asked = self.questions.get(str(call.params.get("thread_ts") or ""))
        if asked is None or call.params.get("channel") != asked.channel:
            self.strays.append(call)
            return
        if call.params.get("text") != PLACEHOLDER_TEXT:  # the reply itself, posted directly
            self._answered(asked, call)
            return
        asked.placeholders.append(call)
        if call.response and call.response.get("ts"):
            self._placeholder_of[str(call.response["ts"])] = asked

    def _on_update(self, call: ApiCall) -> None:
        asked = self._placeholder_of.get(str(call.params.get("ts") or ""))
        if asked is None:
            self.strays.append(call)
            return
        self._answered(asked, call)

    def _answered(self, asked: Asked, call: ApiCall) -> None:
        asked.updates.append(call)
        future = self._waiting.pop(asked.ts, None)
        if future is not None and not future.done():
            future.set_result(None)


@dataclass
class Level:
    """The figures of one concurrency level (milliseconds unless named otherwise)."""

    askers: int
    mode: str  # "process" (the bot in a child process) or "in-process"
    replicas: int  # bot processes
    questions: int
    seconds: float
    bot_cpu_seconds: float  # the bot's process; in-process also the emulator and the askers
    slack_cpu_seconds: float | None  # this process (emulator and askers); None in-process
    ack_ms: list[float]
    message_ack_ms: list[float]
    placeholder_ms: list[float]
    final_ms: list[float]
    asked_total: int
    answers_total: int
    duplicates: list[str]
    missing: list[str]
    strays: int
    outcomes: dict[str, int]
    api_calls: dict[str, int]

    @property
    def per_second(self) -> float:
        return self.questions / self.seconds if self.seconds else 0.0

    @property
    def bot_cpu_ms_per_question(self) -> float:
        return self.bot_cpu_seconds * 1000 / self.questions

    @property
    def slack_cpu_ms_per_question(self) -> float | None:
        if self.slack_cpu_seconds is None:
            return None
        return self.slack_cpu_seconds * 1000 / self.questions

    @property
    def exactly_once(self) -> bool:
        return (
            self.answers_total == self.asked_total
            and not self.duplicates
            and not self.missing
            and not self.strays
        )


def shown(value: float) -> str:
    """A figure for the table; "–" when there was nothing to measure (no placeholders when
    every answer was quick enough to be posted directly)."""
    return "–" if math.isnan(value) else f"{value:.1f}"


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile: the smallest value with ``fraction`` of the values at or below."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(math.ceil(fraction * len(ordered)) - 1, 0)]


def load_questions(path: Path) -> list[str]:
    """The answerable single-turn questions of an eval set, in file order."""
    questions = []
    with path.open(encoding="utf-8") as handle:
        for record in map(json.loads, filter(str.strip, handle)):
            if record.get("answerable") and isinstance(record.get("question"), str):
                questions.append(record["question"])
    if not questions:
        sys.exit(f"{path} has no answerable single-turn questions")
    return questions


def build_knowledge_base(kb: Path, db: Path) -> tuple[int, int]:
    """Index ``kb`` into ``db``; its documents and chunks."""
    knowledge_base = SqliteKnowledgeBase.open(db, create=True)
    try:
        report = index_paths(knowledge_base, [kb])
        if report.failed:
            print(f"warning: {len(report.failed)} files not indexed", file=sys.stderr)
        stats = knowledge_base.stats()
        return stats.documents, stats.chunks
    finally:
        knowledge_base.close()


# -- the bot, in this process or in its own ---------------------------------------------------


class Bot(Protocol):
    """A running bot connected to the emulator."""

    def cpu_seconds(self) -> float: ...

    async def outcomes(self) -> dict[str, int]: ...

    async def stop(self) -> None: ...


@dataclass
class InProcessBot:
    process: BotProcess
    service: LedgerBotService
    task: asyncio.Task[int]

    def cpu_seconds(self) -> float:
        return time.process_time()  # this process: the bot, the emulator and the askers

    async def outcomes(self) -> dict[str, int]:
        registry = self.service.metrics.registry
        found = {}
        for outcome in OUTCOMES:
            value = registry.get_sample_value(
                "ledger_bot_questions_total", {"surface": "slack", "outcome": outcome}
            )
            if value:
                found[outcome] = int(value)
        return found

    async def stop(self) -> None:
        self.process.stop.set()
        await asyncio.wait_for(self.task, 15)


async def start_bot_in_process(slack: SlackEmulator, db: Path) -> InProcessBot:
    """The bot as ``tests/slack/conftest.py`` starts it, rate limits off; until connected."""
    settings = load_settings(
        db=db,
        host="127.0.0.1",
        port=0,
        slack_mode="socket",
        slack_bot_token=BOT_TOKEN,
        slack_app_token=APP_TOKEN,
        slack_api_url=slack.api_url,
        user_rate_per_minute=0,
        channel_rate_per_minute=0,
        global_rate_per_minute=0,
        daily_question_budget=0,
        sync_interval=0,
        sync_poll=0,
        shutdown_grace=5,
    )
    store = SqliteStateStore(db.with_name("state.db"))
    await store.open()
    kb = SqliteKnowledgeBase.open(db)
    service = LedgerBotService(settings, kb, build_answerer(settings, kb), state=store)
    process = BotProcess(settings, console=False, service=service)
    task = asyncio.create_task(process.run())
    await asyncio.wait_for(process.started.wait(), 10)
    bot = InProcessBot(process, service, task)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while loop.time() < deadline:
        adapter = process.adapters.get("slack")
        if adapter is not None and (await adapter.check()).ok:
            return bot
        await asyncio.sleep(0.01)
    await bot.stop()
    raise RuntimeError("the Slack adapter did not connect to the emulator")


def bot_environment(slack: SlackEmulator, db: Path, kb: Path) -> dict[str, str]:
    """``ledger-bot serve``'s configuration, as an operator sets it: Slack's own variable
    names for the tokens, rate limits off, no periodic sync, JSON logs at INFO."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in PROXY_VARIABLES and not name.startswith(("LEDGER_BOT_", "SLACK_"))
    }
    env.update(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_APP_TOKEN=APP_TOKEN,
        LEDGER_BOT_SLACK_MODE="socket",
        LEDGER_BOT_SLACK_API_URL=slack.api_url,
        LEDGER_BOT_DB=str(db),
        LEDGER_BOT_SOURCES=str(kb),
        LEDGER_BOT_HOST="127.0.0.1",
        LEDGER_BOT_PORT="0",
        LEDGER_BOT_USER_RATE_PER_MINUTE="0",
        LEDGER_BOT_CHANNEL_RATE_PER_MINUTE="0",
        LEDGER_BOT_GLOBAL_RATE_PER_MINUTE="0",
        LEDGER_BOT_DAILY_QUESTION_BUDGET="0",
        LEDGER_BOT_SYNC_INTERVAL="0",
        LEDGER_BOT_SYNC_POLL="0",
        LEDGER_BOT_SHUTDOWN_GRACE="5",
        LEDGER_BOT_LOG_LEVEL="INFO",
        LEDGER_BOT_LOG_FORMAT="json",
    )
    return env


@dataclass
class BotSubprocess:
    """``ledger-bot serve`` in a child process; its JSON log lines go to ``log``."""

    process: asyncio.subprocess.Process
    log: Path
    port: int = 0  # of its HTTP server (/metrics), read from its "listening" log line

    def cpu_seconds(self) -> float:
        """User and system CPU of every thread of the bot, from /proc (Linux)."""
        try:
            stat = Path(f"/proc/{self.process.pid}/stat").read_text()
        except OSError:
            return math.nan
        fields = stat.rsplit(")", 1)[1].split()  # fields 3… of proc(5); utime is 14, stime 15
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def log_lines(self) -> list[dict[str, Any]]:
        lines = []
        for line in self.log.read_text(encoding="utf-8", errors="replace").splitlines():
            with contextlib.suppress(ValueError):
                lines.append(json.loads(line))
        return lines

    async def wait_until_listening(self, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline and self.process.returncode is None:
            for line in self.log_lines():
                if line.get("message") == "listening" and isinstance(line.get("port"), int):
                    self.port = line["port"]
                    return
            await asyncio.sleep(0.05)
        raise RuntimeError(f"ledger-bot serve did not start; its log:\n{self.log_tail()}")

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    async def outcomes(self) -> dict[str, int]:
        import aiohttp

        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{self.port}/metrics") as response,
        ):
            text = await response.text()
        found: dict[str, int] = {}
        for family in text_string_to_metric_families(text):
            if family.name != "ledger_bot_questions":
                continue
            for sample in family.samples:
                labels = sample.labels
                counted = sample.name.endswith("_total") and sample.value
                if counted and labels.get("surface") == "slack":
                    found[labels["outcome"]] = int(sample.value)
        return {outcome: found[outcome] for outcome in OUTCOMES if outcome in found}

    async def stop(self) -> None:
        """SIGTERM, as a deployment stops it; it must exit 0 within the grace period."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 20)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        if self.process.returncode != 0:
            raise RuntimeError(
                f"ledger-bot serve exited {self.process.returncode}; its log:\n{self.log_tail()}"
            )


async def start_bot_process(
    slack: SlackEmulator, db: Path, kb: Path, log: Path, *, connections: int = 1
) -> BotSubprocess:
    """``python -m ledger_bot serve`` against the emulator; until ``connections`` sockets
    (its own and those of the replicas started before it) are open."""
    with log.open("wb") as handle:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "ledger_bot",
            "serve",
            env=bot_environment(slack, db, kb),
            cwd=db.parent,  # no .env from where the bench was started
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=handle,
        )
    bot = BotSubprocess(process, log)
    try:
        await bot.wait_until_listening(BOT_START_TIMEOUT)
        await slack.wait_for_connections(connections, timeout=BOT_START_TIMEOUT)
    except BaseException:
        if process.returncode is None:
            process.kill()
            await process.wait()
        raise
    return bot


@dataclass
class Replicas:
    """Several ``ledger-bot serve`` processes sharing the state store next to the knowledge
    base, each with its own Socket Mode connection: the emulator deals the envelopes out
    round robin, as Slack spreads them over an app's connections."""

    bots: list[BotSubprocess]

    def cpu_seconds(self) -> float:
        return sum(bot.cpu_seconds() for bot in self.bots)

    async def outcomes(self) -> dict[str, int]:
        total: Counter[str] = Counter()
        for bot in self.bots:
            total.update(await bot.outcomes())
        return {outcome: total[outcome] for outcome in OUTCOMES if total[outcome]}

    async def stop(self) -> None:
        results = await asyncio.gather(*(bot.stop() for bot in self.bots), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result


class PySpy:
    """``py-spy record`` of one process, from :meth:`start` until :meth:`stop`."""

    def __init__(self, pid: int, output: Path) -> None:
        self._pid, self._output = pid, output
        self._process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        executable = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        self._process = await asyncio.create_subprocess_exec(
            executable,
            "record",
            "--pid",
            str(self._pid),
            "--gil",
            "--rate",
            "200",
            "--format",
            "raw",
            "--output",
            str(self._output),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )

    async def stop(self) -> None:
        if self._process is None or self._process.returncode is not None:
            return
        self._process.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
        try:
            await asyncio.wait_for(self._process.wait(), 30)
        except TimeoutError:
            self._process.kill()
            await self._process.wait()


# -- asking ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Phase:
    asked: list[Asked]
    seconds: float  # wall
    bot_cpu_seconds: float
    slack_cpu_seconds: float  # this process, every thread: the emulator and the askers


async def ask_in_closed_loop(
    slack: SlackEmulator,
    bot: Bot,
    watcher: AnswerWatcher,
    askers: Sequence[tuple[str, str]],
    questions: Sequence[str],
    count: int,
    *,
    warm_up: bool,
    first: int,
) -> Phase:
    """``count`` questions by ``len(askers)`` askers (user, channel), each asking again as
    soon as its previous answer's final update arrived."""
    asked: list[Asked] = []
    taken = 0
    connections = slack.connection_ids  # one per bot process

    def next_question() -> str | None:
        nonlocal taken
        if taken >= count:
            return None
        taken += 1
        return questions[(first + taken - 1) % len(questions)]

    async def asker(user: str, channel: str) -> None:
        while (question := next_question()) is not None:
            message, mention = slack.user_posts(
                channel, f"<@{slack.bot_user_id}> {question}", user=user
            )
            record = Asked(user, channel, str(mention["event"]["ts"]), warm_up)
            answered = watcher.expect(record)
            asked.append(record)
            # Questions dealt out over the connections in turn; the message event of the
            # same message to the next one (Slack sends the two events independently).
            dealt = len(asked) % len(connections)
            to_mention = connections[dealt]
            to_message = connections[(dealt + 1) % len(connections)]
            record.delivered_at = time.monotonic()
            record.mention_envelope = await slack.deliver(
                "events_api", mention, connection=to_mention
            )
            record.message_envelope = await slack.deliver(
                "events_api", message, connection=to_message
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(answered, ANSWER_TIMEOUT)

    started, cpu, bot_cpu = time.monotonic(), time.process_time(), bot.cpu_seconds()
    await asyncio.gather(*(asker(user, channel) for user, channel in askers))
    return Phase(
        asked,
        time.monotonic() - started,
        bot.cpu_seconds() - bot_cpu,
        time.process_time() - cpu,
    )


def ack_ms(slack: SlackEmulator, envelope: str) -> float | None:
    try:
        return slack.ack_latency(envelope) * 1000
    except LookupError:
        return None


async def run_level(
    askers: int,
    args: argparse.Namespace,
    questions: Sequence[str],
    db: Path,
    work: Path,
) -> Level:
    # A fresh copy of the knowledge base per level; the state store is made next to it.
    level_dir = work / f"askers-{askers}"
    level_dir.mkdir()
    level_db = level_dir / db.name
    shutil.copyfile(db, level_db)
    async with SlackEmulator(BOT_TOKEN, APP_TOKEN, redelivery_after=None) as slack:
        slack.add_channel(CHANNEL, "ledger-help")
        people = []
        for number in range(1, askers + 1):
            user = f"U0ASK{number:02d}"
            slack.add_user(user, f"asker{number:02d}")
            channel = CHANNEL
            if args.channel_per_asker:
                channel = slack.add_channel(f"C0ASK{number:02d}", f"ask-{number:02d}").id
            people.append((user, channel))
        bot: Bot
        profilers: list[PySpy] = []
        if args.in_process:
            bot = await start_bot_in_process(slack, level_db)
        else:
            replicas = Replicas([])
            try:
                for number in range(1, args.replicas + 1):
                    log = level_dir / f"bot-{number}.log"
                    replicas.bots.append(
                        await start_bot_process(slack, level_db, args.kb, log, connections=number)
                    )
            except BaseException:
                await replicas.stop()
                raise
            bot = replicas
            if args.py_spy:
                for number, replica in enumerate(replicas.bots, 1):
                    suffix = f"-{number}" if args.replicas > 1 else ""
                    output = args.py_spy / f"bot-{askers}{suffix}.txt"
                    profilers.append(PySpy(replica.process.pid, output))
        watcher = AnswerWatcher(slack)
        watching = asyncio.create_task(watcher.run())
        try:
            warm = await ask_in_closed_loop(
                slack, bot, watcher, people, questions, args.warm_up, warm_up=True, first=0
            )
            for profiler in profilers:
                await profiler.start()
            phase = await ask_in_closed_loop(
                slack,
                bot,
                watcher,
                people,
                questions,
                args.questions,
                warm_up=False,
                first=len(warm.asked),
            )
            for profiler in profilers:
                await profiler.stop()
            measured = phase.asked
            await asyncio.sleep(STRAY_GRACE)  # a duplicate answer would land about now
            watcher.scan()
            outcomes = await bot.outcomes()
        finally:
            watching.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watching
            for profiler in profilers:
                await profiler.stop()
            await bot.stop()

        everything = [*warm.asked, *measured]
        done = [a for a in measured if a.updates]
        acks = [ack_ms(slack, a.mention_envelope) for a in measured]
        message_acks = [ack_ms(slack, a.message_envelope) for a in measured]
        return Level(
            askers=askers,
            mode="in-process" if args.in_process else "process",
            replicas=args.replicas,
            questions=len(measured),
            seconds=phase.seconds,
            bot_cpu_seconds=phase.bot_cpu_seconds,
            slack_cpu_seconds=None if args.in_process else phase.slack_cpu_seconds,
            ack_ms=[v for v in acks if v is not None],
            message_ack_ms=[v for v in message_acks if v is not None],
            placeholder_ms=[a.after(a.placeholders[0]) for a in done if a.placeholders],
            final_ms=[a.after(a.updates[-1]) for a in done],
            asked_total=len(everything),
            answers_total=sum(len(a.updates) for a in everything),
            duplicates=[a.ts for a in everything if len(a.updates) > 1 or len(a.placeholders) > 1],
            missing=[a.ts for a in everything if not a.updates],
            strays=len(watcher.strays),
            outcomes=outcomes,
            api_calls=dict(sorted(watcher.methods.items())),
        )


# -- the machine and the report ----------------------------------------------------------


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def memory_gib() -> float | None:
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    return None


def machine() -> dict[str, Any]:
    memory = memory_gib()
    return {
        "date": datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "cpu": cpu_model(),
        "cores": len(os.sched_getaffinity(0)),
        "memory_gib": round(memory, 1) if memory else None,
        "python": platform.python_version(),
        "slack_bolt": version("slack_bolt"),
        "slack_sdk": version("slack_sdk"),
        "aiohttp": version("aiohttp"),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def verdict(measured: float, target: float) -> str:
    if measured <= target:
        return f"met ({measured / target:.0%} of target)"
    return f"NOT met ({measured / target:.1f}× target)"


def summary(level: Level) -> dict[str, Any]:
    def stats(values: Sequence[float], *fractions: float) -> dict[str, float]:
        figures = {f"p{round(f * 100)}": round(percentile(values, f), 2) for f in fractions}
        figures["max"] = round(max(values), 2) if values else math.nan
        return figures

    return {
        "askers": level.askers,
        "mode": level.mode,
        "replicas": level.replicas,
        "questions": level.questions,
        "seconds": round(level.seconds, 3),
        "questions_per_second": round(level.per_second, 1),
        "bot_cpu_ms_per_question": round(level.bot_cpu_ms_per_question, 2),
        "slack_cpu_ms_per_question": None
        if level.slack_cpu_ms_per_question is None
        else round(level.slack_cpu_ms_per_question, 2),
        "ack_ms": stats(level.ack_ms, 0.5, 0.95),
        "message_ack_ms": stats(level.message_ack_ms, 0.5, 0.95),
        "placeholder_ms": stats(level.placeholder_ms, 0.5, 0.95),
        "final_ms": stats(level.final_ms, 0.5, 0.95, 0.99),
        "outcomes": level.outcomes,
        "api_calls": level.api_calls,
        "asked_with_warm_up": level.asked_total,
        "answers": level.answers_total,
        "duplicates": level.duplicates,
        "missing": level.missing,
        "strays": level.strays,
        "raw": {
            "ack_ms": [round(v, 3) for v in level.ack_ms],
            "placeholder_ms": [round(v, 3) for v in level.placeholder_ms],
            "final_ms": [round(v, 3) for v in level.final_ms],
        },
    }


def targets(levels: Sequence[Level]) -> list[tuple[str, str, str]]:
    rows = []
    at_target = next((lv for lv in levels if lv.askers == TARGET_ASKERS), None)
    label = f"final answer p95 ≤ {TARGET_FINAL_P95_MS:.0f} ms at {TARGET_ASKERS} askers"
    if at_target is None or not at_target.final_ms:
        rows.append((label, f"not run (no level of {TARGET_ASKERS} askers)", "–"))
    else:
        p95 = percentile(at_target.final_ms, 0.95)
        rows.append((label, f"{p95:.1f} ms", verdict(p95, TARGET_FINAL_P95_MS)))
    worst = max(levels, key=lambda lv: percentile(lv.ack_ms, 0.95))
    ack95 = percentile(worst.ack_ms, 0.95)
    rows.append(
        (
            f"ack p95 ≤ {TARGET_ACK_MS:.0f} ms (every level)",
            f"{ack95:.1f} ms (worst, at {worst.askers} askers; max "
            f"{max(max(lv.ack_ms) for lv in levels):.1f} ms)",
            verdict(ack95, TARGET_ACK_MS),
        )
    )
    return rows


def print_report(
    levels: Sequence[Level], info: dict[str, Any], setup: dict[str, Any], started: dict[str, Any]
) -> None:
    print(
        f"Ledger Bot in Slack (Socket Mode, through the emulator), {info['date']}, "
        f"{info['cores']} cores {info['cpu']}, "
        f"{info['memory_gib']} GiB, Python {info['python']}, slack_bolt {info['slack_bolt']}, "
        f"slack_sdk {info['slack_sdk']}, aiohttp {info['aiohttp']}, load average "
        f"{started['load_average'][0]:.2f} at the start, {info['load_average'][0]:.2f} at the end"
    )
    print()
    print(
        f"Knowledge base: {setup['kb']} ({setup['documents']:,} documents, "
        f"{setup['chunks']:,} chunks); questions: {setup['pool']} answerable questions of "
        f"{setup['eval']}, cycled; {setup['channels']}; both events of each mention delivered "
        f"(app_mention, then message); {setup['mode']}; "
        f"rate limits off; {setup['warm_up']} warm-up questions per level discarded."
    )
    print()
    print(
        "| askers | questions | wall (s) | questions/s | bot CPU/question | emulator "
        "CPU/question | ack p50 | ack p95 | ack max | placeholder p50 | placeholder p95 | "
        "final p50 | final p95 | final p99 | final max |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for lv in levels:
        slack_cpu = lv.slack_cpu_ms_per_question
        print(
            f"| {lv.askers} | {lv.questions:,} | {lv.seconds:.2f} | {lv.per_second:,.1f} | "
            f"{lv.bot_cpu_ms_per_question:.1f} | "
            f"{'(in the bot’s)' if slack_cpu is None else f'{slack_cpu:.1f}'} | "
            f"{percentile(lv.ack_ms, 0.5):.1f} | {percentile(lv.ack_ms, 0.95):.1f} | "
            f"{max(lv.ack_ms):.1f} | {shown(percentile(lv.placeholder_ms, 0.5))} | "
            f"{shown(percentile(lv.placeholder_ms, 0.95))} | {percentile(lv.final_ms, 0.5):.1f} | "
            f"{percentile(lv.final_ms, 0.95):.1f} | {percentile(lv.final_ms, 0.99):.1f} | "
            f"{max(lv.final_ms):.1f} |"
        )
    print()
    print(
        "Times in ms: placeholder and final answer from just before the app_mention envelope "
        "was delivered, ack from its send to the ack's arrival, all on the emulator's clock. "
        "CPU/question: CPU time over the level / questions, every thread; the bot's process "
        "(in-process: the bot, the emulator and the askers together) and the emulator's "
        "(with the askers)."
    )
    print()
    print("| askers | outcomes | ack of the ignored message event p50 / p95 (ms) | exactly once |")
    print("|---|---|---|---|")
    for lv in levels:
        outcomes = ", ".join(f"{k} {v:,}" for k, v in lv.outcomes.items())
        check = (
            f"yes: {lv.answers_total:,} answers to {lv.asked_total:,} questions"
            if lv.exactly_once
            else f"NO: {lv.answers_total:,} updates for {lv.asked_total:,} questions, "
            f"{len(lv.duplicates)} duplicated, {len(lv.missing)} missing, {lv.strays} stray"
        )
        print(
            f"| {lv.askers} | {outcomes} (with warm-up) | "
            f"{percentile(lv.message_ack_ms, 0.5):.1f} / {percentile(lv.message_ack_ms, 0.95):.1f}"
            f" | {check} |"
        )
    print()
    print("| target | measured | verdict |")
    print("|---|---|---|")
    for row in targets(levels):
        print(f"| {' | '.join(row)} |")


def parse_levels(text: str) -> list[int]:
    try:
        levels = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError("comma-separated whole numbers, e.g. 1,20") from None
    if not levels or min(levels) < 1 or max(levels) > 99:
        raise argparse.ArgumentTypeError("levels from 1 to 99 askers")
    return levels


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--concurrency",
        type=parse_levels,
        default=[1, 20],
        help="concurrent askers per level, comma-separated (default: 1,20)",
    )
    parser.add_argument("--questions", type=int, default=200, help="measured per level")
    parser.add_argument("--warm-up", type=int, default=20, help="discarded per level")
    kb_help = "folder to index as the knowledge base (default: sample-kb/)"
    eval_help = "eval set whose answerable questions are asked (default: sample_eval.jsonl)"
    if TIGERBEETLE_KB.is_dir():
        kb_help += f"; a bigger corpus: --kb {os.path.relpath(TIGERBEETLE_KB)}"
        if TIGERBEETLE_EVAL.exists():
            eval_help += f"; for that corpus: --eval {os.path.relpath(TIGERBEETLE_EVAL)}"
    parser.add_argument("--kb", type=Path, default=SAMPLE_KB, help=kb_help)
    parser.add_argument("--eval", type=Path, default=SAMPLE_EVAL, help=eval_help)
    parser.add_argument(
        "--channel-per-asker",
        action="store_true",
        help="each asker in a channel of its own (default: all in one channel)",
    )
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="run the bot in this process and event loop, with the emulator (default: "
        "`ledger-bot serve` in a child process)",
    )
    parser.add_argument(
        "--replicas",
        type=int,
        default=1,
        help="bot processes, each with its own Socket Mode connection, sharing one SQLite "
        "state store (default: 1); not with --in-process",
    )
    parser.add_argument(
        "--py-spy",
        type=Path,
        metavar="DIR",
        help="record the bot process with py-spy during each measured phase, into "
        "DIR/bot-<askers>.txt (raw collapsed stacks); not with --in-process",
    )
    parser.add_argument("--json", action="store_true", help="print the raw figures as JSON")
    args = parser.parse_args()
    if args.replicas < 1 or args.replicas > 10:
        parser.error("--replicas from 1 to 10 (Slack's limit of Socket Mode connections)")
    if args.in_process and args.replicas != 1:
        parser.error("--replicas runs bot processes: drop --in-process")
    if args.py_spy is not None:
        if args.in_process:
            parser.error("--py-spy records the bot's own process: drop --in-process")
        args.py_spy.mkdir(parents=True, exist_ok=True)
        args.py_spy = args.py_spy.resolve()
    if args.questions < 1 or args.warm_up < 0:
        parser.error("need --questions ≥ 1 and --warm-up ≥ 0")
    if not args.kb.exists():
        parser.error(f"--kb {args.kb} not found")
    args.kb, args.eval = args.kb.resolve(), args.eval.resolve()
    return args


def clean_environment() -> None:
    """slack_sdk follows HTTP(S)_PROXY, and settings read LEDGER_BOT_* and .env: only the
    settings given here may apply."""
    for name in list(os.environ):
        if name in PROXY_VARIABLES or name.startswith(("LEDGER_BOT_", "SLACK_")):
            del os.environ[name]


async def bench(args: argparse.Namespace, work: Path) -> None:
    questions = load_questions(args.eval)
    db = work / "kb.db"
    documents, chunks = build_knowledge_base(args.kb, db)
    started = machine()
    levels = [await run_level(n, args, questions, db, work) for n in args.concurrency]
    info = machine()
    setup = {
        "kb": os.path.relpath(args.kb, REPO),
        "documents": documents,
        "chunks": chunks,
        "eval": os.path.relpath(args.eval, REPO),
        "pool": len(questions),
        "channels": "each asker in its own channel"
        if args.channel_per_asker
        else "all askers in one channel",
        "warm_up": args.warm_up,
        "mode": "bot and emulator in one process and event loop"
        if args.in_process
        else f"the bot in {args.replicas} process{'es' if args.replicas > 1 else ''} of its "
        "own (`ledger-bot serve`), the emulator in the bench's",
    }
    if args.json:
        report = {
            "machine": info,
            "load_average_at_start": started["load_average"],
            "setup": setup,
            "levels": [summary(level) for level in levels],
            "targets": [{"target": t, "measured": m, "verdict": v} for t, m, v in targets(levels)],
        }
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        print_report(levels, info, setup, started)
    if not all(level.exactly_once for level in levels):
        sys.exit("exactly-once check failed: see the table")


def main() -> None:
    args = parse_args()
    clean_environment()
    with tempfile.TemporaryDirectory(prefix="ledger-bot-slack-") as tmp:
        work = Path(tmp)
        os.chdir(work)  # no .env from where the bench was started
        with (work / "bench.log").open("w", encoding="utf-8") as log:
            configure_logging("INFO", "json", stream=log)
            try:
                asyncio.run(bench(args, work))
            finally:
                logging.getLogger().handlers.clear()
                os.chdir(REPO)


if __name__ == "__main__":
    main()
