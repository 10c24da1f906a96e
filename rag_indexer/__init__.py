"""The PDF indexer: its own process turning uploaded playbooks into searchable passages."""
