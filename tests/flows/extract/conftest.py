"""Fixtures for the extract tests: an in-memory warehouse, an archive and fake APIs on loopback."""

from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pytest
from pytest_httpserver import HTTPServer

from tests.flows.extract.fake_apis import CHANNELS, FakeApi
from warehouse import connect_memory


@pytest.fixture
def wh() -> Iterator[duckdb.DuckDBPyConnection]:
    con = connect_memory()
    yield con
    con.close()


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    return tmp_path / "archive"


@pytest.fixture
def serve(httpserver: HTTPServer) -> Callable[..., FakeApi]:
    """serve(style, n) → a FakeApi with n records answering on the loopback server."""

    def start(style: str, count: int = 5) -> FakeApi:
        api = FakeApi(style, [])
        api.add(count)
        httpserver.expect_request(CHANNELS[style]["pull"]["path"]).respond_with_handler(api.handle)
        return api

    return start


@pytest.fixture
def base_url(httpserver: HTTPServer) -> str:
    return httpserver.url_for("/")
