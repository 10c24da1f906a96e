"""Settings: defaults that run the product, and one clear line for every bad value."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import DEFAULT_DATABASE_URL, SettingsError, load_settings

COMMERCY = [sys.executable, "-m", "bot.cli"]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("COMMERCY_DATABASE_URL", "COMMERCY_TIMEZONE", "COMMERCY_LOG_LEVEL",
                 "COMMERCY_QUERY_TIMEOUT_SECONDS"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def test_defaults_are_an_embedded_duckdb_file_and_seoul_time() -> None:
    settings = load_settings()
    assert settings.database_url == DEFAULT_DATABASE_URL
    assert settings.timezone == "Asia/Seoul"


def test_a_dotenv_file_in_the_working_folder_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("COMMERCY_TIMEZONE=Europe/London\n")
    assert load_settings().timezone == "Europe/London"


def test_environment_wins_over_the_dotenv_file(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / ".env").write_text("COMMERCY_TIMEZONE=Europe/London\n")
    monkeypatch.setenv("COMMERCY_TIMEZONE", "UTC")
    assert load_settings().timezone == "UTC"


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("COMMERCY_TIMEZONE", "Mars/Olympus", "not an IANA time zone"),
        ("COMMERCY_DATABASE_URL", "postgresql://db/ga", "'postgresql' is not supported"),
        ("COMMERCY_DATABASE_URL", "not a url", "not a database URL"),
        ("COMMERCY_QUERY_TIMEOUT_SECONDS", "0", "greater than or equal to 1"),
        ("COMMERCY_LOG_LEVEL", "LOUD", "must be one of DEBUG, INFO, WARNING, ERROR"),
        ("COMMERCY_WAREHOUSE_MEMORY_LIMIT", "lots", "must be a size such as 256MB"),
        ("COMMERCY_READER_DATABASE_URL", "sqlite:///x.db", "'sqlite' is not supported"),
        ("COMMERCY_LLM_TIMEOUT_SECONDS", "0", "greater than or equal to 1"),
        ("COMMERCY_SQL_MAX_ROWS", "-1", "greater than or equal to 1"),
        ("COMMERCY_STATE_URL", "postgresql://db/state", "must be sqlite:///PATH or mssql+pyodbc"),
        (
            "COMMERCY_NEWS_FEEDS",
            "https://a.example/rss https://b.example/rss",
            "separate feeds with commas",
        ),
        ("COMMERCY_NEWS_EVERY_MINUTES", "1", "greater than or equal to 5"),
        ("COMMERCY_NEWS_TOPICS", "/no/topics.json", "topics file /no/topics.json: no such file"),
        ("COMMERCY_ALERT_SENSITIVITY", '{"traffic_drop": "quiet"}', "unknown sensitivity"),
    ],
)
def test_a_bad_value_names_the_setting_and_what_is_allowed(monkeypatch, name, value, expected):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as error:
        load_settings()
    message = str(error.value)
    assert message.startswith(f"{name}={value!r}")
    assert expected in message
    assert "\n" not in message


def test_the_cli_stops_on_a_bad_time_zone_with_one_line_and_exit_code_2(tmp_path: Path) -> None:
    result = subprocess.run(
        [*COMMERCY, "data", "ddl"],
        env={"COMMERCY_TIMEZONE": "Asia/Nowhere", "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "commercy: COMMERCY_TIMEZONE='Asia/Nowhere': not an IANA time zone; "
        "use a name such as Asia/Seoul or UTC"
    ]


def test_the_azure_deployment_names_set_the_models(monkeypatch) -> None:
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "https://contoso.openai.azure.com")
    monkeypatch.setenv("AZURE_OPENAI_CHAT_DEPLOYMENT", "gpt-4o-mini")
    monkeypatch.setenv("AZURE_OPENAI_EMBEDDING_DEPLOYMENT", "text-embedding-3-small")
    settings = load_settings()
    assert (settings.chat_model, settings.embedding_model) == (
        "gpt-4o-mini", "text-embedding-3-small")  # fmt: skip
