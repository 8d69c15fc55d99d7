from pathlib import Path

from ledger_bot.reference_docs import render_cli_markdown
from ledger_bot.settings import render_settings_markdown

DOCS = Path(__file__).resolve().parent.parent / "docs"
REGENERATE = "regenerate with `python -m ledger_bot.reference_docs`"


def test_cli_reference_matches_the_commands() -> None:
    assert (DOCS / "cli.md").read_text(encoding="utf-8") == render_cli_markdown(), REGENERATE


def test_configuration_reference_matches_the_settings() -> None:
    expected = render_settings_markdown()
    assert (DOCS / "configuration.md").read_text(encoding="utf-8") == expected, REGENERATE
