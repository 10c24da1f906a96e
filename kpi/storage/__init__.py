"""Storage: the `ga_data` schema, the warehouse that holds it, and the guard on SQL
that someone else wrote."""
