"""Adapters at the edge: Kafka, PostgreSQL, Parquet, Redis, and the embedded launchers."""
