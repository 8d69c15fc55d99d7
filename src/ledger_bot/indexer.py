"""Incremental indexing: bring the knowledge base in step with folders and files on disk.

Unchanged files are skipped by content hash, changed ones replaced, and files that vanished
from an indexed folder removed. The hash covers how a file is turned into chunks as well as
its bytes (the index format, the chunk size, the base URL), so a change of either re-reads
it. The whole run is one transaction: a crash, a full disk or an interrupt leaves the previous
index as it was. A file that cannot be read or parsed is reported and keeps its previously
indexed version.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ledger_bot.chunking import chunk_document
from ledger_bot.documents import Document
from ledger_bot.errors import DocumentError, LedgerBotError
from ledger_bot.ingest import FoundFile, discover, parse_file
from ledger_bot.ingest.decoding import is_unicode
from ledger_bot.ingest.discover import absolute
from ledger_bot.knowledge_base import KnowledgeBaseWriter, SqliteKnowledgeBase


@dataclass(frozen=True, slots=True)
class Failure:
    path: str
    reason: str


@dataclass(slots=True)
class IndexReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    chunks_written: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, object]:
        return {
            "added": len(self.added),
            "updated": len(self.updated),
            "unchanged": len(self.unchanged),
            "removed": len(self.removed),
            "failed": [{"path": f.path, "reason": f.reason} for f in self.failed],
            "warnings": self.warnings,
            "chunks_written": self.chunks_written,
            "seconds": round(self.seconds, 3),
        }


Progress = Callable[[FoundFile], None]

# How a file becomes documents, chunks and index terms. Bump it when parsing, chunking or term
# analysis changes: the next indexing run then reads every file again, rather than keeping
# chunks cut the old way beside new ones.
INDEX_FORMAT = 2


def fingerprint(data: bytes, *, chunk_chars: int, base_url: str | None) -> str:
    """What decides a file's chunks: its bytes and the way they are turned into chunks."""
    recipe = f"format={INDEX_FORMAT}\nchunk_chars={chunk_chars}\nbase_url={base_url or ''}\n"
    return hashlib.sha256(recipe.encode() + b"\0" + data).hexdigest()


def _read(found: FoundFile, max_bytes: int) -> bytes:
    try:
        size = found.path.stat().st_size
        if size > max_bytes:
            raise DocumentError(f"larger than {max_bytes:,} bytes (LEDGER_BOT_MAX_FILE_BYTES)")
        return found.path.read_bytes()
    except OSError as exc:
        raise DocumentError(f"cannot read: {exc.strerror or exc}") from None


def _with_hash(document: Document, content_hash: str) -> Document:
    return Document(
        source=document.source,
        title=document.title,
        sections=document.sections,
        url=document.url,
        content_hash=content_hash,
    )


def _check_storable(document: Document) -> None:
    texts = [document.source, document.title, document.url or ""]
    for section in document.sections:
        texts.extend((*section.heading_path, section.text))
    if not all(is_unicode(text) for text in texts):
        raise DocumentError(
            f"{document.source!r} holds a lone surrogate (such as \\ud800), which is not a "
            "character: fix the text and index it again"
        )


def _index_file(
    writer: KnowledgeBaseWriter,
    found: FoundFile,
    data: bytes,
    content_hash: str,
    *,
    root: str,
    base_url: str | None,
    chunk_chars: int,
    report: IndexReport,
) -> None:
    parsed = parse_file(data, found.relpath, base_url=base_url)
    report.warnings.extend(f"{found.relpath}: {warning}" for warning in parsed.warnings)
    documents = []
    for document in parsed.documents:
        _check_storable(document)
        owner = writer.source_owner(document.source)
        if owner is not None and owner != (root, found.relpath):
            raise DocumentError(
                f"source id {document.source!r} is already indexed from {owner[0]}/{owner[1]}"
            )
        chunks = chunk_document(document, chunk_chars)
        documents.append((_with_hash(document, content_hash), chunks))
        report.chunks_written += len(chunks)
    writer.replace_file(root, found.relpath, content_hash, len(data), documents)


def _removal_scopes(paths: Sequence[Path]) -> dict[str, set[str] | None]:
    """Where vanished files may be removed: a whole folder given, or just a file given.

    A path that does not exist (an unmounted volume, a typo) removes nothing.
    """
    scopes: dict[str, set[str] | None] = {}
    for path in paths:
        given = absolute(path)
        if not is_unicode(str(given)):
            continue  # reported by discover; nothing can be indexed under it
        if path.is_dir():
            scopes[str(given)] = None
        elif path.is_file():
            scope = scopes.setdefault(str(given.parent), set())
            if scope is not None:
                scope.add(given.name)
    return scopes


def index_paths(
    kb: SqliteKnowledgeBase,
    paths: Sequence[Path],
    *,
    exclude: Sequence[Path] = (),
    base_url: str | None = None,
    chunk_chars: int = 1200,
    max_file_bytes: int = 20_000_000,
    progress: Progress | None = None,
) -> IndexReport:
    """Index ``paths`` (folders and files) into ``kb`` incrementally, in one transaction.
    The files of ``exclude`` are left out (and removed if they were indexed before)."""
    started = time.perf_counter()
    started_at = datetime.now(UTC)
    report = IndexReport()
    found_files, skipped = discover(paths, exclude)
    for item in skipped:
        # A file reached twice (a symlink alias, overlapping paths) is indexed once: no failure.
        if item.reason.startswith("already included"):
            report.warnings.append(f"{item.path}: {item.reason}")
        else:
            report.failed.append(Failure(item.path, item.reason))
    scopes = _removal_scopes(paths)
    roots = sorted(set(scopes) | {str(found.root) for found in found_files})
    seen: set[tuple[str, str]] = set()

    with kb.writer() as writer:
        # Read inside the write transaction, so a concurrent indexer cannot make it stale.
        known = {root: writer.file_hashes(root) for root in roots}
        for found in found_files:
            root = str(found.root)
            seen.add((root, found.relpath))
            try:
                data = _read(found, max_file_bytes)
                content_hash = fingerprint(data, chunk_chars=chunk_chars, base_url=base_url)
                previous = known[root].get(found.relpath)
                if previous == content_hash:
                    report.unchanged.append(found.relpath)
                else:
                    _index_file(
                        writer,
                        found,
                        data,
                        content_hash,
                        root=root,
                        base_url=base_url,
                        chunk_chars=chunk_chars,
                        report=report,
                    )
                    (report.added if previous is None else report.updated).append(found.relpath)
            except LedgerBotError as exc:
                report.failed.append(Failure(found.relpath, str(exc)))
            if progress is not None:
                progress(found)
        for root, scope in scopes.items():
            for relpath in sorted(known[root]):
                if (root, relpath) not in seen and (scope is None or relpath in scope):
                    writer.remove_file(root, relpath)
                    report.removed.append(relpath)
        writer.mark_indexed(started_at)
    report.seconds = time.perf_counter() - started
    return report
