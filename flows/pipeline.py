"""The main job: ingest every channel, build and check the warehouse, write the month's review."""

from prefect import flow

from flows.build_warehouse import build_warehouse
from flows.ingest import ingest_channels
from flows.review import monthly_review


@flow(name="otklik-pipeline")
def otklik_pipeline(month: str, as_of: str | None = None, landing: str | None = None) -> dict:
    ingested = ingest_channels(landing=landing)
    built = build_warehouse(as_of=as_of)
    review = monthly_review(month)
    return {"ingest": ingested, "build": built, "review": review}
