"""otklik/serve.py's REST calls: a busy server (503: its SQLite locked for a moment) is asked again."""

import httpx
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from otklik.serve import Stack


def _stack(httpserver: HTTPServer) -> Stack:
    return Stack(env={}, host=httpserver.host, port=httpserver.port)


def test_a_busy_server_is_asked_again(httpserver: HTTPServer) -> None:
    answers = iter([Response("busy", status=503), Response("busy", status=503), Response('{"id": "run-1"}')])
    httpserver.expect_request("/api/deployments/d/create_flow_run", method="POST").respond_with_handler(
        lambda request: next(answers)
    )

    assert _stack(httpserver).api("POST", "/deployments/d/create_flow_run", {}) == {"id": "run-1"}
    assert len(httpserver.log) == 3


def test_a_refusal_is_not_retried(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/deployments/name/nope").respond_with_data("not found", status=404)

    with pytest.raises(httpx.HTTPStatusError, match="404"):
        _stack(httpserver).api("GET", "/deployments/name/nope")
    assert len(httpserver.log) == 1
