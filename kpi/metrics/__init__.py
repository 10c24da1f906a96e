"""The metric layer: every KPI and dimension defined once (`catalog`), how values read
(`units`), periods in Korean and English (`periods`) and one query compiler (`query`)."""
