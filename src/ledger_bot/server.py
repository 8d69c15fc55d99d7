"""``ledger-bot serve``: one asyncio process running the chat adapters, the HTTP server and
the knowledge sync, with a graceful shutdown on SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Protocol, TextIO

import uvicorn
from starlette.routing import BaseRoute

from ledger_bot import __version__
from ledger_bot.answering.llm import LLMAnswerer
from ledger_bot.canary import Canary
from ledger_bot.console import ConsoleAdapter
from ledger_bot.errors import MissingExtra
from ledger_bot.http_api import CheckResult, Readiness, build_http_app
from ledger_bot.secret_files import Secret
from ledger_bot.service import LedgerBotService, open_service
from ledger_bot.settings import Settings
from ledger_bot.sync import KnowledgeSync, SyncResult

log = logging.getLogger(__name__)


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: ``serve`` owns SIGTERM and SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _record_sync(service: LedgerBotService) -> Callable[[SyncResult], None]:
    def on_result(result: SyncResult) -> None:
        metrics = service.metrics
        metrics.knowledge_base_sync_total.labels(outcome="ok" if result.ok else "failed").inc()
        metrics.knowledge_base_last_sync_timestamp_seconds.set(result.at.timestamp())
        # The sync logs its own result (KnowledgeSync); this only counts it.
        service.refresh_knowledge_metrics()

    return on_result


PURGE_INTERVAL = 900.0  # seconds between clean-ups of the shared state


async def purge_state(service: LedgerBotService, now: datetime | None = None) -> None:
    """Remove expired event claims and full rate buckets from the shared state, and the
    questions older than LEDGER_BOT_QUESTION_RETENTION_DAYS (with their feedback)."""
    if service.state is None:
        return
    try:
        removed = await service.state.purge_expired()
    except Exception:
        service.metrics.state_store_errors_total.labels(operation="purge_expired").inc()
        log.exception("purging expired state failed")
    else:
        log.debug("purged %d expired state rows", removed)
    days = service.settings.question_retention_days
    if days <= 0:
        return
    before = (now or datetime.now(UTC)) - timedelta(days=days)
    try:
        questions = await service.state.purge_questions(before)
    except Exception:
        service.metrics.state_store_errors_total.labels(operation="purge_questions").inc()
        log.exception("deleting questions past their retention failed")
    else:
        if questions:
            log.info(
                "deleted %d questions asked before %s (retention %g days)",
                questions,
                before.isoformat(timespec="seconds"),
                days,
            )


async def _purge_now_and_then(service: LedgerBotService) -> None:
    while True:
        await asyncio.sleep(PURGE_INTERVAL)
        await purge_state(service)


class Adapter(Protocol):
    """A chat surface of ``serve`` (the console, Slack): it translates, the service decides."""

    name: str

    async def run(self) -> None:
        """Take questions until cancelled (or, for the console, until its input ends)."""

    async def stop(self) -> None:
        """Stop taking new questions (e.g. close the socket so other replicas get them)."""

    async def drain(self, grace: float) -> int:
        """Wait up to ``grace`` seconds for the work in flight; return how much was left."""

    async def check(self) -> CheckResult:
        """Readiness: whether the surface is connected."""

    def routes(self) -> list[BaseRoute]:
        """HTTP routes the surface serves on the bot's port (the Slack Events API)."""


def build_slack_adapter(settings: Settings, service: LedgerBotService) -> Adapter | None:
    """The Slack adapter when a bot token is configured, else None."""
    if not settings.slack_enabled:
        return None
    try:
        from ledger_bot.slack.adapter import SlackAdapter
    except ImportError as exc:
        raise MissingExtra("Slack", "slack", exc.name or "slack_bolt") from exc
    return SlackAdapter(settings, service)


def build_mcp_adapter(settings: Settings, service: LedgerBotService) -> Adapter | None:
    """MCP over HTTP at /mcp when LEDGER_BOT_MCP_ENABLED, else None."""
    if not settings.mcp_enabled:
        return None
    try:
        from ledger_bot.mcp_http import McpHttpAdapter
    except ImportError as exc:
        raise MissingExtra("LEDGER_BOT_MCP_ENABLED", "mcp", exc.name or "mcp") from exc
    return McpHttpAdapter(settings, service)


class BotProcess:
    """Everything ``serve`` runs, wired together; :meth:`run` returns the exit status."""

    def __init__(
        self,
        settings: Settings,
        *,
        console: bool | None = None,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
        service: LedgerBotService | None = None,
    ) -> None:
        self.settings = settings
        self.service = service
        self.console = console
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self.stop = asyncio.Event()
        self.port: int | None = None  # the bound port, once listening
        self.started = asyncio.Event()
        self.adapters: dict[str, Adapter] = {}  # by name, once built

    async def run(self) -> int:
        settings = self.settings
        state_url = Secret("LEDGER_BOT_STATE_URL", settings.state_url, settings.state_url_file)
        service = self.service or await open_service(
            settings, state_url=state_url.get(), create_kb=True
        )
        service.metrics.set_build_info(__version__)
        service.refresh_knowledge_metrics()
        sync = KnowledgeSync(
            service.knowledge_base,
            settings.sources,
            exclude=[settings.synonyms_file] if settings.synonyms_file else [],
            base_url=settings.source_base_url,
            chunk_chars=settings.chunk_chars,
            max_file_bytes=settings.max_file_bytes,
            interval=settings.sync_interval,
            poll=settings.sync_poll,
            on_result=_record_sync(service),
        )
        readiness = Readiness()
        adapters: list[Adapter] = []
        try:
            slack = build_slack_adapter(settings, service)
            mcp = build_mcp_adapter(settings, service)
        except Exception:
            await service.close()
            raise
        adapters.extend(adapter for adapter in (slack, mcp) if adapter is not None)
        # The console answers by default only when no other surface does.
        if self.console or (self.console is None and slack is None):
            interactive = self.stdin.isatty()
            adapters.append(
                ConsoleAdapter(service, self.stdin, self.stdout, interactive=interactive)
            )
        self.adapters = {adapter.name: adapter for adapter in adapters}
        self._add_checks(readiness, service, sync, adapters)
        canary = None
        if settings.canary_question:
            canary = Canary(settings, service.knowledge_base, service.metrics)
            readiness.add("canary", canary.check)
        routes = [route for adapter in adapters for route in adapter.routes()]
        app = build_http_app(service.metrics, readiness, extra_routes=routes)
        config = uvicorn.Config(
            app,
            host=settings.host,
            port=settings.port,
            log_config=None,
            access_log=False,
            lifespan="off",
        )
        server = _Server(config)
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, self._on_signal, signum)

        tasks: list[asyncio.Task[None]] = []
        try:
            http_task = asyncio.create_task(server.serve(), name="http")
            tasks.append(http_task)
            while not server.started and not http_task.done():
                await asyncio.sleep(0.01)
            if http_task.done():
                http_task.result()  # re-raise why the server could not start
                return 1
            self.port = server.servers[0].sockets[0].getsockname()[1]
            log.info("listening", extra={"host": settings.host, "port": self.port})
            # Questions wait for the first index; /ready says 503 until then.
            if await asyncio.to_thread(sync.needs_initial_sync):
                await sync.sync_now()
            tasks.append(asyncio.create_task(sync.run(), name="sync"))
            tasks.append(asyncio.create_task(_purge_now_and_then(service), name="purge"))
            if canary is not None:
                tasks.append(asyncio.create_task(canary.run(), name="canary"))
            for adapter in adapters:
                adapter_task = asyncio.create_task(adapter.run(), name=adapter.name)
                adapter_task.add_done_callback(self._adapter_ended(adapter, len(adapters)))
                tasks.append(adapter_task)
            self.started.set()
            await self.stop.wait()
            return await self._shutdown(service, server, tasks, adapters)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await service.close()

    def _adapter_ended(self, adapter: Adapter, count: int) -> Callable[[asyncio.Task[None]], None]:
        def ended(task: asyncio.Task[None]) -> None:
            if task.cancelled():
                return
            if (error := task.exception()) is not None:
                log.error("the %s adapter stopped: %s", adapter.name, error, exc_info=error)
                self.stop.set()
            elif count == 1:
                self.stop.set()  # the only surface is done (the console's input ended)
            else:
                log.info("the %s adapter finished; the others go on", adapter.name)

        return ended

    def _on_signal(self, signum: int) -> None:
        log.info("received %s, shutting down", signal.Signals(signum).name)
        self.stop.set()

    async def _shutdown(
        self,
        service: LedgerBotService,
        server: uvicorn.Server,
        tasks: list[asyncio.Task[None]],
        adapters: list[Adapter],
    ) -> int:
        grace = self.settings.shutdown_grace
        deadline = asyncio.get_running_loop().time() + grace
        for adapter in adapters:
            await adapter.stop()
        left = await service.drain(grace)
        for adapter in adapters:
            remaining = max(0.0, deadline - asyncio.get_running_loop().time())
            left += await adapter.drain(remaining)
        if left:
            log.warning("%d questions still running after %.0f s; exiting anyway", left, grace)
        server.should_exit = True
        await asyncio.wait(tasks[:1], timeout=5)
        log.info("stopped")
        return 0

    @staticmethod
    def _add_checks(
        readiness: Readiness,
        service: LedgerBotService,
        sync: KnowledgeSync,
        adapters: list[Adapter],
    ) -> None:
        async def knowledge_base() -> CheckResult:
            if not sync.ready:
                return CheckResult(False, "the first index of LEDGER_BOT_SOURCES is not done")
            stats = await asyncio.to_thread(service.knowledge_base.stats)
            if stats.documents == 0:
                return CheckResult(False, "the knowledge base is empty: set LEDGER_BOT_SOURCES")
            return CheckResult(True, f"{stats.documents} documents, {stats.chunks} chunks")

        async def state_store() -> CheckResult:
            # Degraded, not failing: questions are still answered without the shared state
            # (claims fail open, the log and limits are skipped), and failing readiness on
            # every replica at once would take the bot out of the Service in HTTP mode.
            assert service.state is not None
            try:
                await asyncio.wait_for(service.state.ping(), 1.5)
            except Exception as exc:
                detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                return CheckResult(False, detail, required=False)
            return CheckResult(True)

        async def accepting() -> CheckResult:
            if service.accepting:
                return CheckResult(True)
            return CheckResult(False, "shutting down")

        answerer = service.answerer
        if isinstance(answerer, LLMAnswerer):

            async def language_model() -> CheckResult:
                breaker = answerer.breaker
                if breaker.state == "closed":
                    return CheckResult(True, required=False)
                return CheckResult(
                    False,
                    f"{answerer.provider.name} is failing; answers are extractive, next try in "
                    f"{breaker.retry_in():.0f} s",
                    required=False,
                )

            readiness.add("language_model", language_model)
        readiness.add("knowledge_base", knowledge_base)
        readiness.add("state_store", state_store)
        readiness.add("accepting_questions", accepting)
        for adapter in adapters:
            readiness.add(f"adapter_{adapter.name}", adapter.check)


async def serve(settings: Settings, *, console: bool | None = None) -> int:
    return await BotProcess(settings, console=console).run()
