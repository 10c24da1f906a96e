"""Dialogs: a message in, a reply out. `router` sends it to numbers (`sql_reply`), documents
(`rag`), news, the summary or why (`why`), offline through `parser` or through the LLM path
(`assistant`); `context` holds what they all share."""
