"""Expectations for the marts layer: one suite module per table, plus assert_*.sql checks."""
