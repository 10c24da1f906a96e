"""Google Analytics import: Kaggle and BigQuery exports read into `ga_data`, and the
Kaggle layout written back from it (to test the importer at scale)."""
