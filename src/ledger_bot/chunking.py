"""Cutting a parsed document into retrievable chunks.

A chunk never spans two sections, so every chunk keeps the heading path it sits under. A
section longer than the chunk size is cut at paragraph boundaries, then at sentence ends, and
a fenced code block is only cut when it alone is longer than a chunk.
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


def split_text(text: str, limit: int) -> list[str]:
    """Pieces of ``text`` no longer than ``limit`` characters, cut at natural boundaries."""
    pieces: list[str] = []
    current = ""
    for block in _blocks(text):
        if len(block) > limit:
            if current:
                pieces.append(current)
                current = ""
            pieces.extend(_split_long(block, limit))
            continue
        candidate = f"{current}\n\n{block}" if current else block
        if len(candidate) > limit and current:
            pieces.append(current)
            current = block
        else:
            current = candidate
    if current:
        pieces.append(current)
    return pieces


def chunk_document(document: Document, limit: int) -> list[Chunk]:
    """The chunks of ``document`` in reading order, each at most ``limit`` characters long."""
    chunks: list[Chunk] = []
    for section in document.sections:
        heading = HEADING_SEPARATOR.join(section.heading_path)
        for piece in split_text(section.text, limit):
            chunks.append(Chunk(document.source, len(chunks), heading, piece))
    return chunks
