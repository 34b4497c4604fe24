"""Google Play reviews: the Play Console's monthly CSV exports, pulled from the reports bucket.

Follows Google's documentation:

- Download and export monthly reports,
  https://support.google.com/googleplay/android-developer/answer/6135870: the Play Console writes
  ``reviews/reviews_<package>_<YYYYMM>.csv`` (UTF-16 with a BOM) into the developer account's
  Cloud Storage bucket ``pubsite_prod_rev_<id>`` and re-exports the current month daily. The Reviews
  API (androidpublisher ``reviews.list``) keeps only the last week, so the bucket is what we pull;
- Cloud Storage JSON API, Objects: list and get,
  https://cloud.google.com/storage/docs/json_api/v1/objects/list,
  https://cloud.google.com/storage/docs/json_api/v1/objects/get: ``GET /storage/v1/b/<bucket>/o
  ?prefix=&maxResults=&pageToken=`` → ``{"items": [{"name", "generation", "md5Hash", "updated", ...}],
  "nextPageToken"}`` (a page may hold no items and still a token), and ``GET /storage/v1/b/<bucket>/o/
  <url-encoded name>?alt=media&generation=`` for the bytes, pinned to the listed generation;
- Using OAuth 2.0 for Server to Server Applications, "Preparing to make an authorized API call"
  (HTTP/REST), https://developers.google.com/identity/protocols/oauth2/service-account#httprest:
  the service account's JSON key (``client_email``, ``private_key``, ``private_key_id``,
  ``token_uri``) signs an RS256 JWT (``iss`` = client_email, ``scope`` = devstorage.read_only,
  ``aud`` = token_uri, ``iat``, ``exp`` = iat + 1 hour); ``POST token_uri`` with
  ``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<JWT>`` answers
  ``{"access_token", "expires_in", "token_type": "Bearer"}``, sent as ``Authorization: Bearer``.

**Credentials.** The secret (``credentials_env`` / ``credentials_block``) is the service account's
JSON key file as Google gives it (a Prefect Secret block may hold it as JSON: flows/extract/secrets.py
hands it back as JSON text), or that text base64-encoded. The bucket is
the account's, named by the environment variable ``options.bucket_env``; the package is public.
One access token serves the pull (an hour). The key's ``token_uri`` and the base URL must be https
(http only to loopback, where the tests' servers listen): flows/extract/providers/_transport.py.
The private key, its id, the signed assertion and the access token are redacted everywhere.

**Cursor.** ``{"<object name>": {"md5": "<md5Hash>", "since": <millis>, "ids": ["<id>", ...]}, ...}``:
per monthly object, the md5Hash taken and a watermark (flows/extract/watermark.py) of "Review Last
Update Millis Since Epoch": the newest landed, and the ids of the rows landed at exactly that
millisecond (a row's id is the channel's ``source_item_id``: submit millis, device, language). An
object whose md5Hash is the one taken is not downloaded again. A re-exported month (a new hash) is,
and only its rows updated after the watermark, or at it with an id not landed yet, land: the page is
Google's header and those rows, written back as Google writes the file (UTF-16 with the same
byte-order mark, ",", minimal quoting, the same line ends). So an unchanged row does not land again
(staging would reject it as a ``duplicate``), an edited review (a later last-update millis) does,
and a tie at the boundary is neither lost nor repeated. A row whose only change is a developer reply
(the Developer Reply columns) keeps its last-update millis and does NOT land again. A re-export with
no new row lands nothing; its new md5 is still committed (by a header-only page, landed once and
skipped by its content hash afterwards), so it is not downloaded again.

The watermark assumes Google adds a month's reviews in last-update order (a review that first shows
up in a later export with an older last-update millis than the watermark would be missed). A cursor
of the earlier form ``{"<object name>": "<md5Hash>"}`` still reads: the md5 is known, the watermark
is not, so a changed object lands whole once and takes the new form. An export that cannot be read
as Google's CSV lands whole, to be quarantined by the reader.
"""

import base64
import binascii
import csv
import hashlib
import io
import json
import logging
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
import jwt
from pydantic import Field

from flows.extract.http_fetch import PullError, Request, RetryOptions, fetch, public_url, secret_name
from flows.extract.http_pull import PullRun, PullSummary
from flows.extract.pages import NotAPage, Page, drive
from flows.extract.providers._transport import require_safe_url
from flows.extract.redact import Redactor, redacting_logs, redactor, scrub_exception
from flows.extract.watermark import Watermark, parse_time
from transforms.channels import Channel
from transforms.readers import read_file
from transforms.readers.base import UnreadableFile
from transforms.readers.json_pages import loads

__all__ = ["GRANT_TYPE", "SCOPE", "Options", "pull"]

SCOPE = "https://www.googleapis.com/auth/devstorage.read_only"
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ASSERTION_SECONDS = 3600  # Google's maximum
MAX_LIST_PAGES = 10_000
UPDATED_MILLIS = "Review Last Update Millis Since Epoch"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Options(RetryOptions):
    """``extraction.options`` of a ``google_play`` channel."""

    bucket_env: str  # environment variable with the reports bucket (pubsite_prod_rev_<id>)
    package: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)+$")  # the app's package name
    list_page_size: int = Field(default=1000, ge=1, le=1000)  # maxResults of the object listing


@dataclass(frozen=True)
class ServiceAccount:
    """The fields of a service account's JSON key that the token exchange needs."""

    client_email: str
    private_key: str
    private_key_id: str
    token_uri: str

    @classmethod
    def parse(cls, secret: str | None, channel: Channel) -> "ServiceAccount":
        where = secret_name(channel) or "the channel's secret"
        refused = (
            f"{channel.id}: the secret in {where} is not a service account's JSON key "
            "(type service_account with client_email, private_key, token_uri), nor its base64; renew it"
        )
        if not secret:
            raise PullError(f"{channel.id}: no service account key was resolved from {where}")
        key = _json_object(secret) or _json_object(_unbase64(secret))
        if key is None or key.get("type", "service_account") != "service_account":
            raise PullError(refused)
        try:
            return cls(
                str(key["client_email"]), str(key["private_key"]), str(key.get("private_key_id", "")), key["token_uri"]
            )
        except KeyError:
            raise PullError(refused) from None


def pull(channel: Channel, run: PullRun) -> PullSummary:
    """Land the monthly review exports that are new or changed since ``cursor``, one object a page."""
    base_url, cursor, land, secret, client, sleep, log = run.parts()
    options = Options.model_validate(channel.how_extracted.options)
    log = log or logging.getLogger(__name__)
    base = require_safe_url(
        base_url, what=f"the base URL ({channel.how_extracted.base_url_env})", channel_id=channel.id
    )
    bucket = os.environ.get(options.bucket_env)
    if not bucket:
        raise PullError(f"{channel.id}: environment variable {options.bucket_env} (extraction.options) not set")
    account = ServiceAccount.parse(secret, channel)
    encoded = secret if secret and _json_object(secret) is None else None  # the base64 form is a secret too
    http = client or httpx.Client(follow_redirects=False)  # a redirect would carry the token elsewhere
    try:
        token, assertion = _exchange(channel, account, options, http, sleep, log, encoded)
        secrets = (account.private_key_id, assertion, token, *([encoded] if encoded else []))
        walk = _Walk(channel, options, base, bucket, token, http, sleep, log, redactor(account.private_key, *secrets))
        return drive(
            channel,
            cursor=cursor,
            land=land,
            pages=walk.pages,
            secret=account.private_key,
            extra_secrets=secrets,
            log=log,
        )
    finally:
        if client is None:
            http.close()


def _exchange(
    channel: Channel,
    account: ServiceAccount,
    options: Options,
    http: httpx.Client,
    sleep: Callable[[float], None],
    log: logging.Logger | logging.LoggerAdapter,
    encoded: str | None,
) -> tuple[str, str]:
    """(access token, the signed assertion it was exchanged for): the OAuth 2.0 JWT bearer grant."""
    redact = redactor(account.private_key, account.private_key_id, encoded)
    where = secret_name(channel) or "the channel's secret"
    with redacting_logs(redact, log):
        try:
            require_safe_url(account.token_uri, what="the service account key's token_uri", channel_id=channel.id)
            assertion = _assertion(channel, account, where)
            redact = redactor(account.private_key, account.private_key_id, encoded, assertion)
            response = _token_request(channel, account, assertion, options, http, sleep, log, redact, where)
            return _access_token(channel, response, where), assertion
        except PullError as exc:
            scrub_exception(exc, redact)
            raise


def _assertion(channel: Channel, account: ServiceAccount, where: str) -> str:
    now = int(time.time())
    claims = {
        "iss": account.client_email,
        "scope": SCOPE,
        "aud": account.token_uri,
        "iat": now,
        "exp": now + ASSERTION_SECONDS,
    }
    headers = {"kid": account.private_key_id} if account.private_key_id else None
    try:
        return jwt.encode(claims, account.private_key, algorithm="RS256", headers=headers)
    except (jwt.PyJWTError, ValueError, TypeError):  # the key's text never goes into the message
        raise PullError(
            f"{channel.id}: the private_key of the service account key in {where} is not an RSA PEM key; renew it"
        ) from None


def _token_request(
    channel: Channel,
    account: ServiceAccount,
    assertion: str,
    options: Options,
    http: httpx.Client,
    sleep: Callable[[float], None],
    log: logging.Logger | logging.LoggerAdapter,
    redact: Redactor,
    where: str,
) -> httpx.Response:
    request = Request("POST", account.token_uri, form={"grant_type": GRANT_TYPE, "assertion": assertion})
    try:
        return fetch(
            http, request, channel_id=channel.id, spec=options, sleep=sleep, redact=redact, log=log, secret_name=where
        )
    except PullError as exc:
        if exc.retryable or "credentials were refused" in str(exc):  # 401/403: fetch named the secret
            raise
        # 400 invalid_grant (a deleted key, a bad signature), 401 invalid_client: the key is refused
        raise PullError(
            f"{exc} — the token endpoint refused the service account key: renew {where}; the cursor has not moved"
        ) from None


def _access_token(channel: Channel, response: httpx.Response, where: str) -> str:
    try:
        answer = response.json()
    except ValueError:
        answer = None
    token = answer.get("access_token") if isinstance(answer, dict) else None
    if not isinstance(token, str) or not token:
        raise PullError(
            f"{channel.id}: the token endpoint's answer has no access_token (HTTP {response.status_code}); "
            f"check the token_uri of the key in {where}"
        )
    return token


@dataclass
class _Walk:
    channel: Channel
    options: Options
    base: httpx.URL
    bucket: str
    token: str
    http: httpx.Client
    sleep: Callable[[float], None]
    log: logging.Logger | logging.LoggerAdapter
    redact: Redactor

    def pages(self, cursor: str | None) -> Iterator[Page]:
        """Each monthly export not taken yet (or re-exported since): its rows not landed yet, with the cursor."""
        taken = _taken(cursor, self.channel.id)
        for item in self._objects():
            name, digest = item["name"], _digest(item)
            if taken.get(name, _Taken("")).md5 == digest:
                continue
            data, source = self._download(item)
            landed = taken.get(name, _Taken(""))
            page, records, watermark = _fresh_rows(data, landed.watermark, _id_columns(self.channel))
            taken = {**taken, name: _Taken(digest, watermark)}
            label = name.rsplit("/", 1)[-1].removesuffix(".csv")
            if page is None:  # unreadable: lands whole, for the reader to quarantine
                page, records = data, self._records(data)
            elif records == 0:  # nothing new: the header alone carries the new md5 (a skipped page after once)
                label = "reviews_header"
            yield Page(page, source, label, records, _cursor(taken), extension="csv", moves_cursor_only=records == 0)

    def _objects(self) -> Iterator[dict[str, Any]]:
        """The bucket's review exports of the package, listed page by page (names ascending: by month)."""
        prefix = f"reviews/reviews_{self.options.package}_"
        pattern = re.compile(rf"^{re.escape(prefix)}\d{{6}}\.csv$")
        url = str(self.base.join(f"/storage/v1/b/{quote(self.bucket, safe='')}/o"))
        params = {"prefix": prefix, "maxResults": str(self.options.list_page_size)}
        tokens: set[str] = set()
        for number in range(1, MAX_LIST_PAGES + 1):
            response = self._get(url, params)
            listing = self._listing(response, number)
            for item in listing.get("items") or []:
                if isinstance(item, dict) and isinstance(item.get("name"), str) and pattern.match(item["name"]):
                    yield item
            token = listing.get("nextPageToken")
            if not token:  # an empty page with a token is not the end: Cloud Storage may answer one
                return
            if token in tokens:
                raise PullError(
                    f"{self.channel.id}: the object listing's nextPageToken repeats after "
                    f"{self.redact(public_url(response.request.url))}; stopped"
                )
            tokens.add(token)
            params = {**params, "pageToken": str(token)}
        raise PullError(f"{self.channel.id}: the object listing has more than {MAX_LIST_PAGES} pages; stopped")

    def _listing(self, response: httpx.Response, number: int) -> dict[str, Any]:
        source = public_url(response.request.url)
        try:
            listing = loads(response.content.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            reason = f"the object listing is not JSON: {type(exc).__name__}"
            raise NotAPage(reason, data=response.content, source_uri=source, label=f"list-{number}") from None
        if not isinstance(listing, dict):
            reason = "the object listing is not a JSON object"
            raise NotAPage(reason, data=response.content, source_uri=source, label=f"list-{number}")
        return listing

    def _download(self, item: dict[str, Any]) -> tuple[bytes, str]:
        name = item["name"]
        url = str(self.base.join(f"/storage/v1/b/{quote(self.bucket, safe='')}/o/{quote(name, safe='')}"))
        params = {"alt": "media", **({"generation": str(item["generation"])} if item.get("generation") else {})}
        response = self._get(url, params)
        expected = item.get("md5Hash")
        if expected and base64.b64encode(hashlib.md5(response.content).digest()).decode() != expected:
            raise PullError(
                f"{self.channel.id}: {name} does not match the md5Hash of its listing (cut short on the way?); "
                "the cursor stays, the next pull downloads it again",
                retryable=True,
            )
        return response.content, public_url(response.request.url)

    def _get(self, url: str, params: dict[str, str]) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}"}
        return fetch(
            self.http,
            Request("GET", url, params=params, headers=headers),
            channel_id=self.channel.id,
            spec=self.options,
            sleep=self.sleep,
            redact=self.redact,
            log=self.log,
            secret_name=secret_name(self.channel),
        )

    def _records(self, data: bytes) -> int:
        """Reviews in an export (a header alone: 0, not landed); an unreadable one lands to be quarantined."""
        try:
            return len(read_file(data, self.channel).records)
        except UnreadableFile:
            return 1


@dataclass(frozen=True)
class _Taken:
    """What was taken of one monthly object: its md5Hash and the watermark of the rows landed (None: not known)."""

    md5: str
    watermark: Watermark | None = None

    def to_json(self) -> dict[str, Any]:
        if self.watermark is None:
            return {"md5": self.md5}
        return {"md5": self.md5, "since": _millis(self.watermark.since), "ids": sorted(self.watermark.ids)}


def _taken(cursor: str | None, channel_id: str) -> dict[str, _Taken]:
    """The committed cursor by object; the earlier form (name → md5Hash) reads as md5s without watermarks."""
    if cursor is None:
        return {}
    try:
        document = json.loads(cursor)
        return {str(name): _taken_object(value) for name, value in document.items()}
    except (ValueError, TypeError, KeyError, AttributeError):
        raise PullError(
            f"{channel_id}: committed cursor {cursor!r} is not a map of object names to md5 hashes and "
            "watermarks (did the channel's extraction change?)"
        ) from None


def _taken_object(value: Any) -> _Taken:
    if isinstance(value, str):  # the earlier cursor: the md5 only
        return _Taken(value)
    md5 = value["md5"]
    if not isinstance(md5, str):
        raise TypeError(md5)
    if "since" not in value:
        return _Taken(md5)
    ids = value["ids"]
    if not isinstance(ids, list):
        raise TypeError(ids)
    return _Taken(md5, Watermark(_moment(str(int(value["since"]))), frozenset(str(i) for i in ids)))


def _cursor(taken: dict[str, _Taken]) -> str:
    return json.dumps({name: state.to_json() for name, state in taken.items()}, sort_keys=True)


def _id_columns(channel: Channel) -> tuple[str, ...]:
    """The columns that name a review: the channel's ``source_item_id``."""
    columns = channel.fields["source_item_id"]
    return (columns,) if isinstance(columns, str) else tuple(columns)


def _fresh_rows(
    data: bytes, watermark: Watermark | None, id_columns: tuple[str, ...]
) -> tuple[bytes | None, int, Watermark | None]:
    """(the page to land, its rows, the watermark after it); the page is None when ``data`` is not Google's CSV.

    Without a watermark every row is fresh and the page is ``data`` itself. Rows whose last-update
    millis is not a number always land (the reader judges them) and leave the watermark alone.
    """
    export = _Export.read(data)
    if export is None or UPDATED_MILLIS not in export.header or not set(id_columns) <= set(export.header):
        return None, 0, watermark
    records = [dict(zip(export.header, row, strict=False)) for row in export.rows]
    timed = [r for r in records if _is_millis(r.get(UPDATED_MILLIS))]
    start = watermark or Watermark(_moment("0"))
    fresh = start.fresh(timed, lambda r: _row_id(r, id_columns), _updated)
    after = start.after(fresh, lambda r: _row_id(r, id_columns), _updated)
    after = after if (fresh or watermark is not None) else None
    if watermark is None:
        return data, len(records), after
    keep = {id(r) for r in fresh} | {id(r) for r in records if not _is_millis(r.get(UPDATED_MILLIS))}
    rows = [row for row, record in zip(export.rows, records, strict=True) if id(record) in keep]
    return export.write(rows), len(rows), after


@dataclass(frozen=True)
class _Export:
    """A Play Console CSV as read: its header, rows, and how to write rows back the same way."""

    header: list[str]
    rows: list[list[str]]
    encoding: str  # utf-16-le or utf-16-be: the byte-order mark says which
    line_end: str

    @classmethod
    def read(cls, data: bytes) -> "_Export | None":
        boms = {b"\xff\xfe": "utf-16-le", b"\xfe\xff": "utf-16-be"}
        encoding = boms.get(data[:2])
        if encoding is None:
            return None
        try:
            text = data[2:].decode(encoding)
            table = list(csv.reader(io.StringIO(text, newline=""), delimiter=","))
        except (UnicodeDecodeError, csv.Error):
            return None
        if not table:
            return None
        first_line = text.split("\n", 1)[0]
        line_end = "\r\n" if first_line.endswith("\r") else "\n"
        return cls(table[0], [row for row in table[1:] if row], encoding, line_end)

    def write(self, rows: list[list[str]]) -> bytes:
        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer, delimiter=",", lineterminator=self.line_end, quoting=csv.QUOTE_MINIMAL)
        writer.writerow(self.header)
        writer.writerows(rows)
        return ("\ufeff" + buffer.getvalue()).encode(self.encoding)


def _row_id(record: dict[str, str], id_columns: tuple[str, ...]) -> str:
    return "|".join(record.get(column, "") for column in id_columns)


def _is_millis(value: str | None) -> bool:
    return bool(value) and value.strip().isdigit()


def _updated(record: dict[str, str]) -> str:
    return _moment(record[UPDATED_MILLIS])


def _moment(millis: str) -> str:
    """Epoch milliseconds as the ISO 8601 time Watermark compares (exact to the millisecond)."""
    return (EPOCH + timedelta(milliseconds=int(millis.strip()))).isoformat(timespec="milliseconds")


def _millis(moment: str) -> int:
    return (parse_time(moment) - EPOCH) // timedelta(milliseconds=1)


def _digest(item: dict[str, Any]) -> str:
    """What identifies an object's content: its md5Hash (composite objects have only crc32c)."""
    return str(item.get("md5Hash") or item.get("crc32c") or f"generation:{item.get('generation')}")


def _json_object(text: str | None) -> dict[str, Any] | None:
    try:
        value = json.loads(text) if text else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _unbase64(text: str) -> str | None:
    try:
        return base64.b64decode(text.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
