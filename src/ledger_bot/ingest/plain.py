"""Plain text files: one document, one section."""

from __future__ import annotations

from ledger_bot.documents import Document, Section
from ledger_bot.ingest.decoding import decode_text
from ledger_bot.ingest.parsed import ParsedFile
from ledger_bot.ingest.sources import title_from_path, url_for

_MAX_TITLE_CHARS = 100


def parse_plain_text(data: bytes, relpath: str, *, base_url: str | None = None) -> ParsedFile:
    """The title is the first non-empty line when it is short, else made from the file name."""
    lines = [line.rstrip() for line in decode_text(data).split("\n")]
    text = "\n".join(lines).strip("\n")
    first_line = next((line.strip() for line in lines if line.strip()), "")
    title = first_line if 0 < len(first_line) < _MAX_TITLE_CHARS else title_from_path(relpath)
    sections = (Section((), text),) if text else ()
    document = Document(
        source=relpath, title=title, sections=sections, url=url_for(relpath, base_url)
    )
    return ParsedFile((document,))
