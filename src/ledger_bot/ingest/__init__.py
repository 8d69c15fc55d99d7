"""Reading source files into documents: finding them, then parsing each by its type."""

from ledger_bot.ingest.discover import FoundFile, SkippedPath, discover
from ledger_bot.ingest.dispatch import SUPPORTED_SUFFIXES, parse_file
from ledger_bot.ingest.parsed import ParsedFile

__all__ = [
    "SUPPORTED_SUFFIXES",
    "FoundFile",
    "ParsedFile",
    "SkippedPath",
    "discover",
    "parse_file",
]
