"""PDF files, read with pypdf: one section per page."""

from __future__ import annotations

import io

from ledger_bot.documents import Document, Section
from ledger_bot.errors import DocumentError, MissingExtra
from ledger_bot.ingest.parsed import ParsedFile
from ledger_bot.ingest.sources import title_from_path, url_for

_MAX_REASON_CHARS = 200


def parse_pdf(data: bytes, relpath: str, *, base_url: str | None = None) -> ParsedFile:
    """Raises ``DocumentError`` for a corrupt or password-protected PDF, or one without text."""
    try:
        import pypdf
    except ImportError as exc:
        raise MissingExtra("Indexing PDF", "pdf", "pypdf") from exc

    try:
        reader = pypdf.PdfReader(io.BytesIO(data))  # tries the empty password by itself
        pages = [page.extract_text() or "" for page in reader.pages]
        metadata = reader.metadata
        title = str(metadata.title or "").strip() if metadata is not None else ""
    except pypdf.errors.FileNotDecryptedError as exc:
        raise DocumentError("encrypted PDF: remove its password and index it again") from exc
    except pypdf.errors.DependencyError as exc:  # e.g. AES encryption without `cryptography`
        raise DocumentError(f"unreadable PDF: {_describe(exc)}") from exc
    except Exception as exc:  # pypdf raises many kinds of errors on damaged files
        raise DocumentError(f"corrupt PDF: {_describe(exc)}") from exc
    sections = tuple(
        Section((f"Page {number}",), text.strip())
        for number, text in enumerate(pages, 1)
        if text.strip()
    )
    if not sections:
        raise DocumentError("no extractable text (scanned PDF?)")
    document = Document(
        source=relpath,
        title=title or title_from_path(relpath),
        sections=sections,
        url=url_for(relpath, base_url),
    )
    return ParsedFile((document,))


def _describe(exc: Exception) -> str:
    reason = " ".join(str(exc).split()) or type(exc).__name__
    if len(reason) > _MAX_REASON_CHARS:
        reason = reason[: _MAX_REASON_CHARS - 1] + "…"
    return reason
