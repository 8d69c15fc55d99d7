"""``ledger-bot serve``: one asyncio process running the chat adapters, the HTTP server and
the knowledge sync, with a graceful shutdown on SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable, Iterator
from typing import TextIO

import uvicorn

from ledger_bot import __version__
from ledger_bot.console import ConsoleAdapter
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
        if result.ok and result.report is not None:
            report = result.report
            log.info(
                "knowledge base synced",
                extra={
                    "added": len(report.added),
                    "updated": len(report.updated),
                    "removed": len(report.removed),
                    "failed": len(report.failed),
                    "seconds": round(report.seconds, 3),
                },
            )
            for failure in report.failed:
                log.warning("could not index %s: %s", failure.path, failure.reason)
        elif not result.ok:
            log.error("knowledge base sync failed: %s", result.error)
        service.refresh_knowledge_metrics()

    return on_result


class BotProcess:
    """Everything ``serve`` runs, wired together; :meth:`run` returns the exit status."""

    def __init__(
        self,
        settings: Settings,
        *,
        console: bool,
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
            base_url=settings.source_base_url,
            chunk_chars=settings.chunk_chars,
            max_file_bytes=settings.max_file_bytes,
            interval=settings.sync_interval,
            poll=settings.sync_poll,
            on_result=_record_sync(service),
        )
        readiness = Readiness()
        adapters: list[ConsoleAdapter] = []
        if self.console:
            interactive = self.stdin.isatty()
            adapters.append(
                ConsoleAdapter(service, self.stdin, self.stdout, interactive=interactive)
            )
        self._add_checks(readiness, service, sync, adapters)
        app = build_http_app(service.metrics, readiness)
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
            for adapter in adapters:
                adapter_task = asyncio.create_task(adapter.run(), name=adapter.name)
                adapter_task.add_done_callback(lambda _: self.stop.set())
                tasks.append(adapter_task)
            self.started.set()
            await self.stop.wait()
            return await self._shutdown(service, server, tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await service.close()

    def _on_signal(self, signum: int) -> None:
        log.info("received %s, shutting down", signal.Signals(signum).name)
        self.stop.set()

    async def _shutdown(
        self,
        service: LedgerBotService,
        server: uvicorn.Server,
        tasks: list[asyncio.Task[None]],
    ) -> int:
        grace = self.settings.shutdown_grace
        left = await service.drain(grace)
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
        adapters: list[ConsoleAdapter],
    ) -> None:
        async def knowledge_base() -> CheckResult:
            if not sync.ready:
                return CheckResult(False, "the first index of LEDGER_BOT_SOURCES is not done")
            stats = await asyncio.to_thread(service.knowledge_base.stats)
            if stats.documents == 0:
                return CheckResult(False, "the knowledge base is empty: set LEDGER_BOT_SOURCES")
            return CheckResult(True, f"{stats.documents} documents, {stats.chunks} chunks")

        async def state_store() -> CheckResult:
            assert service.state is not None
            await service.state.ping()
            return CheckResult(True)

        async def accepting() -> CheckResult:
            if service.accepting:
                return CheckResult(True)
            return CheckResult(False, "shutting down")

        readiness.add("knowledge_base", knowledge_base)
        readiness.add("state_store", state_store)
        readiness.add("accepting_questions", accepting)
        for adapter in adapters:

            async def connected(adapter: ConsoleAdapter = adapter) -> CheckResult:
                return CheckResult(adapter.connected, "" if adapter.connected else "not connected")

            readiness.add(f"adapter_{adapter.name}", connected)


async def serve(settings: Settings, *, console: bool = True) -> int:
    return await BotProcess(settings, console=console).run()
