"""Wiring for documents: the search index, the indexer and its source, from settings.

The bot searches the index; the indexer (its own process, `commercy indexer`) fills it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from bot.settings import Settings
from dialogs.grounded import GroundedWriter
from dialogs.rag import Library
from rag_indexer.embed import OpenAIEmbedder, azure_client, compatible_client
from rag_indexer.index import Hit, LocalIndex, SearchIndex

if TYPE_CHECKING:  # the indexer's side (PyMuPDF, ~50 MB) stays out of the bot's process
    from rag_indexer.pipeline import Indexer
    from rag_indexer.sources import FolderSource, Source

log = logging.getLogger(__name__)


def open_index(settings: Settings) -> SearchIndex:
    if settings.index_url.startswith("sqlite:///"):
        return LocalIndex.from_url(settings.index_url)
    from rag_indexer.azure_search import AzureSearchIndex

    dimensions = settings.embedding_dimensions if settings.embedding_model else None
    return AzureSearchIndex.from_url(
        settings.index_url, key=settings.search_key, dimensions=dimensions
    )


def _openai_client(settings: Settings):  # -> an openai client
    if settings.azure_openai_endpoint:
        return azure_client(settings.azure_openai_endpoint, api_key=settings.azure_openai_api_key,
                            api_version=settings.azure_openai_api_version)  # fmt: skip
    return compatible_client(settings.openai_base_url, api_key=settings.openai_api_key)


def embedder(settings: Settings) -> OpenAIEmbedder | None:
    """The embedding client the settings describe, or None (offline: lexical search)."""
    if not settings.embedding_model:
        return None
    return OpenAIEmbedder(_openai_client(settings), settings.embedding_model)


def writer(settings: Settings) -> GroundedWriter | None:
    """The LLM that words answers from passages, or None (offline: extractive answers)."""
    if not settings.chat_model:
        return None
    from bot.llm import shared_llm

    return GroundedWriter(shared_llm(settings))


def open_indexer(settings: Settings, index: SearchIndex | None = None) -> Indexer:
    from rag_indexer.pipeline import Indexer, IndexerState

    state = IndexerState(settings.indexer_state_url.removeprefix("sqlite:///"))
    return Indexer(
        index or open_index(settings), state, embed=embedder(settings),
        max_pages=settings.index_max_pages,
    )  # fmt: skip


def folder_source(settings: Settings, folder: Path | None = None) -> FolderSource:
    """The watched folder; the default one starts with the sample playbooks in it."""
    from rag_indexer import sample_corpus
    from rag_indexer.sources import FolderSource

    folder = folder or Path(settings.docs_dir)
    if folder == Path(settings.docs_dir) and not folder.exists():
        sample_corpus.copy_to(folder)
    return FolderSource(folder)


def blob_source(settings: Settings, container: str | None = None) -> Source:
    from rag_indexer.sources import BlobSource

    container = container or settings.blob_container
    if not settings.blob_connection_string:
        raise ValueError("COMMERCY_BLOB_CONNECTION_STRING is not set")
    return BlobSource(settings.blob_connection_string, container)


def library(
    settings: Settings,
    index: SearchIndex,
    embed: OpenAIEmbedder | None = None,
    write: GroundedWriter | None = None,
) -> Library:
    """The documents as the dialogs see them: search (hybrid when an embedder is there),
    the relevance bars, links to pages."""

    def search(query: str, top: int = 5) -> list[Hit]:
        vector = None
        if embed is not None:
            try:
                vector = embed([query])[0]
            except Exception:  # the endpoint is down or slow: lexical search still answers
                log.warning("embedding the question failed; searching by words only")
        return index.search(query, top=top, vector=vector)

    def link(hit: Hit) -> str | None:
        if hit.location.startswith(("http://", "https://")):
            return f"{hit.location}#page={hit.page}"
        if hit.doc_id:
            return f"{settings.bot_url}/docs/{hit.doc_id}.pdf#page={hit.page}"
        return None

    def titles() -> list[str]:
        return [f"{d.title} ({d.file})" for d in index.documents()]

    return Library(
        search=search, min_score=settings.rag_min_score,
        min_similarity=settings.rag_min_similarity, link=link, titles=titles, write=write,
    )  # fmt: skip


def document_file(index: SearchIndex, doc_id: str) -> Path | None:
    """The indexed PDF with this id, if it is a file this machine holds (never any other
    path: the id is looked up, not joined to a folder)."""
    for document in index.documents():
        if document.doc_id == doc_id:
            path = Path(document.location)
            return path if document.location and path.is_file() else None
    return None
