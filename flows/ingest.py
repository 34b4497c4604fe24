"""Land new files for every enabled channel (of one schedule group, or all) into raw."""

from dataclasses import asdict
from pathlib import Path

from prefect import flow, task

from flows.settings import archive_dir, landing_dir
from transforms.channels import ScheduleGroup, channels_in_group, load_channels
from warehouse import connect
from warehouse.ingest import ingest_landing
from warehouse.runs import finish_run, new_run_id, start_run


@task(name="land-files")
def land_files(landing: str, schedule_group: str | None, run_id: str) -> dict:
    channels = load_channels()
    only = {c.id for c in channels_in_group(schedule_group)} if schedule_group else None
    with connect() as con:
        start_run(con, run_id, "ingest-channels", {"schedule_group": schedule_group, "landing": landing})
        try:
            summary = ingest_landing(con, Path(landing), channels, archive_dir=archive_dir(), run_id=run_id, only=only)
        except Exception as exc:
            finish_run(con, run_id, "failed", str(exc))
            raise
        finish_run(con, run_id, "completed")
    return asdict(summary)


@flow(name="ingest-channels", flow_run_name="ingest {schedule_group}")
def ingest_channels(schedule_group: ScheduleGroup | None = None, landing: str | None = None) -> dict:
    """Load every new landed file of the group's channels; files already loaded are skipped."""
    return land_files(landing or str(landing_dir()), schedule_group, new_run_id())
