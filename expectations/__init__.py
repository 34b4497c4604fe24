"""Data-quality gates between warehouse layers (GX suites as code plus assert_*.sql checks).

Cheap to import: Great Expectations (~2 s) is imported on the first validation, not here, or in the
background from ``prepare()`` on (``expectations.preload``).
"""

from expectations.preload import prepare
from expectations.validate import DataQualityError, ExpectationResult, LayerReport, validate_layer

__all__ = ["DataQualityError", "ExpectationResult", "LayerReport", "prepare", "validate_layer"]
