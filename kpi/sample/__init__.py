"""Sample data: a year of the Google Merchandise Store drawn from its published
statistics, replayed live minute by minute, and the report that checks it against them."""
