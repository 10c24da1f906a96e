"""The analytic core, one subpackage per job; imports run down this list, never up:

- `storage`: the `ga_data` schema, the warehouse (DuckDB or Azure SQL), the SQL guard.
- `sample`: the generated year calibrated to the real store, the live replay, its statistics.
- `ga_import`: Google Analytics exports (Kaggle CSV, BigQuery NDJSON) into the warehouse.
- `metrics`: the metric catalog (metrics.md as code), units, periods, the query compiler.
- `insights`: the daily summary, why a metric moved, the risk alerts, the dashboard.

Nothing here imports botbuilder, the bot or the cards, or reads settings; callers pass
what is needed.
"""
