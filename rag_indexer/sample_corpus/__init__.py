"""The sample corpus of marketing playbooks (PDFs built by build.py from src/*.md)."""
