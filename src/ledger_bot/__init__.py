"""Ledger Bot: answers a team's questions from its own knowledge base, with citations."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ledger-bot")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"

__all__ = ["__version__"]
