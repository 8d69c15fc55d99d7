"""The ``ledger-bot`` command line: a thin adapter over the service.

Every command exits 0 on success and, on failure, prints one line saying what went wrong and
what to do, and exits non-zero (1 for a failure, 2 for a usage mistake).
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeGuard, TypeVar

import click

from ledger_bot import __version__
from ledger_bot.documents import Answer
from ledger_bot.errors import LedgerBotError
from ledger_bot.evaluation import load_items, render_report, run_eval
from ledger_bot.indexer import IndexReport, index_paths
from ledger_bot.knowledge_base import SqliteKnowledgeBase
from ledger_bot.rendering import render_answer_text
from ledger_bot.service import build_service, open_knowledge_base
from ledger_bot.settings import Settings, load_settings, render_settings_markdown, settings_table

if TYPE_CHECKING:
    from ledger_bot.state import FeedbackRecord, QuestionRecord

F = TypeVar("F", bound=Callable[..., Any])

db_option = click.option(
    "--db",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Knowledge-base file [default: $LEDGER_BOT_DB, else .ledger-bot/knowledge.db].",
)


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def reports_errors(command: F) -> F:
    """Turn Ledger Bot's own errors into a one-line message and exit status 1."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except LedgerBotError as exc:
            _fail(str(exc))
        except KeyboardInterrupt:
            _fail("interrupted")

    return wrapper  # type: ignore[return-value]


def _settings(**overrides: Any) -> Settings:
    return load_settings(**overrides)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ledger-bot")
def main() -> None:
    """Ledger Bot answers your team's questions from its own knowledge base, with citations."""


# -- index ---------------------------------------------------------------------------------


def _print_report(report: IndexReport) -> None:
    click.echo(
        f"indexed in {report.seconds:.2f}s: {len(report.added)} added, "
        f"{len(report.updated)} updated, {len(report.unchanged)} unchanged, "
        f"{len(report.removed)} removed, {len(report.failed)} failed "
        f"({report.chunks_written} chunks written)"
    )
    for failure in report.failed:
        click.echo(f"  failed: {failure.path}: {failure.reason}")
    for warning in report.warnings[:50]:
        click.echo(f"  warning: {warning}")
    if len(report.warnings) > 50:
        click.echo(f"  … and {len(report.warnings) - 50} more warnings")


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@reports_errors
def index(paths: tuple[Path, ...], db: Path | None, as_json: bool) -> None:
    """Index folders and files (Markdown, text, reStructuredText, HTML, PDF, JSON Lines).

    Re-running is incremental: unchanged files are skipped, changed ones replaced and deleted
    ones removed. A file that fails keeps its previous version; the run still succeeds.
    """
    settings = _settings(db=db)
    kb = SqliteKnowledgeBase.open(settings.db, create=True)
    show_bar = sys.stderr.isatty() and not as_json
    with click.progressbar(length=0, label="indexing", file=sys.stderr, hidden=not show_bar) as bar:

        def progress(_: object) -> None:
            bar.update(1)

        report = index_paths(
            kb,
            list(paths),
            exclude=[settings.synonyms_file] if settings.synonyms_file else [],
            base_url=settings.source_base_url,
            chunk_chars=settings.chunk_chars,
            max_file_bytes=settings.max_file_bytes,
            progress=progress if show_bar else None,
        )
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False))
    else:
        _print_report(report)


# -- search --------------------------------------------------------------------------------


def _read_batch(path: Path) -> Iterator[tuple[str, str]]:
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise click.BadParameter(
            f"cannot read {path}: {exc.strerror}", param_hint="'--batch'"
        ) from None
    with handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                record = json.loads(raw)
            except (ValueError, RecursionError):  # RecursionError: nested too deeply
                record = None
            if not _is_query(record):
                click.echo(
                    f"warning: {path}:{number}: not a query object with _id and text; skipped",
                    err=True,
                )
                continue
            yield str(record["_id"]), record["text"]


def _is_query(record: object) -> TypeGuard[dict[str, Any]]:
    """A BEIR query: ``_id`` a string or an integer, ``text`` a string."""
    if not isinstance(record, dict):
        return False
    query_id = record.get("_id")
    id_ok = isinstance(query_id, str) or type(query_id) is int  # True is an int, not an id
    return id_ok and isinstance(record.get("text"), str)


@main.command()
@click.argument("query", required=False)
@click.option(
    "--batch",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Run every query of a BEIR queries file (JSON Lines with _id and text).",
)
@db_option
@click.option("--limit", type=click.IntRange(1, 1000), default=None, help="Hits per query.")
@click.option("--source-prefix", default=None, help="Only search sources under this prefix.")
@click.option("--json", "as_json", is_flag=True, help="Print hits as JSON.")
@reports_errors
def search(
    query: str | None,
    batch: Path | None,
    db: Path | None,
    limit: int | None,
    source_prefix: str | None,
    as_json: bool,
) -> None:
    """Search the knowledge base and show the best matching passages."""
    if (query is None) == (batch is None):
        raise click.UsageError("give either a QUERY or --batch QUERIES.jsonl")
    settings = _settings(db=db)
    if batch is not None:
        kb = open_knowledge_base(settings)
        size = limit or 100
        for query_id, text in _read_batch(batch):
            hits = kb.search_documents(text, size, source_prefix)
            line = {
                "id": query_id,
                "hits": [{"source": h.source, "score": round(h.score, 4)} for h in hits],
            }
            click.echo(json.dumps(line, ensure_ascii=False))
        return
    assert query is not None
    service = build_service(settings)
    hits = asyncio.run(service.search(query, limit, source_prefix))
    if as_json:
        fields = ("source", "title", "heading", "text", "score")
        click.echo(
            json.dumps(
                [{k: h.to_dict()[k] for k in fields} for h in hits], ensure_ascii=False, indent=2
            )
        )
        return
    if not hits:
        click.echo("no matches")
    for rank, hit in enumerate(hits, start=1):
        location = f"{hit.title} › {hit.heading}" if hit.heading else hit.title
        click.echo(f"{rank}. {location}  ({hit.source}, score {hit.score:.2f})")
        snippet = " ".join(hit.text.split())
        click.echo(f"   {snippet[:240]}{'…' if len(snippet) > 240 else ''}")


# -- ask -----------------------------------------------------------------------------------


@main.command()
@click.argument("question")
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
@reports_errors
def ask(question: str, db: Path | None, as_json: bool) -> None:
    """Answer QUESTION from the knowledge base, citing the documents it quotes."""
    service = build_service(_settings(db=db))
    result = asyncio.run(service.ask(question))
    if as_json:
        click.echo(json.dumps(result.answer.to_dict(), ensure_ascii=False, indent=2))
    else:
        language = service.settings.default_language
        click.echo(render_answer_text(result.answer, result.notes, language=language))


# -- config --------------------------------------------------------------------------------


@main.command()
@click.option("--markdown", is_flag=True, help="Print the configuration reference as Markdown.")
@reports_errors
def config(markdown: bool) -> None:
    """Show the effective settings (secrets hidden), or the reference with --markdown."""
    if markdown:
        click.echo(render_settings_markdown(), nl=False)
        return
    settings = _settings()
    values = settings.model_dump()
    for row in settings_table():
        value = values[row.name.removeprefix("LEDGER_BOT_").lower()]
        if row.secret and value:
            value = "********"
        elif isinstance(value, tuple):
            value = ",".join(str(v) for v in value)
        click.echo(f"{row.name}={'' if value is None else value}")


# -- eval ----------------------------------------------------------------------------------


@main.command(name="eval")
@click.argument("question_set", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@db_option
@click.option("--show-items", is_flag=True, help="Print one line per question as well.")
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
@reports_errors
def evaluate(question_set: Path, db: Path | None, show_items: bool, as_json: bool) -> None:
    """Measure answer quality on a question set (JSON Lines; see docs/evaluation.md)."""
    items, warnings = load_items(question_set)
    for warning in warnings:
        click.echo(f"warning: {question_set}: {warning}", err=True)
    if not items:
        _fail(f"{question_set} holds no valid question")
    service = build_service(_settings(db=db))

    async def ask_turns(turns: Sequence[str]) -> Answer:
        return (await service.ask(turns[-1], history=tuple(turns[:-1]))).answer

    report = asyncio.run(run_eval(items, ask_turns))
    # What the figures were measured with, so a run before and one after a change of the
    # synonyms file can be told apart.
    synonyms_file = service.knowledge_base.synonyms_file
    synonyms = None
    if synonyms_file is not None:
        synonyms = {"file": str(synonyms_file.path), "groups": len(synonyms_file.current())}
    if as_json:
        summary = {
            "counts": report.counts(),
            "metrics": report.metrics(),
            "modes": report.modes(),
            "synonyms": synonyms,
        }
        click.echo(json.dumps(summary))
    else:
        if synonyms is not None:
            click.echo(f"synonyms: {synonyms['file']} ({synonyms['groups']} groups)")
        click.echo(render_report(report, show_items=show_items))


# -- serve ---------------------------------------------------------------------------------


@main.command()
@db_option
@click.option(
    "--port", type=click.IntRange(0, 65535), default=None, help="HTTP port [$LEDGER_BOT_PORT]."
)
@click.option(
    "--console/--no-console",
    default=None,
    help="Chat in this terminal (or answer questions piped to standard input). "
    "Default: on unless Slack is configured.",
)
@reports_errors
def serve(db: Path | None, port: int | None, console: bool | None) -> None:
    """Run the bot: chat adapters, /health, /ready and /metrics, and the knowledge sync.

    With a Slack bot token set (SLACK_BOT_TOKEN) the bot answers in Slack, over Socket Mode or
    at /slack/events. Without one the console adapter answers here: a chat on a terminal, or
    one JSON answer per line of standard input when it is piped. SIGTERM stops taking questions,
    lets those in flight finish within LEDGER_BOT_SHUTDOWN_GRACE seconds, and exits 0.
    """
    from ledger_bot.logs import configure_logging
    from ledger_bot.server import serve as run_server

    settings = _settings(db=db, port=port)
    configure_logging(settings.log_level, settings.log_format, stream=sys.stderr)
    sys.exit(asyncio.run(run_server(settings, console=console)))


# -- mcp -----------------------------------------------------------------------------------


@main.command("mcp")
@db_option
@reports_errors
def mcp_stdio(db: Path | None) -> None:
    """Serve the knowledge base to an AI assistant over MCP on standard input and output.

    For Claude Desktop, Claude Code, Cursor or VS Code on this machine (see
    docs/mcp/TEAM_INSTALL_GUIDE.md). Tools: search_knowledge, ask, get_document, list_sources;
    documents as kb://docs/{source} resources. Logs go to standard error; questions go through
    the same limits and question log as Slack's.
    """
    from ledger_bot.logs import configure_logging

    try:
        from ledger_bot.mcp_server import build_mcp_server
    except ImportError as exc:
        from ledger_bot.errors import MissingExtra

        raise MissingExtra("ledger-bot mcp", "mcp", exc.name or "mcp") from exc
    from ledger_bot.secret_files import Secret
    from ledger_bot.service import open_service

    settings = _settings(db=db)
    configure_logging(settings.log_level, "json", stream=sys.stderr)
    state_url = Secret("LEDGER_BOT_STATE_URL", settings.state_url, settings.state_url_file).get()

    async def run() -> None:
        service = await open_service(settings, state_url=state_url)
        try:
            await build_mcp_server(service).run_stdio_async()
        finally:
            await service.close()

    asyncio.run(run())


# -- stats ---------------------------------------------------------------------------------


@main.command()
@db_option
@click.option("--since", default="7d", show_default=True, help="Window: 7d, 24h, 30m or a date.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@reports_errors
def stats(db: Path | None, since: str, as_json: bool) -> None:
    """Success metrics from the question log: volume, answered rate, feedback, latency, gaps."""
    from ledger_bot.secret_files import Secret
    from ledger_bot.service import state_sqlite_path
    from ledger_bot.state import build_state_store
    from ledger_bot.stats import compute_stats, parse_since, render_stats

    settings = _settings(db=db)
    try:
        start = parse_since(since)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
    url = Secret("LEDGER_BOT_STATE_URL", settings.state_url, settings.state_url_file).get()

    async def collect() -> tuple[list[QuestionRecord], list[FeedbackRecord]]:
        store = build_state_store(url, state_sqlite_path(settings))
        await store.open()
        try:
            return await store.questions_since(start), await store.feedback_since(start)
        finally:
            await store.close()

    questions, feedback = asyncio.run(collect())
    try:  # the words no document holds need the index; the rest of the figures do not
        unknown = open_knowledge_base(settings).unknown_terms
    except LedgerBotError as exc:
        click.echo(f"warning: words that no document holds are not listed: {exc}", err=True)
        unknown = None
    figures = compute_stats(questions, feedback, start, unknown)
    if as_json:
        click.echo(json.dumps(figures.to_dict(), ensure_ascii=False, indent=2))
    else:
        click.echo(render_stats(figures))
