"""Choosing the parser for a file by the suffix of its name."""

from __future__ import annotations

from pathlib import PurePosixPath

from ledger_bot.errors import DocumentError
from ledger_bot.ingest.html import parse_html
from ledger_bot.ingest.jsonl import parse_json_lines
from ledger_bot.ingest.markdown import parse_markdown
from ledger_bot.ingest.parsed import ParsedFile, Parser
from ledger_bot.ingest.pdf import parse_pdf
from ledger_bot.ingest.plain import parse_plain_text
from ledger_bot.ingest.rst import parse_rst

_PARSERS: dict[str, Parser] = {
    ".md": parse_markdown,
    ".markdown": parse_markdown,
    ".txt": parse_plain_text,
    ".text": parse_plain_text,
    ".rst": parse_rst,
    ".html": parse_html,
    ".htm": parse_html,
    ".pdf": parse_pdf,
    ".jsonl": parse_json_lines,
}

SUPPORTED_SUFFIXES: frozenset[str] = frozenset(_PARSERS)


def parse_file(data: bytes, relpath: str, *, base_url: str | None = None) -> ParsedFile:
    """Parse the bytes of the file at ``relpath`` (POSIX, relative to the indexed root).

    ``relpath`` becomes each document's ``source``, except in JSON Lines, where every record's
    ``_id`` does. Raises ``DocumentError`` with a short reason when the file cannot be parsed,
    and ``MissingExtra`` when the format needs an optional package that is not installed.
    """
    suffix = PurePosixPath(relpath).suffix.lower()
    parser = _PARSERS.get(suffix)
    if parser is None:
        raise DocumentError(f"unsupported file type {suffix or '(no suffix)'}")
    return parser(data, relpath, base_url=base_url)
