"""The head of customer service's monthly sample checks: rules, the draw, the workbook and verdicts."""

from transforms.qa.config import SAMPLING_PATH, SamplingRules, load_sampling_rules
from transforms.qa.sample import SAMPLE_COLUMNS, draw_sample, sample_key, sample_size
from transforms.qa.verdicts import VerdictFileError, parse_verdicts, read_verdict_file

__all__ = [
    "SAMPLE_COLUMNS",
    "SAMPLING_PATH",
    "SamplingRules",
    "VerdictFileError",
    "draw_sample",
    "load_sampling_rules",
    "parse_verdicts",
    "read_verdict_file",
    "sample_key",
    "sample_size",
]
