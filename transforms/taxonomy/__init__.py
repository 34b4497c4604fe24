from transforms.taxonomy.taxonomy import (
    SLA_CLASSES,
    TAXONOMY_PATH,
    TYPE_KINDS,
    UNCLASSIFIED_TYPE_ID,
    FeedbackType,
    load_feedback_types,
    parse_feedback_types,
    taxonomy_version,
)

__all__ = [
    "SLA_CLASSES",
    "TAXONOMY_PATH",
    "TYPE_KINDS",
    "UNCLASSIFIED_TYPE_ID",
    "FeedbackType",
    "load_feedback_types",
    "parse_feedback_types",
    "taxonomy_version",
]
