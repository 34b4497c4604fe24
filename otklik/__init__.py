"""otklik: customer-feedback data pipeline (Prefect flows over a DuckDB warehouse)."""
