"""Composition root: settings, the `commercy` CLI, the Teams bot web app (aiohttp +
botbuilder), its state store, scheduled jobs and dashboard tab, and `serve`.

This is the only package that reads settings and starts things; everything below it
(`dialogs`, `cards`, `kpi`, `news`, `rag_indexer`, `language`) takes plain arguments.
"""
