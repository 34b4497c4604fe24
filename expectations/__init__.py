"""Data-quality gates between warehouse layers (GX suites as code plus assert_*.sql checks).

Cheap to import: Great Expectations (~4.5 s) is imported on the first validation, not here.
"""

from expectations.validate import DataQualityError, ExpectationResult, LayerReport, validate_layer

__all__ = ["DataQualityError", "ExpectationResult", "LayerReport", "validate_layer"]
