"""Adaptive Card builders (answer, chart, alert, daily summary, welcome, help)."""
