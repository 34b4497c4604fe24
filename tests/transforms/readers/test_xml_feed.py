"""XML review feeds (transforms/readers/xml_feed.py): Atom and RSS to records, and hostile XML refused."""

import json
import time
from datetime import UTC, datetime

import polars as pl
import pytest

from transforms.channels.registry import ReaderOptions, get_channel
from transforms.normalize import normalize_channel
from transforms.readers import UnreadableFile, read_file
from transforms.readers.xml_feed import read, read_feed

GD = "http://schemas.google.com/g/2005"

ATOM = f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:gd="{GD}" xml:lang="ru">
  <id>tag:reviews.example,2026:company/42</id>
  <title>Отзывы о компании</title>
  <updated>2026-10-05T12:00:00+03:00</updated>
  <link rel="self" href="https://reviews.example/feeds/company/reviews.atom"/>
  <link rel="next" href="https://reviews.example/feeds/company/reviews.atom?page=2"/>
  <entry>
    <id>tag:reviews.example,2026:review/1001</id>
    <published>2026-10-05T11:58:00+03:00</published>
    <updated>2026-10-05T11:59:30+03:00</updated>
    <title>Доставка опоздала</title>
    <content type="html"><![CDATA[<p>Курьер приехал на <b>два дня</b> позже &amp; не позвонил.</p>]]></content>
    <author><name>Анна П.</name><uri>https://reviews.example/u/77</uri></author>
    <link rel="alternate" href="https://reviews.example/review/1001"/>
    <link rel="related" href="https://reviews.example/company/42"/>
    <category term="delivery"/>
    <category term="call_centre"/>
    <gd:rating value="2" min="1" max="5"/>
  </entry>
  <entry>
    <id>tag:reviews.example,2026:review/1000</id>
    <published>2026-10-04T09:00:00+03:00</published>
    <updated>2026-10-04T09:00:00+03:00</updated>
    <title>Спасибо</title>
    <content type="html">&lt;p&gt;Всё отлично&lt;/p&gt;</content>
    <author><name>Олег</name><uri>https://reviews.example/u/78</uri></author>
    <gd:rating value="5" min="1" max="5"/>
  </entry>
</feed>
"""

RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel>
    <title>Reviews</title>
    <link>https://reviews.example/</link>
    <description>Latest reviews</description>
    <lastBuildDate>Mon, 05 Oct 2026 09:00:00 GMT</lastBuildDate>
    <atom:link rel="next" href="https://reviews.example/rss?page=2"/>
    <item>
      <guid isPermaLink="false">r-1001</guid>
      <pubDate>Mon, 05 Oct 2026 08:58:00 GMT</pubDate>
      <title>Долго ждал</title>
      <description><![CDATA[Ждал <i>неделю</i>]]></description>
      <author>anna@example.com (Анна)</author>
      <dc:creator>Анна</dc:creator>
      <link>https://reviews.example/r/1001</link>
      <category>delivery</category>
      <category domain="https://reviews.example/topics">store</category>
    </item>
    <item>
      <guid>https://reviews.example/r/1000</guid>
      <pubDate>Sun, 04 Oct 2026 06:00:00 +0000</pubDate>
      <title>Хорошо</title>
    </item>
  </channel>
</rss>
"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>1</id><title>&lol9;</title></entry></feed>
"""


def refused(data: bytes, options: ReaderOptions | None = None) -> UnreadableFile:
    with pytest.raises(UnreadableFile) as caught:
        read(data, options or ReaderOptions())
    return caught.value


# --- Atom and RSS to records


def test_atom_entries_become_records_by_the_documented_mapping() -> None:
    document = read_feed(ATOM.encode(), ReaderOptions())
    first, second = document.result.records
    assert document.result.errors == []
    assert first["id"] == "tag:reviews.example,2026:review/1001"
    assert first["published"] == "2026-10-05T11:58:00+03:00"
    assert first["title"] == "Доставка опоздала"  # no attributes, no children: its text
    assert first["author"] == {"name": "Анна П.", "uri": "https://reviews.example/u/77"}
    assert first["content"] == {
        "@type": "html",
        "#text": "<p>Курьер приехал на <b>два дня</b> позже &amp; не позвонил.</p>",
    }
    assert first["link"] == {"@rel": "alternate", "@href": "https://reviews.example/review/1001"}  # the first
    assert [link["@rel"] for link in first["link[]"]] == ["alternate", "related"]
    assert first["category"] == {"@term": "delivery"}
    assert [c["@term"] for c in first["category[]"]] == ["delivery", "call_centre"]
    assert first["gd:rating"] == {"@value": "2", "@min": "1", "@max": "5"}
    assert second["content"]["#text"] == "<p>Всё отлично</p>"  # escaped HTML is markup in the text
    assert "link[]" not in second and "category" not in second
    assert document.link("next") == "https://reviews.example/feeds/company/reviews.atom?page=2"
    assert document.updated == "2026-10-05T12:00:00+03:00"
    json.dumps(document.result.records)  # plain JSON values


def test_rss_items_become_records_and_keep_their_namespaced_elements() -> None:
    document = read_feed(RSS.encode(), ReaderOptions())
    first, second = document.result.records
    assert first["guid"] == {"@isPermaLink": "false", "#text": "r-1001"}
    assert second["guid"] == "https://reviews.example/r/1000"
    assert first["pubDate"] == "Mon, 05 Oct 2026 08:58:00 GMT"
    assert first["description"] == "Ждал <i>неделю</i>"  # CDATA is text
    assert first["dc:creator"] == "Анна"
    assert first["category"] == "delivery"
    assert first["category[]"] == ["delivery", {"@domain": "https://reviews.example/topics", "#text": "store"}]
    assert document.link("next") == "https://reviews.example/rss?page=2"
    assert document.updated == "Mon, 05 Oct 2026 09:00:00 GMT"


def test_a_namespace_is_keyed_by_the_channels_prefix_whatever_the_feed_writes() -> None:
    other_prefix = ATOM.replace('xmlns:gd="', 'xmlns:g="').replace("<gd:rating", "<g:rating")
    assert "g:rating" in read(other_prefix.encode(), ReaderOptions()).records[0]
    mapped = read(other_prefix.encode(), ReaderOptions(namespaces={"gd": GD})).records[0]
    assert mapped["gd:rating"]["@value"] == "2" and "g:rating" not in mapped


def test_atom_elements_never_carry_a_prefix_and_xhtml_content_is_markup_text() -> None:
    feed = b"""<a:feed xmlns:a="http://www.w3.org/2005/Atom"><a:entry><a:id>x1</a:id>
      <a:content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>Fast &amp; <b>kind</b></p></div></a:content>
      </a:entry></a:feed>"""
    (record,) = read(feed, ReaderOptions()).records
    assert record["id"] == "x1"
    assert record["content"] == {"@type": "xhtml", "#text": "<div><p>Fast &amp; <b>kind</b></p></div>"}


def test_the_shipped_channel_stages_id_time_score_and_text_without_html() -> None:
    channel = get_channel("review_site_feed")
    result = read_file(ATOM.encode(), channel)
    payloads = pl.DataFrame(
        {
            "payload": [json.dumps(r, ensure_ascii=False) for r in result.records],
            "_batch_id": ["b"] * 2,
            "_source_file": ["review_site_feed/feed.xml"] * 2,
            "_record_index": [0, 1],
        }
    )
    normalized = normalize_channel(payloads, channel, pii_key=b"k", as_of=datetime(2026, 11, 1, tzinfo=UTC))
    rows = normalized.rows.sort("feedback_id", descending=True)
    first = rows.row(0, named=True)
    assert first["feedback_id"] == "review_site_feed:tag:reviews.example,2026:review/1001"
    assert first["received_at"] == datetime(2026, 10, 5, 8, 58, tzinfo=UTC)
    assert rows["score_raw"].to_list() == [2, 5]
    assert first["body_text"].startswith("Доставка опоздала") and "<b>" not in first["body_text"]
    assert "два дня" in first["body_text"]


# --- encodings


def test_the_declared_windows_1251_encoding_is_honoured() -> None:
    feed = ATOM.replace('encoding="utf-8"', 'encoding="windows-1251"').encode("cp1251")
    assert read(feed, ReaderOptions()).records[0]["title"] == "Доставка опоздала"
    koi8 = ATOM.replace('encoding="utf-8"', "encoding='KOI8-R'").encode("koi8-r")
    assert read(koi8, ReaderOptions()).records[1]["title"] == "Спасибо"


def test_a_byte_order_mark_is_honoured() -> None:
    assert read(b"\xef\xbb\xbf" + ATOM.encode(), ReaderOptions()).records[0]["title"] == "Доставка опоздала"
    utf16 = ATOM.replace('encoding="utf-8"', 'encoding="UTF-16"').encode("utf-16")  # with its BOM
    assert read(utf16, ReaderOptions()).records[1]["title"] == "Спасибо"


def test_a_declaration_that_lies_is_an_encoding_mismatch() -> None:
    utf8_says_1251 = ATOM.replace('encoding="utf-8"', 'encoding="windows-1251"').encode("utf-8")
    assert refused(utf8_says_1251).reason == "encoding_mismatch"
    cp1251_says_utf8 = ATOM.encode("cp1251")
    assert refused(cp1251_says_utf8).reason == "encoding_mismatch"
    assert refused(ATOM.replace("utf-8", "x-no-such").encode()).reason == "unreadable_encoding"


def test_without_a_declaration_the_channels_encoding_or_detection_decides() -> None:
    bare = ATOM.split("\n", 1)[1].encode("cp1251")
    assert read(bare, ReaderOptions()).records[0]["title"] == "Доставка опоздала"  # detected as Russian cp1251
    assert read(bare, ReaderOptions(encoding="cp1251")).records[1]["title"] == "Спасибо"


# --- DTDs and entities: refused, never expanded or fetched


def test_billion_laughs_is_refused_at_once_and_never_expanded() -> None:
    started = time.perf_counter()
    error = refused(BILLION_LAUGHS)
    assert time.perf_counter() - started < 0.05
    assert error.reason == "xml_dtd_refused"
    assert "DOCTYPE" in error.detail and "billion laughs" in error.detail


def test_xxe_is_refused_before_the_entity_is_read() -> None:
    xxe = b"""<?xml version="1.0"?>
<!DOCTYPE feed [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>&xxe;</id></entry></feed>"""
    error = refused(xxe)
    assert error.reason == "xml_dtd_refused" and "root:" not in error.detail


def test_an_external_dtd_is_refused_and_never_fetched() -> None:
    external = b"""<?xml version="1.0"?>
<!-- a comment first -->
<!DOCTYPE feed SYSTEM "http://127.0.0.1:9/evil.dtd">
<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>1</id></entry></feed>"""
    error = refused(external)
    assert error.reason == "xml_dtd_refused" and "line 3" in error.detail


def test_a_doctype_past_the_prolog_check_is_refused_by_the_parser_itself() -> None:
    """A prolog longer than the up-front scan: expat's doctype handler refuses it before the subset."""
    padded = b'<?xml version="1.0"?>\n<!--' + b"x" * 70_000 + b"-->\n" + BILLION_LAUGHS.split(b"\n", 1)[1]
    error = refused(padded)
    assert error.reason == "xml_dtd_refused" and "<!DOCTYPE lolz>" in error.detail


def test_an_undeclared_entity_is_broken_xml_not_an_expansion() -> None:
    error = refused(b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>&nbsp;</id></entry></feed>')
    assert error.reason == "broken_xml" and "undefined entity" in error.detail


# --- files that are not feeds


def test_broken_xml_says_where() -> None:
    broken = ATOM.replace("</title>\n    <content", "\n    <content", 1).encode()
    error = refused(broken)
    assert error.reason == "broken_xml"
    assert error.detail == "line 20 col 5: mismatched tag"  # </entry> while <title> is open


def test_json_csv_or_a_workbook_sent_to_the_xml_reader_says_what_it_looks_like() -> None:
    error = refused(b'{"feed": {"entry": []}}')
    assert error.reason == "wrong_format"
    assert error.detail == "JSON (an object) sent to the XML feed reader: the file is not XML"
    error = refused("id;Дата;Оценка\n1;05.10.2026;5\n".encode())
    assert error.reason == "wrong_format" and error.detail.startswith("CSV (a header line with semicolons")
    error = refused(b"PK\x03\x04" + b"\x00" * 40)
    assert error.reason == "wrong_format" and "XLSX workbook" in error.detail


def test_an_html_page_is_not_a_feed() -> None:
    error = refused(b"<html><body>Service unavailable</body></html>")
    assert error.reason == "not_a_feed" and "<html>" in error.detail


def test_an_empty_feed_has_no_records() -> None:
    assert read(b'<feed xmlns="http://www.w3.org/2005/Atom"><title>none</title></feed>', ReaderOptions()).records == []


# --- limits


def test_an_entry_over_max_record_bytes_is_a_record_error_and_the_others_land() -> None:
    huge = "<entry><id>big</id><content>" + "ж" * 3_000_000 + "</content></entry>"
    feed = ATOM.replace("  <entry>", huge + "\n  <entry>", 1).encode()
    options = ReaderOptions(max_record_bytes=1_000_000)
    result = read(feed, options)
    assert [r["id"] for r in result.records] == [
        "tag:reviews.example,2026:review/1001",
        "tag:reviews.example,2026:review/1000",
    ]
    assert result.record_indexes == [1, 2]
    (error,) = result.errors
    assert error.record_index == 0 and error.reason == "record_too_large"
    assert error.detail.startswith("entry 1 (line 8): ") and "max_record_bytes 1,000,000" in error.detail
    assert len(error.raw_excerpt) <= 500
    channel = get_channel("review_site_feed").model_copy(update={"reader": options})
    assert len(read_file(feed, channel).errors) == 1  # read_file leaves the reader's own check alone
