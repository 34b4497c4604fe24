from transforms.sla.clock import CALENDAR_24X7, ClockViolation, due_at, elapsed_minutes
from transforms.sla.policies import (
    POLICIES_PATH,
    SLA_POLICY_COLUMNS,
    Calendar,
    PoliciesFile,
    Policy,
    PolicyRule,
    load_policies,
    load_policies_file,
    parse_policies,
    policies_frame,
)

__all__ = [
    "CALENDAR_24X7",
    "POLICIES_PATH",
    "SLA_POLICY_COLUMNS",
    "Calendar",
    "ClockViolation",
    "PoliciesFile",
    "Policy",
    "PolicyRule",
    "due_at",
    "elapsed_minutes",
    "load_policies",
    "load_policies_file",
    "parse_policies",
    "policies_frame",
]
