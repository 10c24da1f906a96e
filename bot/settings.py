"""Settings from the environment and a `.env` file, validated once at start.

Every setting a person can change is here, with its environment variable name;
`.env.example` lists the same names. A bad value becomes `SettingsError` with one
line naming the variable and what it accepts: the CLI prints it and exits 2.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AliasChoices,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

if TYPE_CHECKING:  # kpi is imported when first needed: settings load before the warehouse
    from kpi.insights.alerts import Thresholds

DEFAULT_DATABASE_URL = "duckdb:///data/commercy.duckdb"
SUPPORTED_DATABASES = ("duckdb", "mssql+pyodbc")


class SettingsError(Exception):
    """A setting has a value Commercy cannot use; the message is one line for a person."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    database_url: str = Field(DEFAULT_DATABASE_URL, validation_alias="COMMERCY_DATABASE_URL")
    timezone: str = Field("Asia/Seoul", validation_alias="COMMERCY_TIMEZONE")
    query_timeout_seconds: int = Field(
        30, ge=1, le=600, validation_alias="COMMERCY_QUERY_TIMEOUT_SECONDS"
    )
    log_level: str = Field("INFO", validation_alias="COMMERCY_LOG_LEVEL")
    # DuckDB's buffer pool in the bot: enough for a whole-year question within ~10 % of
    # the unbounded speed, small enough to keep the bot's memory down.
    warehouse_memory_limit: str = Field("256MB", validation_alias="COMMERCY_WAREHOUSE_MEMORY_LIMIT")

    # The bot. Empty app id = local mode: no Bot Framework auth (Agents Playground).
    app_id: str = Field("", validation_alias="MicrosoftAppId")
    app_password: str = Field("", validation_alias="MicrosoftAppPassword")
    app_type: str = Field("MultiTenant", validation_alias="MicrosoftAppType")
    app_tenant_id: str = Field("", validation_alias="MicrosoftAppTenantId")
    port: int = Field(3978, ge=1, le=65535, validation_alias="COMMERCY_PORT")
    playground_port: int = Field(56150, ge=1, le=65535, validation_alias="COMMERCY_PLAYGROUND_PORT")
    public_url: str = Field("", validation_alias="COMMERCY_PUBLIC_URL")
    state_url: str = Field("sqlite:///data/state.sqlite3", validation_alias="COMMERCY_STATE_URL")
    chart_ttl_seconds: int = Field(
        86_400, ge=60, le=30 * 86_400, validation_alias="COMMERCY_CHART_TTL_SECONDS"
    )
    alerts_enabled: bool = Field(True, validation_alias="COMMERCY_ALERTS_ENABLED")
    replay: bool = Field(True, validation_alias="COMMERCY_REPLAY")
    # JSON: {"traffic_drop.warning_score": 5, "window_minutes": 5, ...} (kpi/insights/alerts.py)
    alert_thresholds: str = Field("{}", validation_alias="COMMERCY_ALERT_THRESHOLDS")
    # JSON: {"traffic_drop": "low", ...}: a rule's sensitivity, applied to the defaults
    # before COMMERCY_ALERT_THRESHOLDS (SENSITIVITY_SHIFTS says by how much).
    alert_sensitivity: str = Field("{}", validation_alias="COMMERCY_ALERT_SENSITIVITY")
    # Documents (RAG): the index the bot searches and the indexer fills, the folder or
    # blob container the indexer watches, the indexer's own bookkeeping.
    index_url: str = Field("sqlite:///data/index.sqlite3", validation_alias="COMMERCY_INDEX_URL")
    search_key: str = Field("", validation_alias="COMMERCY_SEARCH_KEY")
    docs_dir: str = Field("data/playbooks", validation_alias="COMMERCY_DOCS_DIR")
    blob_connection_string: str = Field("", validation_alias="COMMERCY_BLOB_CONNECTION_STRING")
    blob_container: str = Field("", validation_alias="COMMERCY_BLOB_CONTAINER")
    indexer_state_url: str = Field(
        "sqlite:///data/indexer.sqlite3", validation_alias="COMMERCY_INDEXER_STATE_URL"
    )
    index_max_pages: int = Field(500, ge=1, le=100_000, validation_alias="COMMERCY_INDEX_MAX_PAGES")
    rag_min_score: float = Field(0.5, ge=0, le=1, validation_alias="COMMERCY_RAG_MIN_SCORE")
    indexer: bool = Field(True, validation_alias="COMMERCY_INDEXER")
    # News for the dashboard's 뉴스 tab: `commercy news ingest` fills this SQLite file, and
    # so does the bot every COMMERCY_NEWS_EVERY_MINUTES from COMMERCY_NEWS_FEEDS (RSS or
    # Atom URLs or files, comma-separated; empty: no scheduled ingest).
    news_path: str = Field("data/news.sqlite3", validation_alias="COMMERCY_NEWS_PATH")
    news_feeds: str = Field("", validation_alias="COMMERCY_NEWS_FEEDS")
    news_every_minutes: int = Field(
        60, ge=5, le=1440, validation_alias="COMMERCY_NEWS_EVERY_MINUTES"
    )
    # A JSON file {"topic": ["keyword", ...]}; empty: parent_company, ecommerce, fashion.
    news_topics: str = Field("", validation_alias="COMMERCY_NEWS_TOPICS")
    # Embeddings (hybrid search), when configured: Azure OpenAI (endpoint, key or Entra
    # ID, the deployment as the model) or any OpenAI-compatible base URL. None offline.
    embedding_model: str = Field(
        "", validation_alias=AliasChoices("COMMERCY_EMBEDDING_MODEL",
                                          "AZURE_OPENAI_EMBEDDING_DEPLOYMENT"),
    )  # fmt: skip
    # The chat model (or Azure deployment) that routes, fills queries, writes SQL and
    # words answers; empty: no LLM, the offline dialogs.
    chat_model: str = Field(
        "", validation_alias=AliasChoices("COMMERCY_CHAT_MODEL", "AZURE_OPENAI_CHAT_DEPLOYMENT")
    )
    # Per LLM call; 429 and 5xx are retried with backoff this many times (time-outs not).
    llm_timeout_seconds: float = Field(
        6.0, ge=1, le=60, validation_alias="COMMERCY_LLM_TIMEOUT_SECONDS"
    )
    llm_max_retries: int = Field(2, ge=0, le=5, validation_alias="COMMERCY_LLM_MAX_RETRIES")
    # Model-written SQL (questions outside the catalog) runs through this URL: a login
    # that can only read ga_data. Empty: the warehouse URL, in a read-only transaction.
    reader_database_url: str = Field("", validation_alias="COMMERCY_READER_DATABASE_URL")
    sql_max_rows: int = Field(200, ge=1, le=5000, validation_alias="COMMERCY_SQL_MAX_ROWS")
    # Azure AI Search declares the vector field's size up front (text-embedding-3-small).
    embedding_dimensions: int = Field(
        1536, ge=2, le=4096, validation_alias="COMMERCY_EMBEDDING_DIMENSIONS"
    )
    openai_base_url: str = Field("", validation_alias="COMMERCY_OPENAI_BASE_URL")
    openai_api_key: str = Field("", validation_alias="COMMERCY_OPENAI_API_KEY")
    azure_openai_endpoint: str = Field("", validation_alias="AZURE_OPENAI_ENDPOINT")
    azure_openai_api_key: str = Field("", validation_alias="AZURE_OPENAI_API_KEY")
    azure_openai_api_version: str = Field("2024-10-21", validation_alias="AZURE_OPENAI_API_VERSION")
    rag_min_similarity: float = Field(
        0.5, ge=-1, le=1, validation_alias="COMMERCY_RAG_MIN_SIMILARITY"
    )
    reply_budget_seconds: float = Field(
        10.0, ge=1, le=14, validation_alias="COMMERCY_REPLY_BUDGET_SECONDS"
    )
    # The sensitivity label Teams shows on every answer computed from the store's data
    # (bot/teams_ai.py); empty: no label.
    sensitivity_label: str = Field(
        "Internal: store analytics", max_length=80, validation_alias="COMMERCY_SENSITIVITY_LABEL"
    )

    @field_validator("database_url", "reader_database_url")
    @classmethod
    def _known_database(cls, value: str, info: ValidationInfo) -> str:
        if not value and info.field_name == "reader_database_url":
            return value
        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError(
                "not a database URL; use duckdb:///PATH or mssql+pyodbc://..."
            ) from None
        if url.drivername not in SUPPORTED_DATABASES:
            raise ValueError(
                f"'{url.drivername}' is not supported; use duckdb:///PATH or mssql+pyodbc://..."
            )
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                "not an IANA time zone; use a name such as Asia/Seoul or UTC"
            ) from None
        return value

    @field_validator("warehouse_memory_limit")
    @classmethod
    def _memory_size(cls, value: str) -> str:
        if not re.fullmatch(r"\d+(\.\d+)?\s*(KB|MB|GB|KiB|MiB|GiB)", value.strip()):
            raise ValueError("must be a size such as 256MB or 1GB")
        return value.strip()

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        levels = ("DEBUG", "INFO", "WARNING", "ERROR")
        if value.upper() not in levels:
            raise ValueError(f"must be one of {', '.join(levels)}")
        return value.upper()

    @field_validator("app_type")
    @classmethod
    def _known_app_type(cls, value: str) -> str:
        types = ("MultiTenant", "SingleTenant", "UserAssignedMSI")
        if value not in types:
            raise ValueError(f"must be one of {', '.join(types)}")
        return value

    @field_validator("public_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("state_url")
    @classmethod
    def _known_state(cls, value: str) -> str:
        if not value.startswith(("sqlite:///", "mssql+pyodbc://")):
            raise ValueError(
                "must be sqlite:///PATH or mssql+pyodbc://... (Azure SQL, for several instances)"
            )
        return value

    @field_validator("index_url")
    @classmethod
    def _known_index(cls, value: str) -> str:
        if value.startswith("sqlite:///") or re.match(r"https://[^/]+/indexes/[\w-]+/?$", value):
            return value.rstrip("/")
        raise ValueError("use sqlite:///PATH or https://SERVICE.search.windows.net/indexes/NAME")

    @model_validator(mode="after")
    def _models_have_an_endpoint(self) -> Settings:
        endpoint = self.azure_openai_endpoint or self.openai_base_url
        for name, model in (("COMMERCY_EMBEDDING_MODEL", self.embedding_model),
                            ("COMMERCY_CHAT_MODEL", self.chat_model)):  # fmt: skip
            if model and not endpoint:
                raise ValueError(
                    f"{name} is set but there is no endpoint: set AZURE_OPENAI_ENDPOINT "
                    "or COMMERCY_OPENAI_BASE_URL"
                )
        return self

    @field_validator("openai_base_url", "azure_openai_endpoint")
    @classmethod
    def _endpoint(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must start with https:// (or http:// for a local server)")
        return value.rstrip("/")

    @field_validator("news_feeds")
    @classmethod
    def _feed_list(cls, value: str) -> str:
        for feed in (f.strip() for f in value.split(",")):
            if feed.startswith(("http://", "https://")) and " " in feed:
                raise ValueError(f"{feed!r} is not a URL; separate feeds with commas")
        return value

    @field_validator("news_topics")
    @classmethod
    def _topics_file(cls, value: str) -> str:
        if value:
            from news.topics import load_topics

            load_topics(value)  # its ValueError is already one line naming the file
        return value

    @field_validator("indexer_state_url")
    @classmethod
    def _sqlite_indexer_state(cls, value: str) -> str:
        if not value.startswith("sqlite:///"):
            raise ValueError("must be sqlite:///PATH")
        return value

    @field_validator("alert_thresholds")
    @classmethod
    def _known_thresholds(cls, value: str) -> str:
        import json

        from kpi.insights.alerts import Thresholds

        try:
            overrides = json.loads(value or "{}")
        except ValueError:
            raise ValueError(
                'must be a JSON object such as {"traffic_drop.warning_score": 5}'
            ) from None
        if not isinstance(overrides, dict):
            raise ValueError('must be a JSON object such as {"traffic_drop.warning_score": 5}')
        try:
            Thresholds().with_overrides(overrides)
        except (TypeError, ValueError) as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("alert_sensitivity")
    @classmethod
    def _known_sensitivity(cls, value: str) -> str:
        parse_sensitivity(value)  # its ValueError is already one line
        return value

    @model_validator(mode="after")
    def _thresholds_fit_together(self) -> Settings:
        # Each setting is valid alone; an override may still clash with a shifted score
        # (a warning_score above the critical_score "low" made).
        try:
            self.thresholds  # noqa: B018 - built only to be checked
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"COMMERCY_ALERT_SENSITIVITY with COMMERCY_ALERT_THRESHOLDS: {exc}"
            ) from None
        return self

    @property
    def sensitivity(self) -> dict[str, str]:
        """rule -> "high" | "normal" | "low" | "lowest", as COMMERCY_ALERT_SENSITIVITY says."""
        return parse_sensitivity(self.alert_sensitivity)

    @property
    def threshold_overrides(self) -> dict[str, Any]:
        """COMMERCY_ALERT_THRESHOLDS as a mapping ("traffic_drop.warning_score": 5)."""
        import json

        return json.loads(self.alert_thresholds or "{}")

    @property
    def thresholds(self) -> Thresholds:
        return effective_thresholds(self.sensitivity, self.threshold_overrides)

    @property
    def feeds(self) -> list[str]:
        return [feed.strip() for feed in self.news_feeds.split(",") if feed.strip()]

    @property
    def topics(self):  # -> news.topics.Topics
        from news.topics import DEFAULT_TOPICS, load_topics

        return load_topics(self.news_topics) if self.news_topics else DEFAULT_TOPICS

    @property
    def bot_url(self) -> str:
        """Where people and Teams reach the bot's web endpoints (chart images)."""
        return self.public_url or f"http://localhost:{self.port}"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


# How far a sensitivity level moves a rule's warning_score and critical_score. The steps
# are in the scores' own unit whatever it is (a robust z-score today, "surprise" =
# -log10 of the tail probability soon): only the rule's own values are shifted. Less
# sensitive ("low", "lowest") raises the bar; "high" lowers it by less, because every
# step down lets through more chance alerts than a step up holds back real ones.
SENSITIVITY_SHIFTS = {"high": -0.5, "normal": 0.0, "low": 1.0, "lowest": 2.0}
# Most to least sensitive: the order `commercy alerts status` suggests the next step in.
SENSITIVITY_LEVELS = tuple(SENSITIVITY_SHIFTS)
# "high" never takes a score below this: a score near 0 fires on every window.
MIN_SCORE = 0.5
SENSITIVITY_EXAMPLE = '{"traffic_drop": "low"}'


def parse_sensitivity(value: str) -> dict[str, str]:
    """COMMERCY_ALERT_SENSITIVITY's JSON as rule -> level; ValueError (one line) when it
    is not an object of known rules and levels."""
    import json

    from kpi.insights.alerts import RULES

    try:
        levels = json.loads(value or "{}")
    except ValueError:
        levels = None
    if not isinstance(levels, dict):
        raise ValueError(f"must be a JSON object such as {SENSITIVITY_EXAMPLE}")
    for rule, level in levels.items():
        if rule not in RULES:
            raise ValueError(f"unknown alert rule {rule!r}; rules: {', '.join(RULES)}")
        if level not in SENSITIVITY_SHIFTS:
            raise ValueError(
                f"{rule}: unknown sensitivity {level!r}; use {', '.join(SENSITIVITY_LEVELS)}"
            )
    return dict(levels)


def effective_thresholds(
    sensitivity: Mapping[str, str], overrides: Mapping[str, Any]
) -> Thresholds:
    """The risk check's thresholds: the defaults, each rule's sensitivity shift, then the
    explicit overrides (COMMERCY_ALERT_THRESHOLDS wins: it names exact values)."""
    from kpi.insights.alerts import Thresholds

    defaults = Thresholds()
    shifted: dict[str, float] = {}
    for rule, level in sensitivity.items():
        limits = defaults.rule(rule)
        warning, critical = _shifted(limits.warning_score, limits.critical_score, level)
        shifted[f"{rule}.warning_score"] = warning
        shifted[f"{rule}.critical_score"] = critical
    return defaults.with_overrides(shifted).with_overrides(overrides)


def _shifted(warning: float, critical: float, level: str) -> tuple[float, float]:
    shift = SENSITIVITY_SHIFTS[level]
    if shift >= 0:
        return warning + shift, critical + shift
    # Lower, but not below the floor, never above where it was (a score already under
    # the floor stays), and the warning never above the critical score.
    new_warning = min(warning, max(MIN_SCORE, warning + shift))
    new_critical = max(new_warning, min(critical, max(MIN_SCORE, critical + shift)))
    return new_warning, new_critical


def load_settings(env_file: Path | str | None = ".env") -> Settings:
    """Read and validate the settings, turning the first problem into a `SettingsError`."""
    try:
        return Settings(_env_file=env_file)
    except ValidationError as exc:
        raise SettingsError(_one_line(exc)) from None


def _one_line(exc: ValidationError) -> str:
    error = exc.errors()[0]
    if not error["loc"]:  # a rule about several settings together: its message names them
        return error["msg"].removeprefix("Value error, ")
    field = str(error["loc"][0])
    alias = (
        Settings.model_fields[field].validation_alias if field in Settings.model_fields else None
    )
    if isinstance(alias, AliasChoices):
        alias = str(alias.choices[0])
    name = alias or field
    given = error.get("input")
    message = error["msg"].removeprefix("Value error, ")
    message = message[0].lower() + message[1:]
    return f"{name}={given!r}: {message}" if given is not None else f"{name}: {message}"
