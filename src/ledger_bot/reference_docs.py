"""Generated reference pages: ``docs/cli.md`` from the commands' ``--help`` and
``docs/configuration.md`` from the settings table. Tests fail when the files drift.

Regenerate both with ``python -m ledger_bot.reference_docs``.
"""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from ledger_bot.cli import main
from ledger_bot.settings import render_settings_markdown

DOCS = Path(__file__).resolve().parents[2] / "docs"


def render_cli_markdown() -> str:
    lines = [
        "# Command line",
        "",
        "Generated from `ledger-bot --help` by `python -m ledger_bot.reference_docs`;",
        "do not edit by hand. Every command exits 0 on success; on failure it prints one line",
        "starting with `error:` and exits 1 (2 for a usage mistake).",
        "",
    ]
    runner = CliRunner()

    def help_text(*args: str) -> str:
        # The runner pins the width, so the page does not depend on the terminal it ran in.
        result = runner.invoke(main, [*args, "--help"], prog_name="ledger-bot", terminal_width=100)
        return result.output.rstrip("\n")

    lines += ["```", help_text(), "```", ""]
    for name in sorted(main.commands):
        lines += [f"## ledger-bot {name}", "", "```", help_text(name), "```", ""]
    return "\n".join(lines)


def write_reference_docs(folder: Path = DOCS) -> None:
    (folder / "cli.md").write_text(render_cli_markdown(), encoding="utf-8")
    (folder / "configuration.md").write_text(render_settings_markdown(), encoding="utf-8")


if __name__ == "__main__":
    write_reference_docs()
