"""Embeddings through Azure OpenAI or any OpenAI-compatible endpoint (OpenAI, Ollama,
vLLM), with the `openai` client. Offline there are none, and search is lexical only.

Two implementations of one call: `OpenAIEmbedder` (the real client) and nothing at all
(`None` where an embedder is expected). The client retries 429 and 5xx itself, with
backoff; a failure after that is the caller's to survive (the indexer indexes without
vectors, the bot searches without them).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

BATCH = 64  # texts per request: well under every provider's input limit


class OpenAIEmbedder:
    def __init__(self, client: Any, model: str) -> None:
        self.client = client
        self.model = model

    @classmethod
    def for_azure(
        cls, endpoint: str, deployment: str, *, api_key: str, api_version: str
    ) -> OpenAIEmbedder:
        return cls(azure_client(endpoint, api_key=api_key, api_version=api_version), deployment)

    @classmethod
    def for_base_url(cls, base_url: str, model: str, *, api_key: str) -> OpenAIEmbedder:
        return cls(compatible_client(base_url, api_key=api_key), model)

    def __call__(self, texts: Sequence[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), BATCH):
            batch = [text[:8000] or " " for text in texts[start : start + BATCH]]
            response = self.client.embeddings.create(model=self.model, input=batch)
            ordered = sorted(response.data, key=lambda item: item.index)
            vectors.extend(list(item.embedding) for item in ordered)
        return vectors


def azure_client(endpoint: str, *, api_key: str, api_version: str) -> Any:
    """An Azure OpenAI client: with a key, or else Microsoft Entra ID (managed identity)."""
    from openai import AzureOpenAI

    return AzureOpenAI(
        azure_endpoint=endpoint, api_key=api_key or None, api_version=api_version,
        azure_ad_token_provider=None if api_key else entra_token_provider(),
        timeout=30, max_retries=3,
    )  # fmt: skip


def compatible_client(base_url: str, *, api_key: str) -> Any:
    """A client for any OpenAI-compatible server (OpenAI, Ollama, vLLM)."""
    from openai import OpenAI

    return OpenAI(base_url=base_url, api_key=api_key or "none", timeout=30, max_retries=3)


def entra_token_provider():  # -> a callable returning a bearer token
    """Microsoft Entra ID instead of a key (managed identity in Azure, `az login` here)."""
    from azure.identity import DefaultAzureCredential, get_bearer_token_provider

    return get_bearer_token_provider(
        DefaultAzureCredential(), "https://cognitiveservices.azure.com/.default"
    )
