"""Insights on the metric layer: the morning summary, why a metric moved (`drivers`), the
5-minute risk alerts and the dashboard tab's numbers."""
