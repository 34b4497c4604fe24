"""Expectations for the core layer: one suite module per table, plus assert_*.sql checks."""
