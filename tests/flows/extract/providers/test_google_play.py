"""google_play_reviews pulled as shipped from a loopback Cloud Storage bucket and OAuth token endpoint.

The service account key is generated here (RSA); its ``token_uri`` points at the loopback token
endpoint, which verifies the signed assertion with the key's public half, as Google's does.
"""

import base64
import hashlib
import json
import logging
import re
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import duckdb
import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from flows.extract.http_fetch import PullError
from otklik.sample.marketplaces import PLAY_HEADER
from otklik.sample.writers import csv_bytes
from tests.flows.extract.providers.conftest import cursor_chain, pull_as_shipped, shipped, staged_payloads
from transforms.normalize import normalize_channel
from warehouse.ingest import channel_cursor, reset_cursor
from warehouse.staging import _payloads

CHANNEL = "google_play_reviews"
PACKAGE = "ru.instrumentmarket.app"  # the shipped entry's options.package
BUCKET = "pubsite_prod_rev_01234567890987654321"
EMAIL = "play-reports@otklik-test.iam.gserviceaccount.com"
KEY_ID = "5b0c1e9f3a7d4c2e8f6a0b1c2d3e4f5a6b7c8d9e"
SCOPE = "https://www.googleapis.com/auth/devstorage.read_only"
RENEW = "environment variable OTKLIK_GOOGLE_PLAY_SERVICE_ACCOUNT or Prefect Secret block 'google-play-reports-bucket'"


def _pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(autouse=True)
def bucket_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTKLIK_GOOGLE_PLAY_BUCKET", BUCKET)


def service_account_key(private_key: str, token_uri: str) -> str:
    """A service account's JSON key file, as the Cloud console downloads it."""
    return json.dumps(
        {
            "type": "service_account",
            "project_id": "otklik-test",
            "private_key_id": KEY_ID,
            "private_key": private_key,
            "client_email": EMAIL,
            "client_id": "109876543210987654321",
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": token_uri,
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "client_x509_cert_url": f"https://www.googleapis.com/robot/v1/metadata/x509/{EMAIL}",
        },
        indent=2,
    )


def play_row(n: int, month: str, *, edited: bool = False) -> list[object]:
    submitted = datetime(int(month[:4]), int(month[4:]), 1 + n % 27, 10, n % 60, tzinfo=UTC)
    # an edit comes after the export that held the review: on the 28th, after every review submitted
    updated = submitted.replace(day=28, hour=12) if edited else submitted
    z = "%Y-%m-%dT%H:%M:%SZ"
    text = f"Приложение вылетает при оплате ({n})" + (", после правки: уже лучше" if edited else "")
    return [PACKAGE, 51200, "5.12.0", "ru", f"device{n}", submitted.strftime(z), int(submitted.timestamp() * 1000),
            updated.strftime(z), int(updated.timestamp() * 1000), 1 + n % 5, "", text, "", "", "", ""]  # fmt: skip


def export(month: str, rows: list[list[object]]) -> bytes:
    """A Play Console reviews export: UTF-16 LE with a BOM, "," (the sample generator's writer)."""
    return csv_bytes(PLAY_HEADER, rows, delimiter=",", encoding="utf-16")


def _gcs_error(status: int, reason: str, message: str) -> Response:
    body = {
        "error": {
            "code": status,
            "message": message,
            "errors": [{"message": message, "domain": "global", "reason": reason}],
        }
    }
    return Response(json.dumps(body), status=status, content_type="application/json; charset=UTF-8")


class PlayReportsBucket:
    """The Play Console's reports bucket behind the Cloud Storage JSON API, and Google's token endpoint.

    Follows https://support.google.com/googleplay/android-developer/answer/6135870 (the bucket
    ``pubsite_prod_rev_<id>``, ``reviews/reviews_<package>_<YYYYMM>.csv`` re-exported daily),
    https://cloud.google.com/storage/docs/json_api/v1/objects/list (``prefix``, ``maxResults``,
    ``pageToken`` / ``nextPageToken``; a page may hold fewer items than asked, even none, and still
    a token; ``items`` is absent when empty), https://cloud.google.com/storage/docs/json_api/v1/objects/get
    (``/o/<url-encoded name>?alt=media&generation=``), https://cloud.google.com/storage/docs/json_api/v1/status-codes
    (``{"error": {"code", "message", "errors": [{"reason"}]}}``: 401 authError, 429 rateLimitExceeded)
    and https://developers.google.com/identity/protocols/oauth2/service-account#httprest (``POST
    token_uri`` with the JWT bearer grant; the RS256 assertion's ``iss``, ``scope``, ``aud`` = token_uri,
    ``iat``, ``exp`` at most an hour later, verified with the key's public half; 400 ``invalid_grant``).
    """

    def __init__(self, server: HTTPServer, public_key: rsa.RSAPublicKey) -> None:
        self.url = server.url_for("").rstrip("/")
        self.token_uri = f"{self.url}/token"
        self.public_key = public_key
        self.objects: dict[str, tuple[bytes, int]] = {}  # name → (bytes, generation)
        self.page_size = 2  # the server lists fewer than maxResults, as Cloud Storage may
        self.requests: list[Request] = []
        self.raw_paths: list[str] = []
        self.assertions: list[dict[str, Any]] = []
        self.issued: set[str] = set()
        self.revoked = False
        self.failures: list[Response] = []  # answered to the next bucket requests, in order
        self.listing_answers: dict[int, Response] = {}  # listing page number → answer
        self.empty_page_at: int | None = None  # a listing page with no items and a token
        self.repeat_token = False
        self.corrupt_download = False
        self._generation = 1_700_000_000_000_000
        self._listing_page = 0
        server.expect_request(re.compile(".*")).respond_with_handler(self.handle)

    def put(self, month: str, data: bytes, package: str = PACKAGE) -> None:
        self._generation += 1
        self.objects[f"reviews/reviews_{package}_{month}.csv"] = (data, self._generation)

    def handle(self, request: Request) -> Response:
        self.requests.append(request)
        if request.path == "/token":
            return self._token(request)
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme != "Bearer" or token not in self.issued or self.revoked:
            return _gcs_error(401, "authError", f"Invalid Credentials ({token})")  # quotes the refused token
        if self.failures:
            return self.failures.pop(0)
        raw_path = request.environ["RAW_URI"].split("?", 1)[0]  # as sent: %2F stays encoded
        self.raw_paths.append(raw_path)
        if raw_path == f"/storage/v1/b/{BUCKET}/o":
            return self._list(request)
        found = re.fullmatch(rf"/storage/v1/b/{BUCKET}/o/([^/]+)", raw_path)
        if found and unquote(found[1]) in self.objects and request.args.get("alt") == "media":
            data, generation = self.objects[unquote(found[1])]
            if request.args.get("generation", str(generation)) != str(generation):
                return _gcs_error(404, "notFound", "No such object generation")
            body = data[:-2] if self.corrupt_download else data
            return Response(body, content_type="text/csv; charset=utf-16le")
        return _gcs_error(404, "notFound", f"No such object: {raw_path}")

    def _token(self, request: Request) -> Response:
        form = request.form
        try:
            assert request.method == "POST" and form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
            assert jwt.get_unverified_header(form["assertion"]) == {"alg": "RS256", "kid": KEY_ID, "typ": "JWT"}
            claims = jwt.decode(
                form["assertion"], self.public_key, algorithms=["RS256"], audience=self.token_uri, issuer=EMAIL,
                options={"require": ["iss", "scope", "aud", "iat", "exp"]},
            )  # fmt: skip
            assert claims["scope"] == SCOPE and 0 < claims["exp"] - claims["iat"] <= 3600
        except (AssertionError, KeyError, jwt.PyJWTError):
            body = {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
            return Response(json.dumps(body), status=400, content_type="application/json")
        self.assertions.append(claims)
        token = "ya29.c." + secrets.token_urlsafe(48)
        self.issued.add(token)
        body = {"access_token": token, "expires_in": 3599, "token_type": "Bearer"}
        return Response(json.dumps(body), content_type="application/json; charset=utf-8")

    def _list(self, request: Request) -> Response:
        self._listing_page += 1
        if self._listing_page in self.listing_answers:
            return self.listing_answers.pop(self._listing_page)
        names = sorted(name for name in self.objects if name.startswith(request.args.get("prefix", "")))
        token = base64.b64decode(request.args["pageToken"]).decode() if "pageToken" in request.args else "0"
        start = int(token.rstrip("."))
        size = min(int(request.args.get("maxResults", "1000")), self.page_size)
        if self._listing_page == self.empty_page_at:
            size = 0
        chunk = names[start : start + size]
        listing: dict[str, Any] = {"kind": "storage#objects"}
        if chunk:
            listing["items"] = [self._resource(name) for name in chunk]
        if start + size < len(names):
            after = str(start if self.repeat_token and "pageToken" in request.args else start + size)
            after += "." if size == 0 else ""  # an empty page's token differs from the one that led to it
            listing["nextPageToken"] = base64.b64encode(after.encode()).decode()
        return Response(json.dumps(listing), content_type="application/json; charset=UTF-8")

    def _resource(self, name: str) -> dict[str, Any]:
        data, generation = self.objects[name]
        encoded = name.replace("/", "%2F")
        return {
            "kind": "storage#object",
            "id": f"{BUCKET}/{name}/{generation}",
            "selfLink": f"https://www.googleapis.com/storage/v1/b/{BUCKET}/o/{encoded}",
            "mediaLink": f"https://storage.googleapis.com/download/storage/v1/b/{BUCKET}/o/{encoded}?generation={generation}&alt=media",
            "name": name,
            "bucket": BUCKET,
            "generation": str(generation),
            "metageneration": "1",
            "contentType": "text/csv; charset=utf-16le",
            "storageClass": "STANDARD",
            "size": str(len(data)),
            "md5Hash": base64.b64encode(hashlib.md5(data).digest()).decode(),
            "crc32c": "AAAAAA==",
            "etag": "CJ+Bz9uVvYkDEAE=",
            "timeCreated": "2026-10-02T03:14:07.123Z",
            "updated": "2026-10-02T03:14:07.123Z",
        }

    def downloads(self) -> list[str]:
        return [unquote(p.rsplit("/", 1)[-1]) for p in self.raw_paths if "/o/" in p]


@pytest.fixture
def bucket(httpserver: HTTPServer, rsa_key: rsa.RSAPrivateKey) -> PlayReportsBucket:
    return PlayReportsBucket(httpserver, rsa_key.public_key())


@pytest.fixture
def key(bucket: PlayReportsBucket, rsa_key: rsa.RSAPrivateKey) -> str:
    """The planted secret: the service account's JSON key."""
    return service_account_key(_pem(rsa_key), bucket.token_uri)


MONTHS = ("202608", "202609", "202610")


def _fill(bucket: PlayReportsBucket) -> None:
    for index, month in enumerate(MONTHS):
        bucket.put(month, export(month, [play_row(10 * index + n, month) for n in range(3)]))
    bucket.put("202610", export("202610", [play_row(99, "202610")]), package="ru.instrumentmarket.other")


class Waits(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def _pull(wh: duckdb.DuckDBPyConnection, archive: Path, bucket: PlayReportsBucket, key: str, **kwargs: Any) -> Any:
    return pull_as_shipped(wh, CHANNEL, archive, bucket.url, secret=key, **kwargs)


def _batches(wh: duckdb.DuckDBPyConnection) -> int:
    return wh.execute("select count(*) from raw.batches where channel_id = ?", [CHANNEL]).fetchone()[0]


def _taken(wh: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """The md5Hash taken of each object (the committed cursor, of either form)."""
    cursor = channel_cursor(wh, CHANNEL)
    taken = json.loads(cursor) if cursor else {}
    return {name: value if isinstance(value, str) else value["md5"] for name, value in taken.items()}


def _watermark(wh: duckdb.DuckDBPyConnection, month: str) -> dict[str, Any]:
    cursor = json.loads(channel_cursor(wh, CHANNEL) or "{}")
    return cursor[f"reviews/reviews_{PACKAGE}_{month}.csv"]


def _last_page(wh: duckdb.DuckDBPyConnection) -> bytes:
    path = wh.execute(
        "select archive_path from raw.batches where channel_id = ? order by batch_seq desc limit 1", [CHANNEL]
    ).fetchone()[0]
    return Path(path).read_bytes()


def _rejects(wh: duckdb.DuckDBPyConnection) -> list[str]:
    result = normalize_channel(
        _payloads(wh, CHANNEL), shipped(CHANNEL), pii_key=b"k", as_of=datetime(2026, 11, 1, tzinfo=UTC)
    )
    return sorted(result.rejects["reason"].to_list())


def replied(row: list[object]) -> list[object]:
    """The row once the developer replied: only the Developer Reply columns change."""
    return [*row[:12], "2026-10-20T09:00:00Z", 1792486800000, "Спасибо, исправим", *row[15:]]


def at_millis(n: int, month: str, millis: int) -> list[object]:
    """Review ``n`` last updated at exactly ``millis`` (to tie rows at the watermark)."""
    row = play_row(n, month)
    row[7] = datetime.fromtimestamp(millis / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    row[8] = millis
    return row


# ------------------------------------------------------------------------------ paging, cursor


def test_lists_the_bucket_page_by_page_and_lands_each_month_with_its_cursor(
    wh: duckdb.DuckDBPyConnection, archive: Path, bucket: PlayReportsBucket, key: str
) -> None:
    _fill(bucket)
    summary = _pull(wh, archive, bucket, key)
    assert (summary.pages_landed, summary.records) == (3, 9)
    listings = [r for r in bucket.requests if r.path.endswith("/o")]
    assert [r.args.to_dict() for r in listings] == [
        {"prefix": f"reviews/reviews_{PACKAGE}_", "maxResults": "1000"},
        {"prefix": f"reviews/reviews_{PACKAGE}_", "maxResults": "1000", "pageToken": "Mg=="},
    ]
    assert bucket.downloads() == [f"reviews/reviews_{PACKAGE}_{month}.csv" for month in MONTHS]
    assert all(f"/o/reviews%2Freviews_{PACKAGE}_" in p for p in bucket.raw_paths if "/o/" in p)
    assert len(bucket.assertions) == 1  # one token serves the pull
    names = [f"reviews/reviews_{PACKAGE}_{month}.csv" for month in MONTHS]
    chain = cursor_chain(wh, CHANNEL)
    assert [sorted(json.loads(after)) for _, after in chain] == [names[:1], names[:2], names]
    assert [before for before, _ in chain] == [None, chain[0][1], chain[1][1]]
    assert _taken(wh) == {name: bucket._resource(name)["md5Hash"] for name in names}
    assert all(r["Review Text"].startswith("Приложение вылетает") for r in staged_payloads(wh, CHANNEL))


def test_an_unchanged_month_is_not_downloaded_and_a_reexported_one_lands_again(
    wh: duckdb.DuckDBPyConnection, archive: Path, bucket: PlayReportsBucket, key: str
) -> None:
    _fill(bucket)
    _pull(wh, archive, bucket, key)
    before = channel_cursor(wh, CHANNEL)
    bucket.raw_paths.clear()
    summary = _pull(wh, archive, bucket, key)
    assert (summary.pages_landed, bucket.downloads(), channel_cursor(wh, CHANNEL)) == (0, [], before)

    # the next day's export of October: review 20 edited, review 23 new, 21 and 22 unchanged
    rows = [play_row(20, "202610", edited=True), play_row(21, "202610"), play_row(22, "202610"), play_row(23, "202610")]
    bucket.put("202610", export("202610", rows))
    summary = _pull(wh, archive, bucket, key)
    assert (summary.pages_landed, summary.records) == (1, 2)  # only the edit and the new review land
    assert bucket.downloads() == [f"reviews/reviews_{PACKAGE}_202610.csv"]
    assert cursor_chain(wh, CHANNEL)[-1][0] == before and channel_cursor(wh, CHANNEL) != before

    # staging keeps one row per review: the edit as the newer version, and nothing is a duplicate
    result = normalize_channel(
        _payloads(wh, CHANNEL), shipped(CHANNEL), pii_key=b"k", as_of=datetime(2026, 11, 1, tzinfo=UTC)
    )
    assert result.rows.height == 10
    edited = result.rows.filter(result.rows["body_text"].str.contains("после правки"))
    assert edited.height == 1 and edited["is_edited"].to_list() == [True]
    assert result.history.height == 1  # the review as first written
    assert result.rejects["reason"].to_list() == []


def test_a_reexport_lands_only_its_new_and_edited_rows_in_googles_format(
    wh: duckdb.DuckDBPyConnection, archive: Path, bucket: PlayReportsBucket, key: str
) -> None:
    first = [play_row(n, "202610") for n in range(40, 45)]
    bucket.put("202610", export("202610", first))
    summary = _pull(wh, archive, bucket, key)
    assert (summary.pages_landed, summary.records) == (1, 5)  # a first pull lands every row
    assert _last_page(wh) == export("202610", first)  # the object itself
    newest = max(int(row[8]) for row in first)
    assert _watermark(wh, "202610")["since"] == newest

    # two new reviews (one with a comma, quote and new line), review 41 edited, the rest unchanged
    new = [play_row(45, "202610"), play_row(46, "202610")]
    new[1][11] = 'Плохо, "очень"\nплохо'
    edited = play_row(41, "202610", edited=True)
    bucket.put("202610", export("202610", [first[0], edited, *first[2:], *new]))
    summary = _pull(wh, archive, bucket, key)
    assert (summary.pages_landed, summary.records) == (1, 3)
    page = _last_page(wh)
    assert page[:2] == b"\xff\xfe" and page == export("202610", [edited, *new])  # header + those rows, as Google writes
    texts = [r["Review Text"] for r in staged_payloads(wh, CHANNEL)[5:]]
    assert texts == [edited[11], new[0][11], 'Плохо, "очень"\nплохо']
    assert _rejects(wh) == []  # no duplicate: nothing landed twice


def test_a_developer_reply_alone_lands_nothing_and_the_new_md5_is_kept(
    wh: duckdb.DuckDBPyConnection, archive: Path, bucket: PlayReportsBucket, key: str
) -> None:
    rows = [play_row(n, "202610") for n in range(3)]
    bucket.put("202610", export("202610", rows))
    _pull(wh, archive, bucket, key)
    records = len(staged_payloads(wh, CHANNEL))
    watermark = _watermark(wh, "202610")

    bucket.put("202610", export("202610", [rows[0], replied(rows[1]), rows[2]]))  # same last-update millis
    summary = _pull(wh, archive, bucket, key)
    assert (summary.records, len(staged_payloads(wh, CHANNEL))) == (0, records)
    name = f"reviews/reviews_{PACKAGE}_202610.csv"
    assert _taken(wh)[name] == bucket._resource(name)["md5Hash"]
    assert {k: v for k, v in _watermark(wh, "202610").items() if k != "md5"} == {
        k: v for k, v in watermark.items() if k != "md5"
    }
    bucket.raw_paths.clear()
    assert _pull(wh, archive, bucket, key).pages_landed == 0 and bucket.downloads() == []  # not downloaded again

    # another reply-only re-export: its header-only page was landed once, so it is skipped; the cursor moves on
    bucket.put("202610", export("202610", [replied(rows[0]), replied(rows[1]), rows[2]]))
    summary = _pull(wh, archive, bucket, key)
    assert (summary.pages_landed, summary.records) == (0, 0)
    assert _taken(wh)[name] == bucket._resource(name)["md5Hash"] and _rejects(wh) == []


def test_rows_tied_at_the_watermark_millisecond_are_neither_lost_nor_repeated(
    wh: duckdb.DuckDBPyConnection, archive: Path, bucket: PlayReportsBucket, key: str
) -> None:
    tie = 1_791_000_000_123
    a, b, c = at_millis(1, "202610", tie), at_millis(2, "202610", tie), at_millis(3, "202610", tie)
    older = at_millis(4, "202610", tie - 1)
    bucket.put("202610", export("202610", [older, a]))
    _pull(wh, archive, bucket, key)
    assert _watermark(wh, "202610")["since"] == tie and len(_watermark(wh, "202610")["ids"]) == 1

    bucket.put("202610", export("202610", [older, a, b]))  # b arrived in the same millisecond as a
    assert _pull(wh, archive, bucket, key).records == 1
    assert _last_page(wh) == export("202610", [b])
    assert len(_watermark(wh, "202610")["ids"]) == 2

    bucket.put("202610", export("202610", [older, a, b, c]))
    assert _pull(wh, archive, bucket, key).records == 1
    assert _last_page(wh) == export("202610", [c])
    devices = [r["Device"] for r in staged_payloads(wh, CHANNEL)]
    assert sorted(devices) == ["device1", "device2", "device3", "device4"] and _rejects(wh) == []


def test_a_cursor_of_the_earlier_form_still_reads(
    wh: duckdb.DuckDBPyConnection, archive: Path, bucket: PlayReportsBucket, key: str
) -> None:
    _fill(bucket)
    _pull(wh, archive, bucket, key)
    names = [f"reviews/reviews_{PACKAGE}_{month}.csv" for month in MONTHS]
    earlier = json.dumps({name: bucket._resource(name)["md5Hash"] for name in names}, sort_keys=True)
    reset_cursor(wh, CHANNEL, earlier, run_id="earlier-installation")

    bucket.raw_paths.clear()
    assert _pull(wh, archive, bucket, key).pages_landed == 0 and bucket.downloads() == []  # md5s are known
    rows = [play_row(20, "202610"), play_row(21, "202610"), play_row(22, "202610"), play_row(23, "202610")]
    bucket.put("202610", export("202610", rows))
    summary = _pull(wh, archive, bucket, key)
    assert (summary.pages_landed, summary.records) == (1, 4)  # no watermark yet: the object lands whole, once
    assert _watermark(wh, "202610")["since"] == int(rows[3][8])
    assert isinstance(_watermark(wh, "202610"), dict)
    assert _watermark(wh, "202608") == {"md5": bucket._resource(names[0])["md5Hash"]}  # still no watermark

    bucket.put("202610", export("202610", [*rows, play_row(24, "202610")]))
    assert _pull(wh, archive, bucket, key).records == 1  # then the new form takes over


def test_a_cursor_of_another_kind_is_refused(
    wh: duckdb.DuckDBPyConnection, archive: Path, bucket: PlayReportsBucket, key: str
) -> None:
    _fill(bucket)
    reset_cursor(wh, CHANNEL, json.dumps({"since": "2026-10-01T00:00:00Z", "ids": []}), run_id="other")
    with pytest.raises(PullError, match="not a map of object names"):
        _pull(wh, archive, bucket, key)


def test_an_empty_listing_page_with_a_token_does_not_end_the_listing(
    wh: duckdb.DuckDBPyConnection, archive: Path, bucket: PlayReportsBucket, key: str
) -> None:
    _fill(bucket)
    bucket.page_size, bucket.empty_page_at = 1, 2  # page 2 lists no items, and a token to page 3
    assert _pull(wh, archive, bucket, key).pages_landed == 3


def test_a_repeated_page_token_stops_the_pull_after_what_landed(
    wh: duckdb.DuckDBPyConnection, archive: Path, bucket: PlayReportsBucket, key: str
) -> None:
    _fill(bucket)
    bucket.page_size, bucket.repeat_token = 1, True  # page 2 announces its own token again
    with pytest.raises(PullError, match="nextPageToken repeats"):
        _pull(wh, archive, bucket, key)
    assert len(_taken(wh)) == _batches(wh) == 2  # the months of the two pages listed landed, with their cursor


# ------------------------------------------------------------------------------ auth


def test_a_key_google_does_not_know_is_refused_naming_the_secret(
    wh: duckdb.DuckDBPyConnection, archive: Path, bucket: PlayReportsBucket
) -> None:
    _fill(bucket)
    stranger = service_account_key(
        _pem(rsa.generate_private_key(public_exponent=65537, key_size=2048)), bucket.token_uri
    )
    with pytest.raises(PullError) as caught:
        _pull(wh, archive, bucket, stranger)
    message = str(caught.value)
    assert "HTTP 400" in message and "invalid_grant" in message and RENEW in message
    assert [r.path for r in bucket.requests] == ["/token"] and _batches(wh) == 0 and channel_cursor(wh, CHANNEL) is None


def test_a_refused_access_token_names_the_secret_and_the_cursor_stays(
    wh: duckdb.DuckDBPyConnection, archive: Path, bucket: PlayReportsBucket, key: str
) -> None:
    _fill(bucket)
    bucket.revoked = True
    with pytest.raises(PullError) as caught:
        _pull(wh, archive, bucket, key)
    assert "HTTP 401" in str(caught.value) and RENEW in str(caught.value) and "has not moved" in str(caught.value)
    assert _batches(wh) == 0 and channel_cursor(wh, CHANNEL) is None


def test_the_key_may_come_base64_encoded(
    wh: duckdb.DuckDBPyConnection, archive: Path, bucket: PlayReportsBucket, key: str
) -> None:
    _fill(bucket)
    assert _pull(wh, archive, bucket, base64.b64encode(key.encode()).decode()).pages_landed == 3


@pytest.mark.parametrize("what", ["token_uri", "base_url"])
def test_credentials_never_go_over_plain_http_off_this_machine(
    wh: duckdb.DuckDBPyConnection, archive: Path, bucket: PlayReportsBucket, rsa_key: rsa.RSAPrivateKey, what: str
) -> None:
    remote = "http://oauth2.example.com/token"
    secret = service_account_key(_pem(rsa_key), remote if what == "token_uri" else bucket.token_uri)
    base = "http://storage.example.com" if what == "base_url" else bucket.url
    with pytest.raises(PullError, match="must be an https:// URL"):
        pull_as_shipped(wh, CHANNEL, archive, base, secret=secret)
    assert bucket.requests == []


def test_a_secret_that_is_not_a_key_is_named_not_shown(
    wh: duckdb.DuckDBPyConnection, archive: Path, bucket: PlayReportsBucket
) -> None:
    with pytest.raises(PullError, match="not a service account's JSON key") as caught:
        _pull(wh, archive, bucket, "not-a-key-but-a-password-123")
    assert "password-123" not in str(caught.value) and RENEW in str(caught.value)


# ------------------------------------------------------------------------------ faults


@pytest.mark.parametrize(("headers", "wait"), [({"Retry-After": "11"}, 11.0), ({}, None)], ids=["retry-after", "none"])
def test_rate_limit_is_waited_out(
    wh: duckdb.DuckDBPyConnection, archive: Path, bucket: PlayReportsBucket, key: str, headers: dict, wait: float | None
) -> None:
    _fill(bucket)
    limited = _gcs_error(429, "rateLimitExceeded", "The rate of change requests to the object is too high.")
    limited.headers.update(headers)
    bucket.failures.append(limited)
    waits = Waits()
    assert _pull(wh, archive, bucket, key, sleep=waits).pages_landed == 3
    assert len(waits) == 1 and (waits[0] == wait if wait is not None else 0 < waits[0] <= 3)


def test_server_errors_then_success(
    wh: duckdb.DuckDBPyConnection, archive: Path, bucket: PlayReportsBucket, key: str
) -> None:
    _fill(bucket)
    bucket.failures += [_gcs_error(503, "backendError", "Backend Error"), _gcs_error(500, "internalError", "x")]
    assert _pull(wh, archive, bucket, key).pages_landed == 3


def test_a_timeout_is_retried(
    wh: duckdb.DuckDBPyConnection, archive: Path, bucket: PlayReportsBucket, key: str
) -> None:
    _fill(bucket)
    transport = _TimeoutFirst()
    with httpx.Client(transport=transport) as client:
        assert _pull(wh, archive, bucket, key, client=client).pages_landed == 3
    assert transport.timed_out == 1


def test_a_listing_that_is_not_json_is_quarantined_and_the_cursor_stays(
    wh: duckdb.DuckDBPyConnection, archive: Path, bucket: PlayReportsBucket, key: str
) -> None:
    _fill(bucket)
    bucket.listing_answers[1] = Response("<html><title>502 Bad Gateway</title></html>", content_type="text/html")
    with pytest.raises(PullError, match="not a page") as caught:
        _pull(wh, archive, bucket, key)
    assert "not JSON" in str(caught.value)
    assert wh.execute("select count(*) from quarantine.files where channel_id = ?", [CHANNEL]).fetchone()[0] == 1
    assert _batches(wh) == 0 and channel_cursor(wh, CHANNEL) is None and bucket.downloads() == []


def test_a_download_that_does_not_match_its_md5_is_not_landed(
    wh: duckdb.DuckDBPyConnection, archive: Path, bucket: PlayReportsBucket, key: str
) -> None:
    _fill(bucket)
    bucket.corrupt_download = True
    with pytest.raises(PullError, match="md5Hash") as caught:
        _pull(wh, archive, bucket, key)
    assert caught.value.retryable and _batches(wh) == 0 and channel_cursor(wh, CHANNEL) is None


def test_the_key_and_the_access_token_never_show(
    wh: duckdb.DuckDBPyConnection,
    archive: Path,
    bucket: PlayReportsBucket,
    key: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    _fill(bucket)
    bucket.failures.append(_gcs_error(503, "backendError", "Backend Error"))  # a retry logs the request
    _pull(wh, archive, bucket, key)
    bucket.put("202611", export("202611", [play_row(1, "202611")]))
    bucket.revoked = True
    with pytest.raises(PullError) as refused:
        _pull(wh, archive, bucket, key)  # the 401 body quotes the refused access token
    private_key = json.loads(key)["private_key"]
    planted = [*bucket.issued, KEY_ID, *(line for line in private_key.splitlines() if "-----" not in line)]
    texts = {
        "message": str(refused.value),
        "logs": caplog.text,
        "warehouse": _raw_text(wh),
        "archive": _archived(archive),
    }
    assert len(bucket.issued) == 2 and "***" in texts["message"]
    for where, text in texts.items():
        assert not [piece for piece in planted if piece in text], where


def _raw_text(con: duckdb.DuckDBPyConnection) -> str:
    tables = con.execute(
        "select table_schema, table_name from information_schema.tables where table_schema in ('raw', 'quarantine')"
    ).fetchall()
    return "\n".join(repr(con.execute(f'select * from "{s}"."{t}"').fetchall()) for s, t in tables)


def _archived(archive: Path) -> str:
    files = [path.read_bytes() for path in archive.rglob("*") if path.is_file()]
    assert files
    return "\n".join(
        data.decode("utf-16") if data[:2] == b"\xff\xfe" else data.decode("utf-8", "replace") for data in files
    )


class _TimeoutFirst(httpx.HTTPTransport):
    def __init__(self) -> None:
        super().__init__()
        self.timed_out = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not self.timed_out:
            self.timed_out += 1
            raise httpx.ReadTimeout("timed out", request=request)
        return super().handle_request(request)
