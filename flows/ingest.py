"""Land new files, then pull new API pages, for every enabled channel (of one schedule group, or all)."""

from dataclasses import asdict
from pathlib import Path

from prefect import State, flow, get_run_logger, task

from flows.extract import PullError, for_each_channel, pull_channel, pullable_channels, resolve_secret
from flows.settings import archive_dir, landing_dir
from transforms.channels import ScheduleGroup, channels_in_group, get_channel, load_channels
from warehouse import connect
from warehouse.ingest import ingest_landing
from warehouse.runs import finish_run, new_run_id, start_run


@task(name="land-files")
def land_files(landing: str, schedule_group: str | None, run_id: str) -> dict:
    channels = load_channels()
    only = {c.id for c in channels_in_group(schedule_group)} if schedule_group else None
    # One group's channels: on a DuckLake other groups' ingests write meanwhile (warehouse/lake.py)
    with connect(channels=only) as con:
        start_run(con, run_id, "ingest-channels", {"schedule_group": schedule_group, "landing": landing})
        try:
            summary = ingest_landing(con, Path(landing), channels, archive_dir=archive_dir(), run_id=run_id, only=only)
        except Exception as exc:
            finish_run(con, run_id, "failed", str(exc))
            raise
        finish_run(con, run_id, "completed")
    return asdict(summary)


def _worth_retrying(task: object, task_run: object, state: State) -> bool:
    """A refused request (401, 404), a stuck cursor or a quarantined page fails the same way again."""
    return not (isinstance(state.data, PullError) and not state.data.retryable)


# Retries here cover an API that stays down past the in-request retries; the cursor committed with
# each landed page makes a retry resume, not repeat.
@task(
    name="pull-channel",
    task_run_name="pull {channel_id}",
    retries=2,
    retry_delay_seconds=[60, 300],
    retry_condition_fn=_worth_retrying,
)
def pull_channel_task(channel_id: str, run_id: str) -> dict:
    channel = get_channel(channel_id)
    secret = resolve_secret(channel)
    with connect(channels=[channel_id]) as con:
        summary = pull_channel(
            con, channel, archive_dir=archive_dir(), run_id=run_id, secret=secret, log=get_run_logger()
        )
    return asdict(summary)


@task(name="record-run-failure")
def record_run_failure(run_id: str, message: str) -> None:
    with connect() as con:
        finish_run(con, run_id, "failed", message)


@flow(name="ingest-channels", flow_run_name="ingest {schedule_group}")
def ingest_channels(schedule_group: ScheduleGroup | None = None, landing: str | None = None) -> dict:
    """Load every new landed file, then pull each channel whose API base URL is configured.

    Pulls run one after another (DuckDB has one writer). A channel that still fails after its
    retries does not stop the others; the run then fails naming it.
    """
    run_id = new_run_id()
    summary = land_files(landing or str(landing_dir()), schedule_group, run_id)
    channels = channels_in_group(schedule_group) if schedule_group else load_channels()
    pullable, skipped = pullable_channels(channels)
    if skipped:
        get_run_logger().info("not pulled (no API base URL; their pages land as files): %s", skipped)
    pulls = for_each_channel([c.id for c in pullable], lambda channel_id: pull_channel_task(channel_id, run_id))
    summary |= {"pulled": pulls.done, "pull_failed": pulls.failed, "pull_skipped": skipped}
    if pulls.failed:
        record_run_failure(run_id, f"pull failed for {sorted(pulls.failed)}")
        pulls.raise_if_failed()
    return summary
