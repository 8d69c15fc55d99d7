from pathlib import Path

import pytest

from ledger_bot.errors import ConfigError
from ledger_bot.settings import Settings, load_settings, settings_table


def test_defaults_need_no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LEDGER_BOT_DB", raising=False)
    assert load_settings().db == Path(".ledger-bot/knowledge.db")


def test_sources_are_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEDGER_BOT_SOURCES", "docs, runbooks ,")
    assert load_settings().sources == (Path("docs"), Path("runbooks"))


def test_bad_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEDGER_BOT_CHUNK_CHARS", "10")
    with pytest.raises(ConfigError, match="LEDGER_BOT_CHUNK_CHARS: Input should be greater"):
        load_settings()


def test_unknown_log_level_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEDGER_BOT_LOG_LEVEL", "loud")
    with pytest.raises(ConfigError, match="LEDGER_BOT_LOG_LEVEL: Value error, must be one of"):
        load_settings()


def test_explicit_override_beats_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEDGER_BOT_DB", "env.db")
    assert load_settings(db=Path("flag.db")).db == Path("flag.db")


def test_every_setting_has_help_text() -> None:
    assert all(row.help for row in settings_table())


def test_table_covers_every_field() -> None:
    names = {row.name for row in settings_table()}
    # The SDKs' own key variables keep their usual names.
    expected = {f"LEDGER_BOT_{field.upper()}" for field in Settings.model_fields}
    expected -= {"LEDGER_BOT_OPENAI_API_KEY", "LEDGER_BOT_ANTHROPIC_API_KEY"}
    assert names == expected | {"OPENAI_API_KEY", "ANTHROPIC_API_KEY"}


def test_no_secret_value_shows_in_the_settings_repr() -> None:
    secrets = [
        name
        for name, field in Settings.model_fields.items()
        if isinstance(field.json_schema_extra, dict) and field.json_schema_extra.get("secret")
    ]
    values = {name: f"postgresql://user:hidden-{name}@db/ledger" for name in secrets}
    shown = repr(Settings(**values))
    assert len(secrets) == 8
    assert [name for name in secrets if f"hidden-{name}" in shown] == []


def test_an_empty_file_variable_means_no_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEDGER_BOT_MCP_TOKENS_FILE", "")
    assert load_settings().mcp_tokens_file is None
