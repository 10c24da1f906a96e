"""Dialogs: routing a message to SQL, RAG or reasoning, and the offline bilingual parser."""
