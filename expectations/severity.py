"""Severity tags for expectations: ``meta=critical("why")`` or ``meta=warning("why")``.

A failed *critical* expectation stops the build (``validate_layer`` raises DataQualityError); a
failed *warning* is recorded in ``audit.validation_results`` and shown in the report, nothing more.
Every expectation carries one of the two and a one-line reason, which the error message repeats.
"""

CRITICAL = "critical"
WARNING = "warning"
SEVERITIES = (CRITICAL, WARNING)


def critical(why: str) -> dict[str, str]:
    return {"severity": CRITICAL, "why": why}


def warning(why: str) -> dict[str, str]:
    return {"severity": WARNING, "why": why}
