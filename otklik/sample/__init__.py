"""Deterministic sample data: a month of native-format exports for every registered channel."""

from otklik.sample.generate import generate_landing
from otklik.sample.model import BadRecord, ChannelOutput, GenerationSummary

__all__ = ["BadRecord", "ChannelOutput", "GenerationSummary", "generate_landing"]
