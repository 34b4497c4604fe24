"""The atom_feed puller, pulling ``review_site_feed`` as shipped from a review site on loopback.

The site (``ReviewSite``) serves the company's reviews as a paged Atom feed: RFC 4287 entries newest
first, ``link rel="next"`` to the older page (RFC 5005 section 3), an ``ETag`` and ``Last-Modified``
on every answer and 304 to a conditional request that matches (RFC 9110 sections 13 and 15.4.5),
the private feed's ``key`` in the query (403 when it is wrong, 401 when it is missing), and the
faults any HTTP server has (429 with and without Retry-After, 5xx, a slow answer, an error page).
"""

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

import httpx
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from flows.extract import PullError
from tests.flows.extract.providers.conftest import cursor_chain, pull_as_shipped, staged_payloads
from warehouse.ingest import channel_cursor

CHANNEL = "review_site_feed"
FEED_PATH = "/feeds/company/reviews.atom"
KEY = "fk-PLANTED-9f8e7d6c5b4a"
START = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)


@dataclass
class Review:
    number: int
    updated: datetime
    text: str = "Доставка вовремя"
    rating: int = 5

    @property
    def entry(self) -> str:
        return f"""  <entry>
    <id>tag:reviews.example,2026:review/{self.number}</id>
    <published>{(START + timedelta(hours=self.number)).isoformat()}</published>
    <updated>{self.updated.isoformat()}</updated>
    <title>Отзыв {self.number}</title>
    <content type="html">&lt;p&gt;{escape(self.text)}&lt;/p&gt;</content>
    <author><name>Покупатель {self.number}</name><uri>https://reviews.example/u/{self.number}</uri></author>
    <link rel="alternate" href="https://reviews.example/review/{self.number}"/>
    <gd:rating value="{self.rating}" min="1" max="5"/>
  </entry>
"""


@dataclass
class ReviewSite:
    """A review site's paged Atom feed of one company's reviews (see the module docstring)."""

    page_size: int = 2
    reviews: list[Review] = field(default_factory=list)
    requests: list[dict[str, str | None]] = field(default_factory=list)
    failures: list[Response] = field(default_factory=list)  # answered instead, one per request
    pages: dict[int, Response] = field(default_factory=dict)  # a page answered as given
    next_of: dict[int, int] = field(default_factory=dict)  # page -> the page its next link names
    empty_pages: set[int] = field(default_factory=set)

    def add(self, count: int) -> None:
        first = len(self.reviews) + 1
        for number in range(first, first + count):
            self.reviews.append(Review(number, START + timedelta(hours=number, minutes=5)))

    def handle(self, request: Request) -> Response:
        page = int(request.args.get("page", "1"))
        self.requests.append(
            {
                "page": str(page),
                "key": request.args.get("key"),
                "if_none_match": request.headers.get("If-None-Match"),
                "if_modified_since": request.headers.get("If-Modified-Since"),
                "authorization": request.headers.get("Authorization"),
            }
        )
        if request.args.get("key") is None:
            return Response("a private feed needs its key", status=401, headers={"WWW-Authenticate": "Key"})
        if request.args["key"] != KEY:
            return Response(f"<error>unknown key {request.args['key']}</error>", status=403)
        if self.failures:
            return self.failures.pop(0)
        if page in self.pages:
            return self.pages[page]
        body = self.feed(page).encode("utf-8")
        newest = max((r.updated for r in self.reviews), default=START)
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        modified = format_datetime(newest, usegmt=True)
        if page == 1 and request.headers.get("If-None-Match") == etag:
            return Response(status=304, headers={"ETag": etag, "Last-Modified": modified})
        return Response(
            body, content_type="application/atom+xml; charset=utf-8", headers={"ETag": etag, "Last-Modified": modified}
        )

    def feed(self, page: int) -> str:
        newest_first = sorted(self.reviews, key=lambda r: r.updated, reverse=True)
        chunks = [newest_first[i : i + self.page_size] for i in range(0, len(newest_first), self.page_size)] or [[]]
        chunks = chunks[:]
        for empty in sorted(self.empty_pages):
            chunks.insert(empty - 1, [])
        entries = chunks[page - 1] if page <= len(chunks) else []
        links = f'  <link rel="self" href="{FEED_PATH}?page={page}"/>\n'
        following = self.next_of.get(page, page + 1 if page < len(chunks) else None)
        if following is not None:
            links += f'  <link rel="next" href="{FEED_PATH}?page={following}"/>\n'
        return (
            '<?xml version="1.0" encoding="utf-8"?>\n'
            '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:gd="http://schemas.google.com/g/2005">\n'
            "  <id>tag:reviews.example,2026:company/42</id>\n  <title>Отзывы</title>\n"
            f"  <updated>{START.isoformat()}</updated>\n{links}" + "".join(r.entry for r in entries) + "</feed>\n"
        )


@pytest.fixture
def site(httpserver: HTTPServer) -> ReviewSite:
    review_site = ReviewSite()
    httpserver.expect_request(FEED_PATH).respond_with_handler(review_site.handle)
    return review_site


@pytest.fixture
def base_url(httpserver: HTTPServer) -> str:
    return httpserver.url_for("/")


def pull(wh, archive: Path, base_url: str, **kwargs):
    kwargs.setdefault("secret", KEY)
    return pull_as_shipped(wh, CHANNEL, archive, base_url, **kwargs)


def landed_numbers(wh) -> list[int]:
    """The review numbers landed, in landing order (batch by batch, each in the feed's order)."""
    rows = wh.execute(
        "select json_extract_string(p.payload, '$.id') from raw.channel_payloads p join raw.batches b"
        " on b.batch_id = p._batch_id where p.channel_id = ? order by b.batch_seq, p._record_index",
        [CHANNEL],
    ).fetchall()
    return [int(entry_id.rsplit("/", 1)[1]) for (entry_id,) in rows]


# --- paging, cursor, incremental pulls


def test_the_first_pull_follows_next_links_and_lands_the_oldest_page_first(wh, archive, base_url, site) -> None:
    site.add(5)  # newest first: page 1 = 5, 4; page 2 = 3, 2; page 3 = 1
    summary = pull(wh, archive, base_url)
    assert [r["page"] for r in site.requests] == ["1", "2", "3"]
    assert {r["key"] for r in site.requests} == {KEY} and {r["authorization"] for r in site.requests} == {None}
    assert summary.pages_landed == 3 and summary.records == 5
    assert landed_numbers(wh) == [1, 3, 2, 5, 4]  # oldest page first, each page as the feed orders it
    chain = cursor_chain(wh, CHANNEL)
    assert [before for before, _ in chain] == [None, chain[0][1], chain[1][1]]
    assert '"newest":"2026-10-05T10:05:00+00:00"' in chain[0][1] and "etag" not in chain[0][1]
    assert '"newest":"2026-10-05T14:05:00+00:00"' in chain[2][1] and '"etag":' in chain[2][1]
    assert channel_cursor(wh, CHANNEL) == chain[2][1]
    payload = staged_payloads(wh, CHANNEL)[0]
    assert payload["gd:rating"]["@value"] == "5" and payload["content"]["#text"] == "<p>Доставка вовремя</p>"


def test_an_unchanged_feed_answers_304_and_nothing_lands(wh, archive, base_url, site) -> None:
    site.add(3)
    pull(wh, archive, base_url)
    cursor = channel_cursor(wh, CHANNEL)
    site.requests.clear()
    summary = pull(wh, archive, base_url)
    (request,) = site.requests
    assert request["if_none_match"] and request["if_modified_since"] == "Mon, 05 Oct 2026 12:05:00 GMT"
    assert summary.pages_fetched == 0 and summary.pages_landed == 0
    assert channel_cursor(wh, CHANNEL) == cursor and len(cursor_chain(wh, CHANNEL)) == 2


def test_the_next_pull_lands_only_new_and_edited_reviews(wh, archive, base_url, site) -> None:
    site.add(5)
    pull(wh, archive, base_url)
    site.add(2)  # 6 and 7
    site.reviews[1].updated = START + timedelta(days=1)  # review 2 edited: the newest now
    site.reviews[1].text = "Исправил оценку"
    site.requests.clear()
    summary = pull(wh, archive, base_url)
    # page 1 = 2 (edited), 7; page 2 = 6, 5: review 5 has landed, so page 3 is never asked for
    assert [r["page"] for r in site.requests] == ["1", "2"]
    assert summary.records == 3
    assert landed_numbers(wh)[5:] == [6, 2, 7]
    assert staged_payloads(wh, CHANNEL)[-2]["content"]["#text"] == "<p>Исправил оценку</p>"
    site.requests.clear()
    assert pull(wh, archive, base_url).records == 0  # and nothing lands twice


def test_an_empty_page_in_the_middle_is_passed_over(wh, archive, base_url, site) -> None:
    site.add(3)
    site.empty_pages = {2}  # page 1 = 3, 2; page 2 empty; page 3 = 1
    summary = pull(wh, archive, base_url)
    assert [r["page"] for r in site.requests] == ["1", "2", "3"]
    assert sorted(landed_numbers(wh)) == [1, 2, 3] and summary.pages_landed == 2


def test_a_next_link_that_comes_back_stops_the_pull_with_nothing_landed(wh, archive, base_url, site) -> None:
    site.add(6)
    site.next_of = {3: 2}  # the last page names page 2 as its next
    with pytest.raises(PullError, match=r"next link comes back to .*page=2, a page already read"):
        pull(wh, archive, base_url)
    assert cursor_chain(wh, CHANNEL) == [] and channel_cursor(wh, CHANNEL) is None


def test_a_next_link_to_another_site_is_not_sent_the_key(wh, archive, base_url, site) -> None:
    site.add(3)
    page = site.feed(1).replace(f'href="{FEED_PATH}?page=2"', 'href="https://elsewhere.example/feed?page=2"')
    site.pages[1] = Response(page, content_type="application/atom+xml")
    with pytest.raises(PullError, match=r"another site .*elsewhere\.example") as caught:
        pull(wh, archive, base_url)
    assert KEY not in str(caught.value) and cursor_chain(wh, CHANNEL) == []


# --- auth


@pytest.mark.parametrize("status", [403, 401])
def test_a_refused_key_names_the_secret_to_renew_and_lands_nothing(wh, archive, base_url, site, status) -> None:
    site.add(2)
    pull(wh, archive, base_url)
    cursor = channel_cursor(wh, CHANNEL)
    site.add(2)
    if status == 401:  # the site revoked the key: it answers as if there were none
        site.failures = [Response("a private feed needs its key", status=401, headers={"WWW-Authenticate": "Key"})]
    secret = KEY if status == 401 else "fk-expired-000000"
    with pytest.raises(PullError, match=f"HTTP {status}.*renew environment variable OTKLIK_REVIEW_SITE_FEED_KEY"):
        pull(wh, archive, base_url, secret=secret)
    assert len(cursor_chain(wh, CHANNEL)) == 1 and channel_cursor(wh, CHANNEL) == cursor


def test_without_the_key_nothing_is_asked(wh, archive, base_url, site) -> None:
    site.add(2)
    with pytest.raises(PullError, match=r"OTKLIK_REVIEW_SITE_FEED_KEY.* is not set"):
        pull(wh, archive, base_url, secret=None)
    assert site.requests == []
    answer = httpx.get(base_url.rstrip("/") + FEED_PATH)  # what the site says to a URL without its key
    assert answer.status_code == 401 and answer.headers["WWW-Authenticate"] == "Key"


# --- faults


@pytest.mark.parametrize(("headers", "waited"), [({"Retry-After": "7"}, [7.0]), ({}, None)])
def test_429_is_retried_with_and_without_retry_after(wh, archive, base_url, site, headers, waited) -> None:
    site.add(2)
    site.failures = [Response("slow down", status=429, headers=headers)]
    sleeps: list[float] = []
    pull(wh, archive, base_url, sleep=sleeps.append)
    assert len(sleeps) == 1 and (waited is None or sleeps == waited) and sleeps[0] > 0
    assert sorted(landed_numbers(wh)) == [1, 2]


def test_5xx_then_success(wh, archive, base_url, site) -> None:
    site.add(2)
    site.failures = [Response("down", status=503), Response("bad gateway", status=502)]
    sleeps: list[float] = []
    pull(wh, archive, base_url, sleep=sleeps.append)
    assert len(sleeps) == 2 and sorted(landed_numbers(wh)) == [1, 2]


class _TimesOutOnce(httpx.BaseTransport):
    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.timed_out = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not self.timed_out:
            self.timed_out = True
            raise httpx.ReadTimeout("timed out", request=request)
        return self.inner.handle_request(request)


def test_a_timeout_is_retried(wh, archive, base_url, site) -> None:
    site.add(2)
    transport = _TimesOutOnce()
    sleeps: list[float] = []
    with httpx.Client(transport=transport) as client:
        pull(wh, archive, base_url, sleep=sleeps.append, client=client)
    assert transport.timed_out and len(sleeps) == 1 and sorted(landed_numbers(wh)) == [1, 2]


def test_a_page_that_is_not_a_feed_is_quarantined_and_the_cursor_stays(wh, archive, base_url, site) -> None:
    site.add(4)
    pull(wh, archive, base_url)
    cursor = channel_cursor(wh, CHANNEL)
    site.add(4)
    site.pages[2] = Response('{"error": "maintenance"}', content_type="application/json")
    with pytest.raises(PullError, match=r"not a feed.*wrong_format.*JSON"):
        pull(wh, archive, base_url)
    assert wh.execute("select reason from quarantine.files").fetchall() == [("wrong_format",)]
    assert channel_cursor(wh, CHANNEL) == cursor and len(landed_numbers(wh)) == 4  # page 1 waits too


def test_a_hostile_page_is_quarantined_unexpanded(wh, archive, base_url, site) -> None:
    site.add(2)
    site.pages[1] = Response(
        '<?xml version="1.0"?><!DOCTYPE feed [<!ENTITY a "aaaaaaaaaa">]><feed xmlns="http://www.w3.org/2005/Atom"/>',
        content_type="application/atom+xml",
    )
    with pytest.raises(PullError, match="xml_dtd_refused"):
        pull(wh, archive, base_url)
    assert wh.execute("select reason from quarantine.files").fetchall() == [("xml_dtd_refused",)]


# --- the key never leaks


def test_the_key_never_appears_in_logs_the_warehouse_the_archive_or_errors(wh, archive, base_url, site, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    site.add(3)
    site.reviews[0].text = f"my key is {KEY}"  # a page that echoes the key lands with *** instead
    site.failures = [Response("slow down", status=429)]
    pull(wh, archive, base_url)
    site.add(1)
    site.pages[1] = Response(f"<error>maintenance for key={KEY}</error>", status=500)
    with pytest.raises(PullError) as caught:
        pull(wh, archive, base_url, sleep=lambda seconds: None)
    assert KEY not in str(caught.value)
    assert "httpx" in {r.name for r in caplog.records}  # httpx logged the request URLs, redacted
    ours = [r for r in caplog.records if r.name != "werkzeug"]  # the loopback site's own access log aside
    assert ours and not [r for r in ours if KEY in r.getMessage()]
    for table in ("raw.channel_payloads", "raw.batches", "quarantine.files"):
        assert KEY not in str(wh.execute(f"select * from {table}").fetchall()), table
    assert "***" in str(wh.execute("select payload from raw.channel_payloads").fetchall())
    for path in archive.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path
