"""The errors Ledger Bot raises on purpose.

Every message says what went wrong and what to do next, because it is shown to an operator
or an asker as it is.
"""

from __future__ import annotations


class LedgerBotError(Exception):
    """Base class of every error Ledger Bot raises deliberately."""


class ConfigError(LedgerBotError):
    """A setting is missing or invalid; the message names the variable to fix."""


class KnowledgeBaseError(LedgerBotError):
    """The knowledge base file is missing, corrupt or of an unknown schema."""


class DocumentError(LedgerBotError):
    """One input file cannot be read or parsed; indexing records it and goes on."""


class InvalidQuestion(LedgerBotError):
    """A question was rejected before retrieval (empty, only mentions, …)."""


class MissingExtra(LedgerBotError):
    """An optional dependency is not installed."""

    def __init__(self, feature: str, extra: str, module: str) -> None:
        super().__init__(
            f"{feature} needs the optional package {module!r}: "
            f"install it with `pip install 'ledger-bot[{extra}]'`"
        )
        self.extra = extra


class BackendUnavailable(LedgerBotError):
    """A backend (state store, LLM provider) cannot be reached right now."""
