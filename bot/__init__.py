"""Composition root: settings, the `commercy` CLI and (later) the Teams bot web app.

This is the only package that reads settings and starts things; everything below it
(`dialogs`, `cards`, `kpi`, `rag_indexer`) takes plain arguments.
"""
