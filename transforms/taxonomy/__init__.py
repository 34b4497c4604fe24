from transforms.taxonomy.taxonomy import (
    TAXONOMY_PATH,
    UNCLASSIFIED_TYPE_ID,
    FeedbackType,
    load_feedback_types,
    parse_feedback_types,
)

__all__ = ["TAXONOMY_PATH", "UNCLASSIFIED_TYPE_ID", "FeedbackType", "load_feedback_types", "parse_feedback_types"]
