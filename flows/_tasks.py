"""Shared plumbing for flows: the build context from configuration and the environment."""

from datetime import UTC, datetime

from flows.settings import pii_key
from transforms.channels import load_channels
from transforms.dag import BuildContext
from transforms.org import load_org
from transforms.sla import load_policies
from transforms.taxonomy import load_feedback_types


def parse_as_of(as_of: str | None) -> datetime:
    """An ISO timestamp (naive means UTC; any offset is turned to UTC, the zone of every stored time) or,
    when None, now. The value is recorded in the ledger."""
    if as_of is None:
        return datetime.now(UTC).replace(microsecond=0)
    parsed = datetime.fromisoformat(as_of)
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def build_context(as_of: datetime) -> BuildContext:
    org = load_org()
    return BuildContext(
        as_of=as_of,
        reporting_timezone=org.company.reporting_timezone,
        conversation_window_hours=org.company.conversation_window_hours,
        channels=load_channels(),
        org=org,
        feedback_types=load_feedback_types(),
        sla_policies=load_policies(),
        pii_key=pii_key(),
    )
