"""JSON Lines corpora in the BEIR layout: one document per line, ``{"_id", "title", "text"}``."""

from __future__ import annotations

import json

from ledger_bot.documents import Document, Section
from ledger_bot.ingest.decoding import decode_text, is_unicode
from ledger_bot.ingest.parsed import ParsedFile

_MAX_WARNINGS = 50


def parse_json_lines(data: bytes, relpath: str, *, base_url: str | None = None) -> ParsedFile:
    """Each record needs ``_id`` (string or integer, used as the source) and ``text``.

    ``title`` and ``url`` are optional; without a title the ``_id`` is the title, and
    ``base_url`` is not used because a record is not a file. A malformed record is skipped with a
    warning naming its line; the other records are still returned.
    """
    documents: list[Document] = []
    problems: list[str] = []
    first_line_of: dict[str, int] = {}
    for number, line in enumerate(decode_text(data).split("\n"), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"line {number}: not valid JSON ({exc.msg}) – skipped")
            continue
        except RecursionError:
            problems.append(f"line {number}: JSON nested too deeply – skipped")
            continue
        if not isinstance(record, dict):
            problems.append(f"line {number}: not a JSON object – skipped")
            continue
        source = record.get("_id")
        if isinstance(source, int) and not isinstance(source, bool):
            source = str(source)
        if not isinstance(source, str) or not source.strip():
            problems.append(f"line {number}: no _id (a string or an integer) – skipped")
            continue
        text = record.get("text")
        if not isinstance(text, str):
            problems.append(f"line {number}: no text (a string) – skipped")
            continue
        title, url = record.get("title"), record.get("url")
        if not all(is_unicode(v) for v in (source, text, title, url) if isinstance(v, str)):
            problems.append(f"line {number}: a lone surrogate escape such as \\ud800 – skipped")
            continue
        if source in first_line_of:
            first = first_line_of[source]
            problems.append(
                f"line {number}: duplicate _id {source!r} (first on line {first}) – skipped"
            )
            continue
        first_line_of[source] = number
        documents.append(
            Document(
                source=source,
                title=title.strip() if isinstance(title, str) and title.strip() else source,
                sections=(Section((), text.strip()),),
                url=url.strip() if isinstance(url, str) and url.strip() else None,
            )
        )
    return ParsedFile(tuple(documents), _summarise(problems))


def _summarise(problems: list[str]) -> tuple[str, ...]:
    if len(problems) <= _MAX_WARNINGS:
        return tuple(problems)
    more = len(problems) - _MAX_WARNINGS
    return (*problems[:_MAX_WARNINGS], f"… and {more} more malformed lines skipped")
