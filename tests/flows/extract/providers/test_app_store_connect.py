"""app_store_reviews pulled as shipped from a loopback App Store Connect API.

The server follows Apple's documentation (its docstring cites it): ``GET /v1/apps/{id}/
customerReviews?sort=-createdDate&limit=``, JSON:API pages with a full ``links.next`` URL, a bearer
JWT it verifies with the key's public half (ES256, ``kid``, ``typ``, ``iss``, ``aud``, ``exp`` at most
20 minutes after ``iat``), and the documented error bodies (401 NOT_AUTHORIZED, 429 RATE_LIMIT_EXCEEDED).
"""

import base64
import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from flows.extract.http_fetch import PullError
from flows.extract.providers.app_store_connect import Mark
from tests.flows.extract.providers.conftest import cursor_chain, pull_as_shipped, staged_payloads
from warehouse.ingest import channel_cursor

CHANNEL = "app_store_reviews"
APP_ID = "1478925364"  # the shipped entry's options.app_id
KEY_ID = "2X9R4HXF34"
ISSUER_ID = "57246542-96fe-1a63-e053-0824d011072a"
PATH = f"/v1/apps/{APP_ID}/customerReviews"
PACIFIC = ZoneInfo("America/Los_Angeles")
RENEW = "environment variable OTKLIK_APP_STORE_CONNECT_KEY or Prefect Secret block 'app-store-connect-key'"


def _pem(key: ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.fixture(scope="module")
def signing_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def p8(signing_key: ec.EllipticCurvePrivateKey) -> str:
    """The planted secret: the .p8 file's text."""
    return _pem(signing_key)


@pytest.fixture(autouse=True)
def account_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTKLIK_APP_STORE_CONNECT_KEY_ID", KEY_ID)
    monkeypatch.setenv("OTKLIK_APP_STORE_CONNECT_ISSUER_ID", ISSUER_ID)


def review(n: int, created: datetime) -> dict[str, Any]:
    rid = f"00000028-b08c-0014-{n:04x}-fbd500000000"
    return {
        "type": "customerReviews",
        "id": rid,
        "attributes": {
            "rating": 1 + n % 5,
            "title": f"Отзыв {n}",
            "body": f"Приложение вылетает при оплате, заказ {n}",
            "reviewerNickname": f"user{n}",
            "createdDate": created.astimezone(PACIFIC).isoformat(timespec="seconds"),  # as Apple writes it
            "territory": "RUS",
        },
        "relationships": {
            "response": {
                "links": {"related": f"https://api.appstoreconnect.apple.com/v1/customerReviews/{rid}/response"}
            }
        },
        "links": {"self": f"https://api.appstoreconnect.apple.com/v1/customerReviews/{rid}"},
    }


class AppStoreConnect:
    """App Store Connect API customer reviews on loopback.

    Follows https://developer.apple.com/documentation/appstoreconnectapi/get-v1-apps-_id_-customerreviews
    (path, ``sort``, ``limit`` at most 200, JSON:API ``data`` / ``links.next`` / ``meta.paging``),
    https://developer.apple.com/documentation/appstoreconnectapi/generating-tokens-for-api-requests
    (the bearer JWT it verifies) and
    https://developer.apple.com/documentation/appstoreconnectapi/interpreting-and-handling-errors,
    https://developer.apple.com/documentation/appstoreconnectapi/identifying-rate-limits (``errors``
    bodies, 401 NOT_AUTHORIZED, 429 RATE_LIMIT_EXCEEDED, the ``X-Rate-Limit`` header). The next page
    is an opaque ``cursor`` query parameter inside ``links.next``.
    """

    def __init__(self, server: HTTPServer, public_key: ec.EllipticCurvePublicKey) -> None:
        self.url = server.url_for("").rstrip("/")
        self.public_key = public_key
        self.reviews: list[dict[str, Any]] = []  # newest first
        self.requests: list[Request] = []
        self.tokens: list[dict[str, Any]] = []
        self.failures: list[Response] = []
        self.page_override: dict[int, Response] = {}  # offset → answer (a broken page)
        self.next_override: str | None = None
        self.empty_at: int | None = None  # an offset answered with an empty page that still links on
        self.echo_token = False  # pages quote the request's token in links.self
        server.expect_request(PATH).respond_with_handler(self.handle)

    def add(self, count: int, start: datetime) -> None:
        """``count`` reviews, one a minute after ``start``, newest first like the API."""
        first = len(self.reviews)
        added = [review(first + i, start + timedelta(minutes=i)) for i in range(count)]
        self.reviews = sorted(added, key=lambda r: _utc(r), reverse=True) + self.reviews

    def handle(self, request: Request) -> Response:
        self.requests.append(request)
        problem = self._refuse(request)
        if problem is not None:
            return problem
        if self.failures:
            return self.failures.pop(0)
        if request.args.get("sort") != "-createdDate":
            return _error(400, "PARAMETER_ERROR.INVALID", "sort must be -createdDate here")
        limit = int(request.args.get("limit", "50"))
        if not 1 <= limit <= 200:
            return _error(400, "PARAMETER_ERROR.INVALID", f"limit {limit} is not 1..200")
        cursor = base64.urlsafe_b64decode(request.args["cursor"]).decode() if "cursor" in request.args else "0"
        offset = int(cursor.rstrip("."))
        if offset in self.page_override:
            return self.page_override.pop(offset)
        if offset == self.empty_at:  # no data, and a next link (another cursor) to the same offset
            self.empty_at = None
            return self._page([], offset, limit, request, cursor=f"{offset}.")
        return self._page(self.reviews[offset : offset + limit], offset + limit, limit, request)

    def _refuse(self, request: Request) -> Response | None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        try:
            assert scheme == "Bearer"
            header = jwt.get_unverified_header(token)
            assert header == {"alg": "ES256", "kid": KEY_ID, "typ": "JWT"}
            claims = jwt.decode(
                token, self.public_key, algorithms=["ES256"], audience="appstoreconnect-v1", issuer=ISSUER_ID,
                options={"require": ["iss", "iat", "exp", "aud"]},
            )  # fmt: skip
            assert 0 < claims["exp"] - claims["iat"] <= 20 * 60
        except (AssertionError, jwt.PyJWTError):
            return _error(
                401,
                "NOT_AUTHORIZED",
                "Authentication credentials are missing or invalid.",
                f"Provide a properly configured and signed bearer token ({token[:40]}...)",  # echoes the token
            )
        self.tokens.append(claims)
        return None

    def _page(
        self, data: list[dict[str, Any]], after: int, limit: int, request: Request, cursor: str | None = None
    ) -> Response:
        links = {"self": request.url}
        if self.echo_token:
            links["self"] += "&token=" + request.headers["Authorization"].removeprefix("Bearer ")
        if after < len(self.reviews):
            token = base64.urlsafe_b64encode((cursor or str(after)).encode()).decode()
            links["next"] = self.next_override or f"{self.url}{PATH}?cursor={token}&limit={limit}&sort=-createdDate"
        document = {"data": data, "links": links, "meta": {"paging": {"total": len(self.reviews), "limit": limit}}}
        return Response(
            json.dumps(document, ensure_ascii=False),
            headers={"X-Rate-Limit": "user-hour-lim:3600;user-hour-rem:3500;"},
            content_type="application/json",
        )


def _utc(r: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(r["attributes"]["createdDate"]).astimezone(UTC)


def _error(status: int, code: str, title: str, detail: str = "", headers: dict[str, str] | None = None) -> Response:
    body = {"errors": [{"status": str(status), "code": code, "title": title, "detail": detail or title}]}
    return Response(json.dumps(body), status=status, headers=headers or {}, content_type="application/json")


START = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def api(httpserver: HTTPServer, signing_key: ec.EllipticCurvePrivateKey) -> AppStoreConnect:
    return AppStoreConnect(httpserver, signing_key.public_key())


class Waits(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def _pull(wh: duckdb.DuckDBPyConnection, archive: Path, api: AppStoreConnect, p8: str, **kwargs: Any) -> Any:
    return pull_as_shipped(wh, CHANNEL, archive, api.url, secret=p8, **kwargs)


def _landed_ids(wh: duckdb.DuckDBPyConnection) -> list[str]:
    return [record["id"] for record in staged_payloads(wh, CHANNEL)]


def _nothing_landed(wh: duckdb.DuckDBPyConnection) -> bool:
    return wh.execute("select count(*) from raw.batches where channel_id = ?", [CHANNEL]).fetchone()[0] == 0


# ------------------------------------------------------------------------------ paging, cursor


def test_walks_links_next_newest_first_and_commits_the_cursor_with_the_last_page(
    wh: duckdb.DuckDBPyConnection, archive: Path, api: AppStoreConnect, p8: str
) -> None:
    api.add(450, START)
    summary = _pull(wh, archive, api, p8)
    assert (summary.pages_landed, summary.records) == (3, 450)
    assert [len(r.args) for r in api.requests] == [2, 3, 3]  # sort+limit, then the links.next URLs
    assert api.requests[0].args.to_dict() == {"sort": "-createdDate", "limit": "200"}
    assert len(_landed_ids(wh)) == len(set(_landed_ids(wh))) == 450
    newest = api.reviews[0]
    cursor = json.loads(channel_cursor(wh, CHANNEL))
    assert cursor == {"created": _utc(newest).isoformat().replace("+00:00", "Z"), "ids": [newest["id"]]}
    # the cursor moves only when the walk ends: the first two pages keep the cursor the pull began at
    assert cursor_chain(wh, CHANNEL) == [(None, None), (None, None), (None, channel_cursor(wh, CHANNEL))]
    assert len(api.tokens) == 3


def test_a_second_pull_lands_only_the_new_reviews_and_a_third_nothing(
    wh: duckdb.DuckDBPyConnection, archive: Path, api: AppStoreConnect, p8: str
) -> None:
    api.add(250, START)
    _pull(wh, archive, api, p8)
    first = channel_cursor(wh, CHANNEL)
    api.add(3, START + timedelta(days=2))
    api.requests.clear()
    summary = _pull(wh, archive, api, p8)
    assert (summary.pages_landed, summary.records) == (1, 3)
    assert len(api.requests) == 1  # page 1 reaches the cursor: the walk stops there
    ids = _landed_ids(wh)
    assert len(ids) == len(set(ids)) == 253  # nothing landed twice
    second = channel_cursor(wh, CHANNEL)
    assert cursor_chain(wh, CHANNEL)[-1] == (first, second) and json.loads(second)["ids"] == [api.reviews[0]["id"]]

    api.requests.clear()
    summary = _pull(wh, archive, api, p8)
    assert (summary.pages_landed, summary.records, len(api.requests)) == (0, 0, 1)
    assert channel_cursor(wh, CHANNEL) == second


def test_a_review_created_in_the_cursors_second_is_new_unless_landed() -> None:
    at = datetime(2026, 10, 5, 11, 3, 27, tzinfo=UTC)
    mark = Mark(at, frozenset({"a"}))
    assert (
        not mark.is_before(at, "a") and mark.is_before(at, "b") and not mark.is_before(at - timedelta(seconds=1), "c")
    )
    assert mark.moved_to(at, "b") == Mark(at, frozenset({"a", "b"}))
    assert Mark.parse(mark.dump(), CHANNEL) == mark


def test_an_empty_page_in_the_middle_does_not_end_the_walk(
    wh: duckdb.DuckDBPyConnection, archive: Path, api: AppStoreConnect, p8: str
) -> None:
    api.add(300, START)
    api.empty_at = 200  # page 2 answers no data, and links on to the rest
    summary = _pull(wh, archive, api, p8)
    assert summary.records == 300 and len(api.requests) == 3
    assert len(set(_landed_ids(wh))) == 300


# ------------------------------------------------------------------------------ auth


def test_a_key_apple_does_not_know_is_refused_naming_the_secret(
    wh: duckdb.DuckDBPyConnection, archive: Path, api: AppStoreConnect
) -> None:
    api.add(5, START)
    other = _pem(ec.generate_private_key(ec.SECP256R1()))
    with pytest.raises(PullError) as caught:
        _pull(wh, archive, api, other)
    message = str(caught.value)
    assert "HTTP 401" in message and RENEW in message and "OTKLIK_APP_STORE_CONNECT_KEY_ID" in message
    assert "the cursor has not moved" in message
    assert _nothing_landed(wh) and channel_cursor(wh, CHANNEL) is None


def test_a_secret_that_is_not_a_p8_key_fails_before_any_request(
    wh: duckdb.DuckDBPyConnection, archive: Path, api: AppStoreConnect
) -> None:
    with pytest.raises(PullError, match="not an App Store Connect private key") as caught:
        _pull(wh, archive, api, "-----BEGIN PRIVATE KEY-----\nnot-a-key\n-----END PRIVATE KEY-----\n")
    assert "not-a-key" not in str(caught.value) and api.requests == []


def test_the_key_id_and_issuer_come_from_the_environment(
    wh: duckdb.DuckDBPyConnection, archive: Path, api: AppStoreConnect, p8: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OTKLIK_APP_STORE_CONNECT_ISSUER_ID")
    with pytest.raises(PullError, match="OTKLIK_APP_STORE_CONNECT_ISSUER_ID"):
        _pull(wh, archive, api, p8)
    assert api.requests == []


def test_no_token_crosses_the_network_in_clear_text(wh: duckdb.DuckDBPyConnection, archive: Path, p8: str) -> None:
    with pytest.raises(PullError, match="must be an https:// URL"):
        pull_as_shipped(wh, CHANNEL, archive, "http://api.appstoreconnect.example", secret=p8)


def test_links_next_to_another_host_is_not_followed(
    wh: duckdb.DuckDBPyConnection, archive: Path, api: AppStoreConnect, p8: str
) -> None:
    api.add(250, START)
    api.next_override = "https://elsewhere.example/v1/apps/1/customerReviews?cursor=MjAw"
    with pytest.raises(PullError, match="not followed"):
        _pull(wh, archive, api, p8)
    assert len(api.requests) == 1 and channel_cursor(wh, CHANNEL) is None


# ------------------------------------------------------------------------------ faults


@pytest.mark.parametrize(("headers", "wait"), [({"Retry-After": "7"}, 7.0), ({}, None)], ids=["retry-after", "none"])
def test_rate_limit_is_waited_out(
    wh: duckdb.DuckDBPyConnection, archive: Path, api: AppStoreConnect, p8: str, headers: dict, wait: float | None
) -> None:
    api.add(5, START)
    api.failures.append(_error(429, "RATE_LIMIT_EXCEEDED", "The request rate limit has been reached.", headers=headers))
    waits = Waits()
    summary = _pull(wh, archive, api, p8, sleep=waits)
    assert summary.records == 5 and len(waits) == 1
    assert waits[0] == wait if wait is not None else 0 < waits[0] <= 3


def test_a_server_error_then_success(
    wh: duckdb.DuckDBPyConnection, archive: Path, api: AppStoreConnect, p8: str
) -> None:
    api.add(5, START)
    api.failures += [_error(500, "UNEXPECTED_ERROR", "An unexpected error occurred."), _error(503, "UNAVAILABLE", "x")]
    assert _pull(wh, archive, api, p8).records == 5 and len(api.requests) == 3


def test_a_timeout_is_retried(wh: duckdb.DuckDBPyConnection, archive: Path, api: AppStoreConnect, p8: str) -> None:
    api.add(5, START)
    transport = _TimeoutFirst()
    with httpx.Client(transport=transport) as client:
        assert _pull(wh, archive, api, p8, client=client).records == 5
    assert transport.timed_out == 1


def test_a_page_that_is_not_json_is_quarantined_and_the_cursor_stays(
    wh: duckdb.DuckDBPyConnection, archive: Path, api: AppStoreConnect, p8: str
) -> None:
    api.add(250, START)
    api.page_override[200] = Response("<html>Service Unavailable</html>", content_type="text/html")
    with pytest.raises(PullError, match="not a page"):
        _pull(wh, archive, api, p8)
    reasons = wh.execute("select reason from quarantine.files where channel_id = ?", [CHANNEL]).fetchall()
    assert reasons == [("broken_json",)]
    # page 1 waits for the next page (the last landed page carries the cursor): nothing landed
    assert channel_cursor(wh, CHANNEL) is None and _landed_ids(wh) == []

    summary = _pull(wh, archive, api, p8)  # the next pull walks again from page 1
    assert (summary.pages_landed, summary.records) == (2, 250)
    assert len(set(_landed_ids(wh))) == len(_landed_ids(wh)) == 250 and channel_cursor(wh, CHANNEL) is not None


def test_a_next_link_that_repeats_stops_the_pull(
    wh: duckdb.DuckDBPyConnection, archive: Path, api: AppStoreConnect, p8: str
) -> None:
    api.add(450, START)
    api.next_override = f"{api.url}{PATH}?cursor=MjAw&limit=200&sort=-createdDate"  # always offset 200
    with pytest.raises(PullError, match=r"links\.next repeats"):
        _pull(wh, archive, api, p8)
    assert channel_cursor(wh, CHANNEL) is None


def test_the_key_and_the_token_never_show(
    wh: duckdb.DuckDBPyConnection,
    archive: Path,
    api: AppStoreConnect,
    p8: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    api.add(5, START)
    api.echo_token = True  # the page quotes the token (links.self): it lands as ***
    api.failures.append(_error(503, "UNAVAILABLE", "down"))  # a retry logs the request
    _pull(wh, archive, api, p8)
    token = api.requests[-1].headers["Authorization"].removeprefix("Bearer ")
    assert "***" in _archived(archive)
    other = _pem(ec.generate_private_key(ec.SECP256R1()))
    with pytest.raises(PullError) as refused:
        _pull(wh, archive, api, other)  # a 401 whose detail quotes the refused token
    texts = {
        "message": str(refused.value),
        "logs": caplog.text,
        "warehouse": _raw_text(wh),
        "archive": _archived(archive),
    }
    for planted in (p8, other, token):
        pieces = [line for line in planted.splitlines() if len(line) >= 8 and "-----" not in line]
        pieces += [planted[i : i + 24] for i in range(0, len(planted) - 24, 12) if "-----" not in planted[i : i + 24]]
        for where, text in texts.items():
            assert not [piece for piece in pieces if piece in text], where


def _raw_text(con: duckdb.DuckDBPyConnection) -> str:
    tables = con.execute(
        "select table_schema, table_name from information_schema.tables where table_schema in ('raw', 'quarantine')"
    ).fetchall()
    return "\n".join(repr(con.execute(f'select * from "{s}"."{t}"').fetchall()) for s, t in tables)


def _archived(archive: Path) -> str:
    files = [path.read_bytes().decode("utf-8", "replace") for path in archive.rglob("*") if path.is_file()]
    assert files
    return "\n".join(files)


class _TimeoutFirst(httpx.HTTPTransport):
    def __init__(self) -> None:
        super().__init__()
        self.timed_out = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not self.timed_out:
            self.timed_out += 1
            raise httpx.ReadTimeout("timed out", request=request)
        return super().handle_request(request)
