"""Cutting a parsed document into retrievable chunks.

A chunk never spans two sections, so every chunk keeps the heading path it sits under. A
section longer than the chunk size is cut at paragraph boundaries, then at sentence ends; a
fenced code block is only cut when it alone is longer than a chunk, and then at line ends; a
long table is cut between rows, each piece under the table's header row. A paragraph that
ends with a colon stays with the long block it introduces ("The values are:" and its table).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ledger_bot.documents import Chunk, Document

HEADING_SEPARATOR = " › "
# Where one sentence ends and the next begins, and the opening or closing line of a code fence;
# the answerer splits passages into quotable units with the same two patterns.
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9`\"'(\[*])")
FENCE = re.compile(r"^\s*(```|~~~)")
# The rule under a Markdown table's header row: |---|:--:|
TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}")


def _blocks(text: str) -> list[str]:
    """Paragraphs of ``text``; a fenced code block stays one block with its blank lines."""
    blocks: list[str] = []
    current: list[str] = []
    fence: str | None = None
    for line in text.split("\n"):
        marker = FENCE.match(line)
        if fence is not None:
            current.append(line)
            if marker and marker.group(1) == fence:
                fence = None
            continue
        if marker:
            fence = marker.group(1)
            current.append(line)
            continue
        if line.strip():
            current.append(line)
        elif current:
            blocks.append("\n".join(current))
            current = []
    if current:
        blocks.append("\n".join(current))
    return blocks


def _split_long(block: str, limit: int) -> Iterator[str]:
    """Pieces of one over-long block: at sentence ends, else at line ends, else hard cuts."""
    pieces = SENTENCE_END.split(block) if not FENCE.match(block) else block.split("\n")
    joiner = "\n" if FENCE.match(block) else " "
    current = ""
    for piece in pieces:
        while len(piece) > limit:
            if current:
                yield current
                current = ""
            cut = piece.rfind(" ", 0, limit)
            cut = cut if cut > limit // 2 else limit
            yield piece[:cut]
            piece = piece[cut:].lstrip()
        candidate = f"{current}{joiner}{piece}" if current else piece
        if len(candidate) > limit and current:
            yield current
            current = piece
        else:
            current = candidate
    if current:
        yield current


def _is_table(block: str) -> bool:
    lines = block.split("\n")
    return len(lines) > 1 and all(line.lstrip().startswith("|") for line in lines)


def _split_table(table: str, limit: int) -> Iterator[str]:
    """Pieces of an over-long table, cut between rows; each piece starts with the header row
    and its rule when the table has them (and they take at most half a piece)."""
    rows = table.split("\n")
    has_header = TABLE_RULE.match(rows[1]) is not None
    header = "\n".join(rows[:2]) if has_header and len("\n".join(rows[:2])) <= limit // 2 else ""
    body = rows[2:] if header else rows
    current = header
    for row in body:
        if len(row) + len(header) + 1 > limit:  # one row alone too long: cut like prose
            if current != header:
                yield current
            current = header
            yield from _split_long(row, limit)
            continue
        candidate = f"{current}\n{row}" if current else row
        if len(candidate) > limit:
            yield current
            candidate = f"{header}\n{row}" if header else row
        current = candidate
    if current and current != header:
        yield current


def split_text(text: str, limit: int) -> list[str]:
    """Pieces of ``text`` no longer than ``limit`` characters, cut at natural boundaries."""
    pieces: list[str] = []
    current: list[str] = []  # the blocks of the piece being filled

    def flush(blocks: list[str]) -> None:
        if blocks:
            pieces.append("\n\n".join(blocks))

    for block in _blocks(text):
        if _is_table(block):  # the padding that aligns a table's columns is not text
            block = "\n".join(" ".join(row.split()) for row in block.split("\n"))
        size = sum(len(b) + 2 for b in current) + len(block)
        if size <= limit:
            current.append(block)
            continue
        # A short lead-in ("The full values are:") goes with what it introduces.
        lead_in = ""
        if current and current[-1].rstrip().endswith(":") and len(current[-1]) <= limit // 3:
            lead_in = current.pop()
        flush(current)
        current = []
        if len(block) + (len(lead_in) + 2 if lead_in else 0) <= limit:
            current = [lead_in, block] if lead_in else [block]
            continue
        if len(block) <= limit:  # fits, but not with its lead-in
            flush([lead_in] if lead_in else [])
            current = [block]
            continue
        room = limit - len(lead_in) - 2 if lead_in else limit
        split = _split_table if _is_table(block) else _split_long
        parts = list(split(block, room))
        if lead_in and parts:
            parts[0] = f"{lead_in}\n\n{parts[0]}"
        pieces.extend(parts)
    flush(current)
    return pieces


def chunk_document(document: Document, limit: int) -> list[Chunk]:
    """The chunks of ``document`` in reading order, each at most ``limit`` characters long."""
    chunks: list[Chunk] = []
    for section in document.sections:
        heading = HEADING_SEPARATOR.join(section.heading_path)
        for piece in split_text(section.text, limit):
            chunks.append(Chunk(document.source, len(chunks), heading, piece))
    return chunks
