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

**Cursor.** ``{"<object name>": "<md5Hash>", ...}``: what was taken of each monthly object. An
object whose md5Hash is the one taken is not downloaded again; a re-exported month (a new hash) is,
and lands whole, with the cursor updated in the same transaction. Its rows land again: staging keys
a review by submit time, device and language, drops an unchanged row as a ``duplicate`` and keeps
an edited one as the newer version (ordered by "Review Last Update Date and Time").
"""

import base64
import binascii
import hashlib
import json
import logging
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
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
from transforms.channels import Channel
from transforms.readers import read_file
from transforms.readers.base import UnreadableFile
from transforms.readers.json_pages import loads

__all__ = ["GRANT_TYPE", "SCOPE", "Options", "pull"]

SCOPE = "https://www.googleapis.com/auth/devstorage.read_only"
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ASSERTION_SECONDS = 3600  # Google's maximum
MAX_LIST_PAGES = 10_000


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
        """Each monthly export not taken yet (or re-exported since), with the cursor that takes it."""
        taken = _taken(cursor, self.channel.id)
        for item in self._objects():
            name, digest = item["name"], _digest(item)
            if taken.get(name) == digest:
                continue
            data, source = self._download(item)
            taken = {**taken, name: digest}
            label = name.rsplit("/", 1)[-1].removesuffix(".csv")
            yield Page(data, source, label, self._records(data), json.dumps(taken, sort_keys=True), extension="csv")

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


def _taken(cursor: str | None, channel_id: str) -> dict[str, str]:
    if cursor is None:
        return {}
    try:
        taken = json.loads(cursor)
    except ValueError:
        taken = None
    if not isinstance(taken, dict) or not all(isinstance(v, str) for v in taken.values()):
        raise PullError(
            f"{channel_id}: committed cursor {cursor!r} is not a map of object names to md5 hashes "
            "(did the channel's extraction change?)"
        )
    return taken


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
