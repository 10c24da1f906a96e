"""The analytic core: warehouse schema, sample data, importer and (later) the metric layer.

Nothing here imports botbuilder or reads settings; callers pass what is needed.
"""
