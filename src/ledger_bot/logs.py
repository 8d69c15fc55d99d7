"""Structured logs: one JSON object per line in production, one readable line on a terminal.

:func:`configure_logging` puts one handler on the root logger, so the lines of every library
come out the same way. Two filters on that handler see every record first:

- the request id of the question being answered (:func:`request_context`, carried in a
  :class:`~contextvars.ContextVar`, so it follows ``await`` and ``asyncio.to_thread``) is
  stamped on each record;
- :func:`~ledger_bot.redaction.redact` runs over the message, the string values of
  ``extra={...}`` and any traceback, so no token or password reaches the log. Numbers and
  booleans cannot hold a secret and are left alone. The short values of the extras that name
  things (:data:`ID_FIELDS`: Slack ids, surfaces, outcomes) recur on every line, so the
  redaction of each is kept and reused: the same text, redacted the same way, once.
"""

from __future__ import annotations

import functools
import json
import logging
import secrets
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TextIO

from ledger_bot.errors import ConfigError
from ledger_bot.redaction import redact

__all__ = [
    "ConsoleFormatter",
    "JsonFormatter",
    "RedactionFilter",
    "RequestIdFilter",
    "configure_logging",
    "current_request_id",
    "request_context",
]

FORMATS = ("json", "console", "auto")
_HANDLER_NAME = "ledger_bot"

_request_id: ContextVar[str | None] = ContextVar("ledger_bot_request_id", default=None)

# Attributes every LogRecord has; any other attribute came from ``extra={...}``.
_BLANK_RECORD = logging.LogRecord("", logging.INFO, "", 0, "", (), None)
_RECORD_ATTRIBUTES = frozenset(vars(_BLANK_RECORD)) | {
    "message",
    "asctime",
    "request_id",
    "taskName",
}


# Extras that hold identifiers and labels, not prose; a value of one, up to
# MAX_CACHED_ID_CHARS long, is redacted through a cache of ID_CACHE_SIZE values.
ID_FIELDS = frozenset(
    {"surface", "outcome", "mode", "user", "channel", "team", "bot_user", "kind", "method"}
)
MAX_CACHED_ID_CHARS = 64
ID_CACHE_SIZE = 4096
_redact_id = functools.lru_cache(maxsize=ID_CACHE_SIZE)(redact)


def current_request_id() -> str | None:
    """The id of the request (question) being handled in this context, if any."""
    return _request_id.get()


@contextmanager
def request_context(request_id: str | None = None) -> Iterator[str]:
    """Tag every log line in this block with ``request_id`` (a new 12-hex-digit id if None).

    The id is visible to code awaited from the block, tasks created in it and functions run
    with ``asyncio.to_thread``; it is restored to the outer id when the block ends.
    """
    value = request_id or secrets.token_hex(6)
    token = _request_id.set(value)
    try:
        yield value
    finally:
        _request_id.reset(token)


class RequestIdFilter(logging.Filter):
    """Stamps each record with the current request id (``None`` outside any request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = _request_id.get()
        return True


_TRACEBACKS = logging.Formatter()


class RedactionFilter(logging.Filter):
    """Redacts secrets from the message, the extras and the traceback of each record.

    The message is formatted here (``msg % args``) so that a secret passed as an argument is
    caught too; the record then carries the redacted text and no arguments.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the line, nor leak its args
            message = f"{record.msg} (log arguments did not match: {record.args!r})"
        record.msg, record.args = redact(message), ()
        for key, value in list(vars(record).items()):
            if key in _RECORD_ATTRIBUTES:
                continue
            if key in ID_FIELDS and isinstance(value, str) and len(value) <= MAX_CACHED_ID_CHARS:
                setattr(record, key, _redact_id(value))
            else:
                setattr(record, key, _redact_value(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = _TRACEBACKS.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def _redact_value(value: object) -> object:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {str(key): _redact_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_redact_value(item) for item in value]
    return redact(str(value))


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _extras(record: logging.LogRecord) -> dict[str, object]:
    return {key: value for key, value in vars(record).items() if key not in _RECORD_ATTRIBUTES}


def _exception_text(record: logging.LogRecord, formatter: logging.Formatter) -> str | None:
    if record.exc_info and not record.exc_text:
        record.exc_text = redact(formatter.formatException(record.exc_info))
    return record.exc_text or None


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, request_id, extras, exception."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, object] = {
            "ts": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id is not None:
            payload["request_id"] = request_id
        for key, value in _extras(record).items():
            payload[f"extra_{key}" if key in payload else key] = value
        exception = _exception_text(record, self)
        if exception:
            payload["exception"] = exception
        if record.stack_info:
            payload["stack"] = record.stack_info
        return json.dumps(payload, ensure_ascii=False, default=str)


class ConsoleFormatter(logging.Formatter):
    """One readable line: time, level, logger, message, then ``key=value`` extras."""

    def format(self, record: logging.LogRecord) -> str:
        line = f"{_timestamp(record)} {record.levelname:<7} {record.name}: {record.getMessage()}"
        fields: dict[str, object] = {}
        request_id = getattr(record, "request_id", None)
        if request_id is not None:
            fields["request_id"] = request_id
        fields.update(_extras(record))
        if fields:
            line += "  " + " ".join(f"{key}={_console_value(v)}" for key, v in fields.items())
        exception = _exception_text(record, self)
        if exception:
            line += "\n" + exception
        if record.stack_info:
            line += "\n" + record.stack_info
        return line


def _console_value(value: object) -> str:
    if isinstance(value, str):
        plain = value and not any(char.isspace() or char in "\"'=" for char in value)
        return value if plain else json.dumps(value, ensure_ascii=False)
    return json.dumps(value, ensure_ascii=False, default=str)


def configure_logging(
    level: str, fmt: str = "auto", stream: TextIO | None = None
) -> logging.Handler:
    """Send every log record at ``level`` or above to ``stream`` (standard error by default).

    ``fmt`` is ``json``, ``console``, or ``auto``: console when the stream is a terminal, JSON
    otherwise. Calling it again replaces the handler it installed before; handlers installed
    by others are left alone. Returns the handler.
    """
    numeric = logging.getLevelNamesMapping().get(level.upper())
    if numeric is None:
        raise ConfigError(f"unknown log level {level!r}: use DEBUG, INFO, WARNING or ERROR")
    if fmt not in FORMATS:
        raise ConfigError(f"unknown log format {fmt!r}: use json, console or auto")
    target = stream if stream is not None else sys.stderr
    if fmt == "auto":
        fmt = "console" if _is_terminal(target) else "json"
    handler = logging.StreamHandler(target)
    handler.set_name(_HANDLER_NAME)
    handler.addFilter(RequestIdFilter())
    handler.addFilter(RedactionFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else ConsoleFormatter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(numeric)
    return handler


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or already closed
        return False
