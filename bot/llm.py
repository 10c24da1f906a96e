"""Wiring for the LLM path: the LangChain chat model and the assistant, from settings.

Azure OpenAI when `AZURE_OPENAI_ENDPOINT` is set (a key, or Microsoft Entra ID through
azure-identity when there is none), else any OpenAI-compatible base URL (OpenAI, Ollama,
vLLM). No chat model set: None, and the dialogs stay offline.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from bot.settings import Settings

if TYPE_CHECKING:
    from bot.state.memory import Memory
    from dialogs.assistant import Assistant

log = logging.getLogger(__name__)

_SHARED: dict[tuple, Any] = {}


def chat_model(settings: Settings) -> Any:
    """A LangChain chat model (temperature 0) for the configured endpoint."""
    common = {
        "temperature": 0,
        "timeout": settings.llm_timeout_seconds,
        "max_retries": 0,  # dialogs.llm.LLM retries 429 and 5xx itself, not time-outs
        # A streamed answer's last chunk carries its token counts (stream_options), so
        # streaming in a personal chat is metered like a plain call.
        "stream_usage": True,
    }
    if settings.azure_openai_endpoint:
        from langchain_openai import AzureChatOpenAI

        from rag_indexer.embed import entra_token_provider

        key = settings.azure_openai_api_key
        return AzureChatOpenAI(
            azure_endpoint=settings.azure_openai_endpoint,
            azure_deployment=settings.chat_model,
            api_version=settings.azure_openai_api_version,
            api_key=key or None,
            azure_ad_token_provider=None if key else entra_token_provider(),
            **common,
        )
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        base_url=settings.openai_base_url,
        api_key=settings.openai_api_key or "none",
        model=settings.chat_model,
        **common,
    )


def shared_llm(settings: Settings) -> Any:
    """The process's one `dialogs.llm.LLM` for these settings: the assistant and the
    documents' writer share its circuit breaker, so a dead model is noticed once."""
    from dialogs.llm import LLM

    key = (settings.azure_openai_endpoint, settings.openai_base_url, settings.chat_model,
           settings.llm_timeout_seconds, settings.llm_max_retries)  # fmt: skip
    if key not in _SHARED:
        _SHARED[key] = LLM(chat_model(settings), name=settings.chat_model,
                           retries=settings.llm_max_retries)  # fmt: skip
    return _SHARED[key]


def news_scorer(settings: Settings) -> Any:
    """News sentiment from the chat model (news/llm_sentiment.py), or None offline (the
    lexicon). Its own circuit breaker: a feed of odd articles the model chokes on must
    not take the chat's model away for a minute."""
    if not settings.chat_model:
        return None
    from dialogs.llm import LLM
    from news.llm_sentiment import llm_scorer

    return llm_scorer(LLM(chat_model(settings), name=settings.chat_model,
                          retries=settings.llm_max_retries))  # fmt: skip


def assistant(settings: Settings, memory: Memory | None = None) -> Assistant | None:
    """The LLM dialogs, or None offline. Confirmed examples live in the state's memory."""
    if not settings.chat_model:
        return None
    from dialogs.assistant import Assistant
    from dialogs.examples import Example, ExampleLibrary, seed_examples
    from kpi.storage.warehouse import open_warehouse

    saved = [Example(q, query) for q, query in memory.examples()] if memory else []
    examples = ExampleLibrary(
        [*seed_examples(), *saved],
        save=(lambda e: memory.save_example(e.question, e.query)) if memory else None,
    )
    reader = None
    if settings.reader_database_url:
        reader = open_warehouse(
            settings.reader_database_url, query_timeout_seconds=settings.query_timeout_seconds
        )
    dialect = "duckdb" if settings.database_url.startswith("duckdb") else "mssql"
    return Assistant(
        shared_llm(settings),
        examples,
        dialect=dialect,
        max_rows=settings.sql_max_rows,
        sql_timeout_seconds=float(settings.query_timeout_seconds),
        reader=reader,
    )
