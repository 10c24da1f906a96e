"""The metric catalog (kpi/metrics/catalog.py) is ../shared/metrics.md as code: every
dimension metrics.md names is in it."""

from __future__ import annotations

from kpi.metrics.catalog import DIMENSIONS


def test_every_dimension_of_metrics_md_is_in_the_catalog():
    # visitor_type is the one extra: the original dashboard's new / returning segment.
    assert set(DIMENSIONS) - {"visitor_type"} == {
        "date",
        "week",
        "month",
        "weekday",
        "hour",
        "channel",
        "source",
        "medium",
        "campaign",
        "device",
        "browser",
        "os",
        "country",
        "continent",
        "city",
        "product_name",
        "product_category",
    }
