"""Turning the bytes of a text file into text, or a clear reason why not."""

from __future__ import annotations

import codecs

from ledger_bot.errors import DocumentError

_SNIFF_BYTES = 8192


def decode_text(data: bytes) -> str:
    """Decode UTF-8 (with or without a byte order mark) and normalise line endings to ``\\n``.

    Raises ``DocumentError`` for a binary file (NUL bytes near the start), UTF-16 text, or
    bytes that are not valid UTF-8.
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise DocumentError("UTF-16 text is not supported: save the file as UTF-8")
    if b"\x00" in data[:_SNIFF_BYTES]:
        raise DocumentError("looks like a binary file")
    offset = 0
    if data.startswith(codecs.BOM_UTF8):
        offset = len(codecs.BOM_UTF8)
    try:
        text = data[offset:].decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = exc.object[exc.start]
        raise DocumentError(
            f"not valid UTF-8 text (byte 0x{bad:02x} at offset {offset + exc.start})"
        ) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def is_unicode(text: str) -> bool:
    """False for text with lone surrogates, which cannot be stored or sent: what Python makes of
    a file name in another encoding, a JSON ``\\ud800`` escape or a reST ``unicode::`` one."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
