"""The ingest flow pulls every channel with a configured API; one failing channel fails the run last."""

from pathlib import Path

import duckdb
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

import flows.ingest
from flows.extract import ChannelsFailed
from tests.flows.extract.fake_apis import FakeApi, make_channel
from transforms.channels import load_channels

pytestmark = pytest.mark.flows


def test_a_failing_pull_does_not_stop_the_files_or_the_other_pulls(
    workspace: Path, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    healthy = make_channel("wildberries", {"id": "wb_api"}, base_url_env="OTKLIK_TEST_WB_URL")
    refused = make_channel(
        "zendesk", {"id": "zd_api", "credentials_env": "OTKLIK_TEST_ZD_TOKEN"}, auth="bearer", base_url_env="ZD_URL"
    )
    absent = make_channel("ozon", {"id": "oz_api"}, base_url_env="OTKLIK_TEST_UNSET_URL")
    channels = (*load_channels(), refused, healthy, absent)
    monkeypatch.setattr(flows.ingest, "load_channels", lambda: channels)
    monkeypatch.setattr(flows.ingest, "get_channel", {c.id: c for c in channels}.__getitem__)
    for name in ("OTKLIK_TEST_WB_URL", "ZD_URL"):
        monkeypatch.setenv(name, httpserver.url_for("/"))
    monkeypatch.delenv("OTKLIK_TEST_UNSET_URL", raising=False)
    monkeypatch.setenv("OTKLIK_TEST_ZD_TOKEN", "zd-token-not-in-logs")
    wb = FakeApi("wildberries", [])
    wb.add(3)
    httpserver.expect_request("/api/v1/feedbacks").respond_with_handler(wb.handle)
    zd = FakeApi("zendesk", [], failures=[Response("no", status=401) for _ in range(5)])
    httpserver.expect_request("/api/v2/tickets.json").respond_with_handler(zd.handle)

    with pytest.raises(ChannelsFailed, match=r"\['zd_api'\].*HTTP 401") as caught:
        flows.ingest.ingest_channels(landing=str(workspace / "landing"))
    assert "zd-token-not-in-logs" not in str(caught.value)
    assert len(zd.requests) == 1, "a refused request is not retried, neither by tenacity nor by Prefect"
    with duckdb.connect(str(workspace / "w.duckdb"), read_only=True) as con:
        loaded = dict(con.execute("select channel_id, count(*) from raw.channel_payloads group by all").fetchall())
        (state,) = con.execute("select state from audit.runs").fetchone()
    assert loaded["wb_api"] == 3 and "zd_api" not in loaded
    assert {"nps_email_survey", "crm_case_events"} <= set(loaded)  # the landed files still loaded
    assert state == "failed"
