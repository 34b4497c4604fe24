"""The sample generator: every channel, its native format as channels.yaml describes it, determinism,
case events that point at real items, and the planted bad records where the summary says."""

import codecs
import csv
import email
import io
import json
import mailbox
import random
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from fnmatch import fnmatch
from pathlib import Path
from typing import Any
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

import fastexcel
import polars as pl
import pytest

from otklik.sample import GenerationSummary, generate_landing, texts
from otklik.sample.cases import EMAIL_REF_KEEPS_ANGLE_BRACKETS
from otklik.sample.generate import BAD_PLAN, ON_TOP_WRITERS
from otklik.sample.items import profile_for
from otklik.sample.surveys import _hex_id
from transforms.channels import Channel, load_channels
from transforms.normalize import normalize_channel
from transforms.readers import UnreadableFile, read_file
from transforms.readers.base import ReadResult, filter_records
from transforms.readers.json_pages import parent_values, records_with_parents

ITEMS = 400
MONTH = "2026-10"
MOSCOW = ZoneInfo("Europe/Moscow")
MONTH_START = datetime(2026, 10, 1, tzinfo=MOSCOW)
MONTH_END = datetime(2026, 11, 1, tzinfo=MOSCOW)
PROBLEMS = {
    "out_of_range_score",
    "missing_id",
    "duplicate",
    "future_date",
    "broken_json",
    "bad_score",
    "bad_outcome",
    "wrong_encoding",
}


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerationSummary]:
    path = tmp_path_factory.mktemp("landing")
    return path, generate_landing(path, month=MONTH, items=ITEMS, seed=7, truth=True)


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Enough items for the rare things (quoting, markup, formulas) and the daily rhythm to show."""
    path = tmp_path_factory.mktemp("large")
    generate_landing(path, month=MONTH, items=4000, seed=3, truth=True)
    return path


# -- small independent readers: records of a channel's files as dicts, broken lines skipped


def _decode(data: bytes) -> str:
    """By the byte-order mark, else UTF-8, else cp1251 (the IVR export)."""
    for bom, encoding in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            return data.decode(encoding)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1251")


def _records(channel: Channel, path: Path) -> list[dict[str, Any]]:
    data = path.read_bytes()
    if channel.format == "csv":
        text = _decode(data)
        return list(csv.DictReader(io.StringIO(text, newline=""), delimiter=channel.reader.delimiter or ","))
    if channel.format == "jsonl":
        records = []
        for line in data.decode("utf-8").splitlines():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return records
    if channel.format == "json_pages":  # as the reader walks it: parents' fields copied on, the filter applied
        pairs = records_with_parents(json.loads(data), channel.reader.records_path)
        records = [record | parent_values(parent, channel.reader) for parent, record in pairs]
        return filter_records(ReadResult(records=records), channel.reader.record_filter).records
    if channel.format == "xlsx":
        frame = fastexcel.read_excel(data).load_sheet(0, dtypes="string").to_polars()
        return frame.to_dicts()
    if channel.format == "eml":
        message = email.message_from_bytes(data)
        return [{"message_id": message["Message-ID"] or "", "date": message["Date"]}]
    if channel.format == "mbox":
        box = mailbox.mbox(str(path), create=False)
        return [{"message_id": (m["Message-ID"] or "").strip("<>"), "date": m["Date"]} for m in box]
    if channel.format == "xml_feed":
        return _feed_entries(channel, data)
    raise AssertionError(f"no test reader for {channel.format}")


ATOM = "http://www.w3.org/2005/Atom"


def _feed_entries(channel: Channel, data: bytes) -> list[dict[str, Any]]:
    """Atom entries in the xml_feed reader's shape (@attributes, #text, the first of repeated elements)."""
    prefixes = {uri: prefix for prefix, uri in channel.reader.namespaces.items()}

    def key(tag: str) -> str:
        uri, _, local = tag[1:].partition("}") if tag.startswith("{") else ("", "", tag)
        return local if uri in ("", ATOM) else f"{prefixes.get(uri, uri)}:{local}"

    def value(element: ElementTree.Element) -> Any:
        if not element.attrib and not len(element):
            return element.text or ""
        record: dict[str, Any] = {f"@{name}": text for name, text in element.attrib.items()}
        for child in element:
            record.setdefault(key(child.tag), value(child))
        if (element.text or "").strip():
            record["#text"] = element.text
        return record

    return [value(entry) for entry in ElementTree.fromstring(data).iter(f"{{{ATOM}}}entry")]


def _get(record: dict[str, Any], path: str) -> Any:
    value: Any = record
    for key in path.split("."):
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def _channel_records(root: Path, channel: Channel) -> list[dict[str, Any]]:
    return [r for path in sorted((root / channel.id).iterdir()) for r in _records(channel, path)]


def _paths(channel: Channel, field: str) -> list[str]:
    source = channel.fields[field]
    return [source] if isinstance(source, str) else list(source)


def _source_id(channel: Channel, record: dict[str, Any]) -> str:
    """The item's id as the normalizer derives it: the mapped parts, blanks skipped, joined by a space."""
    parts = (_get(record, path) for path in _paths(channel, "source_item_id"))
    return " ".join(str(part) for part in parts if part not in (None, ""))


def _received_at(channel: Channel, record: dict[str, Any]) -> datetime:
    zone = ZoneInfo(channel.timezone)
    if channel.format in ("eml", "mbox"):
        return email.utils.parsedate_to_datetime(record["date"])
    raw = " ".join(str(_get(record, path)) for path in _paths(channel, "received_at"))
    if channel.timestamp_format in ("epoch", "epoch_ms"):
        divisor = 1000 if channel.timestamp_format == "epoch_ms" else 1
        return datetime.fromtimestamp(int(raw) / divisor, ZoneInfo("UTC"))
    try:
        if channel.timestamp_format is None:
            raise ValueError
        return datetime.strptime(raw, channel.timestamp_format).replace(tzinfo=zone)
    except ValueError:  # ISO, or an Excel date cell that comes back as ISO
        at = datetime.fromisoformat(raw if channel.timestamp_format is None else raw[:10])
        return at if at.tzinfo is not None else at.replace(tzinfo=zone)


def _crm_ref(feedback_id: str) -> str:
    """How the CRM export writes an item's feedback id (see cases.EMAIL_REF_KEEPS_ANGLE_BRACKETS)."""
    if feedback_id.startswith("email_inbox:") and not EMAIL_REF_KEEPS_ANGLE_BRACKETS:
        return feedback_id.replace(":<", ":", 1).removesuffix(">")
    return feedback_id


# -- tests


def test_every_channel_in_the_registry_gets_files_its_reader_picks_up(landing) -> None:
    root, summary = landing
    for channel in load_channels():
        files = sorted((root / channel.id).iterdir())
        assert files, channel.id
        assert all(fnmatch(f.name, channel.reader.file_glob) for f in files), channel.id
        assert set(summary.channel(channel.id).files) == set(files)


def test_files_carry_every_mapped_source_field(large: Path) -> None:
    root = large  # alternatives such as a Telegram caption or sticker are rare in a small sample
    for channel in load_channels():
        if channel.format in ("eml", "mbox"):
            continue  # the e-mail readers derive their fields from headers
        records = _channel_records(root, channel)
        for name, source in channel.fields.items():
            for path in [source] if isinstance(source, str) else source:
                assert any(_get(r, path) not in (None, "") for r in records), f"{channel.id}.{name}: {path}"


def test_same_seed_gives_byte_identical_files(landing, tmp_path: Path) -> None:
    root, _ = landing
    generate_landing(tmp_path, month=MONTH, items=ITEMS, seed=7, truth=True)
    first = {p.relative_to(root): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    second = {p.relative_to(tmp_path): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert first.keys() == second.keys()
    assert [name for name in first if first[name] != second[name]] == []


def test_another_seed_gives_other_data(landing, tmp_path: Path) -> None:
    root, _ = landing
    generate_landing(tmp_path, month=MONTH, items=ITEMS, seed=8)
    name = "web_form/feedback_form_2026-10-05.csv"
    assert (root / name).read_bytes() != (tmp_path / name).read_bytes()


def test_ivr_export_is_cp1251_semicolon_crlf(landing) -> None:
    root, _ = landing
    for path in sorted((root / "ivr_post_call_survey").iterdir()):
        data = path.read_bytes()
        with pytest.raises(UnicodeDecodeError):
            data.decode("utf-8")
        assert data.count(b"\n") == data.count(b"\r\n")
        text = data.decode("cp1251")
        assert text.splitlines()[0] == "ИД звонка;Дата;Время;Номер телефона;Оценка;Комментарий оператора"
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";", strict=True))
        assert {len(row) for row in rows} == {6}


def test_ivr_comments_exercise_quoting(large: Path) -> None:
    text = "".join(p.read_bytes().decode("cp1251") for p in (large / "ivr_post_call_survey").iterdir())
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    comments = [row[5] for row in rows]
    assert any(";" in c for c in comments)
    assert any('"' in c for c in comments)


def test_valid_items_add_up_to_the_items_asked_for(landing) -> None:
    root, summary = landing
    on_top = sum(summary.channel(channel_id).valid for channel_id in ON_TOP_WRITERS)  # review site, Telegram chats
    assert on_top == sum(round(ITEMS * profile_for(channel_id).share) for channel_id in ON_TOP_WRITERS) > 0
    assert summary.items == ITEMS + on_top
    feedback = [c for c in load_channels() if c.entity == "feedback"]
    assert sum(summary.channel(c.id).valid for c in feedback) == ITEMS + on_top
    planted = sum(1 for b in summary.bad_records if b.problem != "broken_json")  # the test reader skips those
    written = sum(len(_channel_records(root, c)) for c in feedback)
    assert written == ITEMS + on_top + planted
    assert summary.channel("web_form").valid > summary.channel("store_complaint_book").valid


def test_timestamps_of_valid_items_fall_in_the_month(landing) -> None:
    root, summary = landing
    future = {b.source_item_id for b in summary.bad_records if b.problem == "future_date"}
    for channel in load_channels():
        if channel.entity != "feedback":
            continue
        for record in _channel_records(root, channel):
            if _source_id(channel, record) in future:
                assert _received_at(channel, record).year == 2062
                continue
            at = _received_at(channel, record)
            assert MONTH_START <= at < MONTH_END, (channel.id, record)


def test_every_case_event_points_at_an_item_in_the_files(landing) -> None:
    root, _ = landing
    known = set()
    for channel in load_channels():
        if channel.entity == "feedback":
            known |= {f"{channel.id}:{_source_id(channel, r)}" for r in _channel_records(root, channel)}
    events = _channel_records(root, next(c for c in load_channels() if c.id == "crm_case_events"))
    assert events
    known = {_crm_ref(ref) for ref in known}
    assert {e["feedback_id"] for e in events} <= known
    emails = [e["feedback_id"] for e in events if e["feedback_id"].startswith("email_inbox:")]
    assert emails
    if EMAIL_REF_KEEPS_ANGLE_BRACKETS:  # the Message-ID exactly as written
        assert all(ref.startswith("email_inbox:<") and ref.endswith(">") for ref in emails)


def test_case_events_follow_the_case_lifecycle_in_time_order(landing) -> None:
    root, summary = landing
    channel = next(c for c in load_channels() if c.id == "crm_case_events")
    by_case: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
    for event in _channel_records(root, channel):
        by_case[event["case_id"]].append((datetime.fromisoformat(event["event_at"]), event["event"]))
    assert len(by_case) == summary.cases
    for case_id, events in by_case.items():
        times = [at for at, _ in events]
        assert times == sorted(times) and len(set(times)) == len(times), case_id
        names = [name for _, name in events]
        assert names[0] == "opened" and names.count("opened") == 1, case_id
        for i, name in enumerate(names):
            if name == "closed":
                assert names[i - 1] == "resolved", case_id
            if name == "reopened":
                assert names[i - 1] == "closed", case_id
        assert all(MONTH_START <= at < MONTH_END for at in times)


def test_every_complaint_question_and_contact_request_opens_one_case(landing) -> None:
    root, _ = landing
    truth = list(csv.DictReader((root / ".truth" / "items.csv").open(encoding="utf-8")))
    channel = next(c for c in load_channels() if c.id == "crm_case_events")
    events = _channel_records(root, channel)
    opened = [e["feedback_id"] for e in events if e["event"] == "opened"]
    assert len(opened) == len(set(opened))
    expected = {_crm_ref(t["feedback_id"]) for t in truth if t["opens_case"] == "1"}
    # an item of the month's last hours may get its case next month
    late = {_crm_ref(t["feedback_id"]) for t in truth if t["received_at"] >= "2026-10-31"}
    assert expected - late <= set(opened) <= expected
    assert {t["kind"] for t in truth if _crm_ref(t["feedback_id"]) in set(opened)} >= {
        "complaint",
        "question",
    }


def test_case_owners_come_from_the_org(landing) -> None:
    from transforms.org import load_org

    org = load_org()
    departments = {dep.id: d.id for d in org.directorates for dep in d.departments}
    managers = {m.id: m.department_id for m in org.managers}
    root, _ = landing
    channel = next(c for c in load_channels() if c.id == "crm_case_events")
    for event in _channel_records(root, channel):
        assert departments[event["department"]] == event["directorate"]
        assert managers[event["manager"]] == event["department"]
        assert event["priority"] in {"vip", "high", "normal", "low"}  # vip: the vip_callback_5m policy


def test_bad_records_are_planted_where_the_summary_says(landing) -> None:
    root, summary = landing
    assert {b.problem for b in summary.bad_records} == PROBLEMS
    assert len(summary.bad_records) == max(len(BAD_PLAN), round(ITEMS * 0.005))  # ~0.5%, one of each at least
    channels = {c.id: c for c in load_channels()}
    for bad in summary.bad_records:
        path = root / bad.file
        assert path.is_file(), bad
        channel = channels[bad.channel_id]
        if bad.problem == "broken_json":
            lines = path.read_text(encoding="utf-8").splitlines()
            broken = [line for line in lines if bad.source_item_id in line]
            assert len(broken) == 1
            with pytest.raises(json.JSONDecodeError):
                json.loads(broken[0])
            continue
        records = _records(channel, path)
        if bad.problem == "missing_id":
            assert any(not _source_id(channel, r) for r in records)
            continue
        if bad.problem == "duplicate":
            all_ids = [_source_id(channel, r) for r in _channel_records(root, channel)]
            assert all_ids.count(bad.source_item_id) == 2
            continue
        (record,) = [r for r in records if _source_id(channel, r) == bad.source_item_id]
        score = _get(record, str(channel.fields.get("score")))
        if bad.problem == "out_of_range_score":
            low, high = (0, 10) if channel.score_scale == "0-10" else (1, 5)
            assert not low <= int(score) <= high
        elif bad.problem == "bad_score":
            assert isinstance(score, str) and not score.replace(".", "", 1).isdigit()
        elif bad.problem == "future_date":
            assert _received_at(channel, record) > MONTH_END
        elif bad.problem == "bad_outcome":
            assert record[channel.fields["self_service_outcome"]] not in SESSION_OUTCOMES
        elif bad.problem == "wrong_encoding":
            with pytest.raises(UnreadableFile, match="encoding_mismatch"):
                read_file(path.read_bytes(), channel)


def test_generation_refuses_to_mix_with_existing_files_unless_told(landing, tmp_path: Path) -> None:
    generate_landing(tmp_path, items=50, seed=1)
    with pytest.raises(FileExistsError):
        generate_landing(tmp_path, items=50, seed=2)
    (tmp_path / "email_inbox" / "stale.eml").write_bytes(b"x")
    (tmp_path / "keep_me.txt").write_text("not a channel folder")
    summary = generate_landing(tmp_path, items=50, seed=2, overwrite=True)
    assert not (tmp_path / "email_inbox" / "stale.eml").exists()
    assert (tmp_path / "keep_me.txt").exists()
    assert summary.items - summary.channel("review_site_feed").valid == 50


def test_summary_prints_as_a_table(landing) -> None:
    from rich.console import Console

    _, summary = landing
    console = Console(record=True, width=200)
    console.print(summary.as_table())
    output = console.export_text()
    assert "nps_email_survey" in output and "crm_case_events" in output
    assert len(summary.rows()) == len(load_channels())


def test_template_bank_is_varied_and_every_slot_fills() -> None:
    rng = random.Random(0)
    for kind in texts.KINDS:
        bank = texts.TEMPLATES[kind]
        assert set(bank) == set(texts.TOPICS)
        assert sum(len(templates) for templates in bank.values()) >= 40, kind
        for templates in bank.values():
            for template in templates:
                text = texts.fill(template, texts.Slots(rng, {"store": "S", "order": "1"}, 10, 31, today=5))
                assert "{" not in text and text[0].isupper()


def test_texts_carry_pii_html_and_formulas_for_the_pipeline_to_handle(large: Path) -> None:
    text = "".join(p.read_text(encoding="utf-8") for p in (large / "web_form").iterdir())
    assert "=HYPERLINK(" in text or "=1+1" in text
    assert "<b>" in text or "<script>" in text or "<br>" in text or "<p " in text
    assert "Мой телефон" in text or "Перезвоните мне по номеру" in text or "тел. " in text


def test_month_is_configurable_and_timestamps_follow(tmp_path: Path) -> None:
    summary = generate_landing(tmp_path, month="2027-02", items=100, seed=1)
    assert summary.month == "2027-02"
    names = {p.name for p in (tmp_path / "web_form").iterdir()}
    assert all(name.startswith("feedback_form_2027-02-") for name in names)
    orders = (tmp_path / "erp_orders_monthly" / "orders_2027-02.csv").read_text().splitlines()
    assert orders[1].startswith("2027-02,")
    with pytest.raises(ValueError):
        generate_landing(tmp_path / "x", month="October")


def test_night_and_sunday_are_quieter(large: Path) -> None:
    hours: dict[int, int] = defaultdict(int)
    weekdays: dict[int, int] = defaultdict(int)
    for path in (large / "web_form").iterdir():
        for row in csv.DictReader(path.open(encoding="utf-8")):
            at = datetime.strptime(row["created_at"], "%Y-%m-%d %H:%M:%S")
            hours[at.hour] += 1
            weekdays[at.weekday()] += 1
    assert hours[3] * 5 < hours[12]
    assert weekdays[6] < weekdays[0] * 0.8  # October 2026 has four Sundays and four Mondays


NEW_CHANNELS = """
channels:
  - id: kiosk_survey
    display_name: A store kiosk exporting cp1251 CSV with date and time apart
    format: csv
    reader: {file_glob: "*.csv", encoding: cp1251, delimiter: ";"}
    fields: {source_item_id: "Номер", received_at: ["День", "Час"], score: "Балл", body_text: "Отзыв"}
    timestamp_format: "%d.%m.%Y %H:%M:%S"
    timezone: Europe/Moscow
    score_scale: "1-5"
    question_type: csat
  - id: chat_widget
    display_name: A chat widget's webhook events
    format: jsonl
    fields: {source_item_id: event.id, received_at: event.ts, body_text: event.message.text,
             customer_ref: visitor.id, contact_requested: visitor.callback}
    timestamp_format: epoch
  - id: push_feedback
    display_name: An app's push-reply webhook stamped in Unix milliseconds
    format: jsonl
    fields: {source_item_id: id, received_at: sent_ms, body_text: reply}
    timestamp_format: epoch_ms
  - id: marketplace_x
    display_name: A marketplace API in pages
    format: json_pages
    reader: {file_glob: "*.json", records_path: data.reviews}
    fields: {source_item_id: id, received_at: created, score: stars, body_text: [pros, cons]}
    score_scale: "1-5"
    question_type: rating
  - id: tnps_final_survey
    display_name: Close-the-loop final survey in a workbook
    format: xlsx
    reader: {file_glob: "*.xlsx"}
    fields: {source_item_id: ID, received_at: Answered, score: Solved, body_text: Comment}
    score_scale: yes_no
    question_type: ces_solved
  - id: forum_feed
    display_name: A forum's Atom feed with its ratings in an extension namespace
    format: xml_feed
    reader: {file_glob: "*.xml", namespaces: {r: "urn:example:rating"}}
    fields: {source_item_id: id, received_at: updated, score: r:stars.@value, body_text: [title, content]}
    score_scale: "1-5"
    question_type: rating
  - id: crm_case_events
    display_name: CRM
    entity: case_event
    format: csv
    fields: {case_id: case_id, event_type: event, event_at: event_at, feedback_ref: feedback_id}
"""


def test_a_channel_added_to_the_registry_gets_files_from_its_fields_map(tmp_path: Path) -> None:
    from transforms.channels import parse_channels

    channels = parse_channels(NEW_CHANNELS)
    summary = generate_landing(tmp_path, items=300, seed=1, channels=channels)
    assert summary.items == 300 and summary.bad_records == ()
    known = set()
    for channel in channels:
        if channel.entity != "feedback":
            continue
        assert summary.channel(channel.id).valid > 0
        records = _channel_records(tmp_path, channel)
        assert len(records) == summary.channel(channel.id).valid
        for name, source in channel.fields.items():
            for path in [source] if isinstance(source, str) else source:
                assert any(_get(r, path) not in (None, "") for r in records), f"{channel.id}.{name}: {path}"
        for record in records:
            assert MONTH_START <= _received_at(channel, record) < MONTH_END
        known |= {f"{channel.id}:{_source_id(channel, r)}" for r in records}
    assert {e["feedback_id"] for e in _channel_records(tmp_path, channels[-1])} <= known
    kiosk = next((tmp_path / "kiosk_survey").iterdir()).read_bytes()
    assert kiosk.decode("cp1251").startswith("Номер;День;Час;Балл;Отзыв\n")
    feed = next((tmp_path / "forum_feed").iterdir()).read_bytes()
    assert b'xmlns:r="urn:example:rating"' in feed
    assert len(read_file(feed, channels[-2]).records) == summary.channel("forum_feed").valid


# -- the channels added for the 24+ channel registry

AS_OF = datetime(2026, 11, 1, tzinfo=ZoneInfo("UTC"))


def _channel(channel_id: str) -> Channel:
    return next(c for c in load_channels() if c.id == channel_id)


def _payload_frame(rows: list[tuple[str, str, int]]) -> pl.DataFrame:
    """What warehouse/staging.py reads from raw.channel_payloads for one channel."""
    return pl.DataFrame(
        {
            "payload": [r[0] for r in rows],
            "_batch_id": ["batch"] * len(rows),
            "_source_file": [r[1] for r in rows],
            "_record_index": [r[2] for r in rows],
        },
        schema={"payload": pl.String, "_batch_id": pl.String, "_source_file": pl.String, "_record_index": pl.Int64},
    )


def test_every_channel_normalizes_to_its_valid_items_and_refuses_exactly_the_planted_records(landing) -> None:
    """Through the real readers and normalizer: valid items stage, planted records do not, and every
    CRM case points at a staged feedback_id (the source id exactly as the normalizer derives it)."""
    root, summary = landing
    planted = Counter(b.channel_id for b in summary.bad_records)
    staged: set[str] = set()
    case_refs: set[str] = set()
    for channel in load_channels():
        rows: list[tuple[str, str, int]] = []
        refused = 0
        for path in sorted((root / channel.id).iterdir()):
            try:
                result = read_file(path.read_bytes(), channel)
            except UnreadableFile:  # the whole file goes to quarantine.files
                refused += len(_records(channel, path))
                continue
            refused += len(result.errors)
            name = path.relative_to(root).as_posix()
            rows += [(json.dumps(r, ensure_ascii=False), name, i) for i, r in result.indexed_records()]
        normalized = normalize_channel(_payload_frame(rows), channel, pii_key=b"test-key", as_of=AS_OF)
        refused += normalized.rejects.height
        assert normalized.rows.height == summary.channel(channel.id).valid, channel.id
        assert refused == planted[channel.id], (channel.id, normalized.rejects.to_dicts()[:3])
        if channel.entity == "feedback":
            staged |= set(normalized.rows["feedback_id"].to_list())
        elif channel.entity == "case_event":
            case_refs |= set(normalized.rows["feedback_id"].drop_nulls().to_list())
    assert case_refs and case_refs <= staged


def test_google_play_export_is_utf16_le_with_a_bom(landing) -> None:
    root, summary = landing
    (path,) = sorted((root / "google_play_reviews").iterdir())
    assert path.name == "reviews_ru.instrumentmarket.app_202610.csv"
    data = path.read_bytes()
    assert data.startswith(codecs.BOM_UTF16_LE)
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    header = data.decode("utf-16").splitlines()[0].split(",")
    assert header[:6] == [
        "Package Name",
        "App Version Code",
        "App Version Name",
        "Reviewer Language",
        "Device",
        "Review Submit Date and Time",
    ]
    result = read_file(data, _channel("google_play_reviews"))
    assert result.errors == [] and len(result.records) == summary.channel("google_play_reviews").valid


def test_bitrix24_pages_carry_every_value_as_a_string(landing) -> None:
    root, summary = landing
    files = sorted((root / "bitrix24_activities").iterdir())
    for number, path in enumerate(files, start=1):
        page = json.loads(path.read_bytes())
        assert ("next" in page) == (number < len(files))
        assert len(page["result"]) <= 50
        for activity in page["result"]:
            for key, value in activity.items():
                assert value is None or isinstance(value, str) or value == [], (key, value)
    assert summary.channel("bitrix24_activities").records == sum(
        len(json.loads(p.read_bytes())["result"]) for p in files
    )


# Generated record keys that the real sample has and the generator leaves out, with the reason.
NOT_GENERATED = {
    "freshdesk_tickets": {"priority_name", "stats"},  # a fixture extra, and include=stats (not asked)
}
# Relative to tests/fixtures: real payloads, and ones written from the provider's documentation where
# the real sample may not be redistributed (tests/fixtures/real/README.md).
REAL_RECORDS = (
    ("ozon_reviews", "real/ozon/ozon-api-client_v1_review_list_response.json", "reviews"),
    ("wildberries_feedbacks", "documented/wildberries/feedbacks_page.json", "data.feedbacks"),
    ("app_store_reviews", "documented/app_store/customer_reviews_page1.json", "data"),
    ("bitrix24_activities", "real/bitrix24/b24-rest-docs_crm.activity.list_response_example.json", "result"),
    ("zendesk_tickets", "documented/zendesk/ticket.json", None),
    ("freshdesk_tickets", "real/freshdesk/python-freshdesk_v2_ticket_1.json", None),
)


@pytest.mark.parametrize(("channel_id", "sample", "records_path"), REAL_RECORDS, ids=[r[0] for r in REAL_RECORDS])
def test_generated_records_have_the_fields_of_the_real_payload(
    landing, real_samples: Path, channel_id: str, sample: str, records_path: str | None
) -> None:
    root, _ = landing
    document: Any = json.loads((real_samples.parent / sample).read_bytes())
    for key in (records_path or "").split("."):
        document = document[key] if key else document
    real = document[0] if isinstance(document, list) else document
    generated = _channel_records(root, _channel(channel_id))
    assert generated
    for record in generated:
        assert set(real) - NOT_GENERATED.get(channel_id, set()) <= set(record), channel_id


FINAL_SURVEY_KEYS = ["response_id", "survey", "case_id", "customer_id", "answered_at", "tnps", "solved", "comment"]


def test_close_the_loop_answers_come_after_their_case_closed(landing) -> None:
    root, summary = landing
    closed: dict[str, datetime] = {}
    referenced: set[str] = set()
    for event in _channel_records(root, _channel("crm_case_events")):
        referenced.add(event["feedback_id"].split(":", 1)[0])
        if event["event"] == "closed":
            closed.setdefault(event["case_id"], datetime.fromisoformat(event["event_at"]))
    records = _channel_records(root, _channel("ctl_final_survey"))
    assert records and len(records) == summary.channel("ctl_final_survey").valid
    for record in records:
        answered = datetime.fromisoformat(record["answered_at"])
        assert closed[record["case_id"]] < answered < MONTH_END
    # The final survey and the employees' survey never open cases; nor do self-service sessions.
    assert referenced.isdisjoint({"ctl_final_survey", "employee_pulse_survey", "self_service_sessions"})


def test_the_final_survey_has_one_line_per_response_with_both_answers(large: Path) -> None:
    channel = _channel("ctl_final_survey")
    assert "ctl_final_survey_solved" not in {c.id for c in load_channels()}
    assert not (large / "ctl_final_survey_solved").exists()
    files = sorted((large / channel.id).iterdir())
    assert files and all(f.name.startswith("responses_2026-10-") and f.suffix == ".jsonl" for f in files)
    records = _channel_records(large, channel)
    assert [list(r) for r in records] == [FINAL_SURVEY_KEYS] * len(records)
    assert len({r["response_id"] for r in records}) == len(records)  # one line per response
    assert len({r["case_id"] for r in records}) == len(records)  # one response per closed case
    assert {type(r["tnps"]) for r in records} == {int} and {r["tnps"] for r in records} <= set(range(11))
    solved = Counter(r["solved"] for r in records)
    assert set(solved) == {"Да", "Нет"} and solved["Да"] > solved["Нет"]
    # the answers agree: solved issues give higher tNPS
    by_answer = {answer: sum(r["tnps"] for r in records if r["solved"] == answer) / solved[answer] for answer in solved}
    assert by_answer["Да"] > by_answer["Нет"] + 3
    assert any(r["comment"] for r in records) and any(not r["comment"] for r in records)


def test_final_survey_responses_follow_every_kind_of_closed_case(large: Path) -> None:
    """Every closed case's customer may answer, not only those who ticked "contact me"."""
    events = _channel_records(large, _channel("crm_case_events"))
    opened_by = {e["case_id"]: e["feedback_id"] for e in events if e["event"] == "opened"}
    judged = [opened_by[r["case_id"]] for r in _channel_records(large, _channel("ctl_final_survey"))]
    channels = Counter(ref.split(":", 1)[0] for ref in judged)
    assert len(channels) >= 8  # cases from many channels, surveys and messengers alike
    assert channels["web_form"] and channels["email_inbox"] and channels["telegram_bot"]


SESSION_KEYS = ["session_id", "tool", "started_at", "ended_at", "customer_id", "question", "outcome", "escalated_to"]
SESSION_OUTCOMES = {"resolved", "escalated", "abandoned"}


@pytest.fixture(scope="module")
def sessions(large: Path) -> list[dict[str, Any]]:
    channel = _channel("self_service_sessions")
    files = sorted((large / channel.id).iterdir())
    assert [f.name for f in files] == [f"sessions_2026-10-{day:02d}.jsonl" for day in range(1, 32)]
    return [r for r in _channel_records(large, channel) if r["outcome"] in SESSION_OUTCOMES]


def test_self_service_sessions_are_a_believable_month(large: Path, sessions: list[dict[str, Any]]) -> None:
    assert all(list(r) == SESSION_KEYS for r in sessions)
    truth = list(csv.DictReader((large / ".truth" / "items.csv").open(encoding="utf-8")))
    customers = [t for t in truth if t["channel_id"] != "employee_pulse_survey"]
    assert 0.10 < len(sessions) / len(customers) < 0.14  # about 12% of the customers' items
    tools = Counter(r["tool"] for r in sessions)
    assert set(tools) == {"bot", "faq"} and 0.65 < tools["bot"] / len(sessions) < 0.75
    shares = {
        tool: {o: n / tools[tool] for o, n in Counter(r["outcome"] for r in sessions if r["tool"] == tool).items()}
        for tool in tools
    }
    assert set(shares["bot"]) == SESSION_OUTCOMES and set(shares["faq"]) == {"resolved", "abandoned"}
    assert 0.38 < shares["bot"]["resolved"] < 0.52 and 0.24 < shares["bot"]["escalated"] < 0.36
    assert 0.48 < shares["faq"]["resolved"] < 0.62
    assert all((r["escalated_to"] == "chat") == (r["outcome"] == "escalated") for r in sessions)
    assert 0.20 < sum(not r["customer_id"] for r in sessions) / len(sessions) < 0.30  # anonymous visitors
    assert len({r["session_id"] for r in sessions}) == len(sessions)
    for record in sessions:
        started, ended = (datetime.fromisoformat(record[key]) for key in ("started_at", "ended_at"))
        assert started.utcoffset() is not None and MONTH_START <= started < MONTH_END
        assert started < ended <= started + timedelta(minutes=10)
        assert record["question"]
    hours = Counter(datetime.fromisoformat(r["started_at"]).hour for r in sessions)
    assert sum(hours[h] for h in (19, 20, 21)) > 1.4 * sum(hours[h] for h in (9, 10, 11))  # evenings
    assert sum(hours[h] for h in (2, 3, 4)) * 8 < sum(hours[h] for h in (19, 20, 21))


def test_session_questions_come_from_the_question_bank(sessions: list[dict[str, Any]]) -> None:
    faq = [r["question"] for r in sessions if r["tool"] == "faq"]
    assert not any(q.lower().startswith(("здравствуйте", "добрый", "подскажите")) for q in faq)
    assert all(len(q) < 160 for q in faq)
    words = " ".join(r["question"].lower() for r in sessions)
    for topic_word in ("заказ", "доставк", "возврат", "оплат", "приложени", "магазин"):
        assert topic_word in words


def test_sessions_stage_with_their_outcome_and_open_no_case(landing) -> None:
    root, summary = landing
    channel = _channel("self_service_sessions")
    rows = [(json.dumps(r, ensure_ascii=False), "f", i) for i, r in enumerate(_channel_records(root, channel))]
    normalized = normalize_channel(_payload_frame(rows), channel, pii_key=b"k", as_of=AS_OF)
    assert normalized.rows.height == summary.channel(channel.id).valid
    assert set(normalized.rows["self_service_outcome"]) <= SESSION_OUTCOMES
    assert normalized.rejects["reason"].to_list() == ["bad_outcome"] * summary.channel(channel.id).bad
    truth = list(csv.DictReader((root / ".truth" / "items.csv").open(encoding="utf-8")))
    mine = [t for t in truth if t["channel_id"] == channel.id]
    assert {t["opens_case"] for t in mine} == {"0"}
    assert Counter(t["self_service_outcome"] for t in mine) == Counter(normalized.rows["self_service_outcome"])
    assert {t["self_service_outcome"] for t in truth if t["channel_id"] != channel.id} == {""}
    solved = {t["feedback_id"]: t["issue_solved"] for t in truth if t["channel_id"] == "ctl_final_survey"}
    assert solved and set(solved.values()) == {"0", "1"}


def test_employee_survey_is_anonymous(landing) -> None:
    root, summary = landing
    channel = _channel("employee_pulse_survey")
    assert (channel.question_type, channel.audience) == ("enps", "employee")
    assert not {"customer_ref", "contact_phone", "contact_email", "customer_name"} & set(channel.fields)
    truth = list(csv.DictReader((root / ".truth" / "items.csv").open(encoding="utf-8")))
    employees = [t for t in truth if t["channel_id"] == channel.id]
    assert employees and all(t["opens_case"] == "0" for t in employees)
    # unchanged: weekly workbooks with the HR tool's columns, every answer scored 0-10
    files = sorted((root / channel.id).iterdir())
    assert files and all(f.name.startswith("pulse_2026-W") and f.suffix == ".xlsx" for f in files)
    records = _channel_records(root, channel)
    assert len(records) == summary.channel(channel.id).valid == len(employees)
    assert list(records[0]) == [
        "ID анкеты",
        "Дата и время",
        "Подразделение",
        "Стаж",
        "Порекомендуете ли вы компанию как работодателя? (0-10)",
        "Комментарий",
    ]
    assert {int(float(r["Порекомендуете ли вы компанию как работодателя? (0-10)"])) for r in records} <= set(range(11))
    rows = [(json.dumps(r, ensure_ascii=False), "f", i) for i, r in enumerate(records)]
    staged = normalize_channel(_payload_frame(rows), channel, pii_key=b"k", as_of=AS_OF).rows
    assert staged.height == len(records) and staged["customer_key"].null_count() == staged.height
    assert set(staged["question_type"]) == {"enps"}


def test_claims_mailbox_mixes_utf8_cp1251_and_koi8r_messages(large: Path) -> None:
    data = b"".join(p.read_bytes() for p in sorted((large / "claims_mailbox").iterdir()))
    for charset in (b'charset="utf-8"', b'charset="windows-1251"', b'charset="koi8-r"'):
        assert charset in data
    result = read_file(data, _channel("claims_mailbox"))
    assert result.errors == []
    assert all(r["message_id"] and r["date"] for r in result.records)


def test_months_generated_one_by_one_never_reuse_a_source_id(landing, tmp_path: Path) -> None:
    # a history for the benchmarks is generated a month at a time, each month with a seed of its own
    root, _ = landing
    earlier = tmp_path / "earlier"
    generate_landing(earlier, month="2026-09", items=ITEMS, seed=8)
    for channel in (c for c in load_channels() if c.entity == "feedback"):
        october = {_source_id(channel, r) for r in _channel_records(root, channel)} - {"", None}
        september = {_source_id(channel, r) for r in _channel_records(earlier, channel)} - {"", None}
        assert october and september, channel.id
        assert not october & september, f"{channel.id}: {sorted(october & september)[:3]}"
        if all(i.isdigit() for i in october | september):  # a numbered sequence goes on from month to month
            assert min(map(int, october)) > max(map(int, september)), channel.id


def test_pulse_ids_of_two_months_differ_even_when_their_random_bits_are_the_same() -> None:
    # a 10M history drew one questionnaire's 32 random bits in two months: the month is in the id now
    september, october = _hex_id(random.Random(3), set(), 80), _hex_id(random.Random(3), set(), 81)
    assert september != october and september[3:] == october[3:]
    used: set[str] = set()
    ids = [_hex_id(random.Random(5), used, 81) for _ in range(3)]  # the same draw again: drawn anew
    assert len(set(ids)) == 3 and all(len(i) == 11 and i.startswith("051") for i in ids)


# -- the review site's Atom feed (otklik.sample.feeds)


def test_the_review_feed_is_atom_in_windows_1251_newest_first_and_opens_no_case(landing) -> None:
    root, summary = landing
    channel = next(c for c in load_channels() if c.id == "review_site_feed")
    files = summary.channel(channel.id).files
    staged = 0
    for path in files:
        data = path.read_bytes()
        assert data.startswith(b'<?xml version="1.0" encoding="windows-1251"?>')
        assert "Отзывы о компании".encode("cp1251") in data
        result = read_file(data, channel)
        assert result.errors == []
        times = [datetime.fromisoformat(r["published"]) for r in result.records]
        assert times == sorted(times, reverse=True)  # as the feed serves them: newest first
        assert {r["gd:rating"]["@value"] for r in result.records} <= {"1", "2", "3", "4", "5"}
        assert all(r["content"]["@type"] == "html" and r["content"]["#text"].startswith("<p>") for r in result.records)
        staged += len(result.records)
    assert staged == summary.channel(channel.id).valid
    truth = list(csv.DictReader((root / ".truth" / "items.csv").open(encoding="utf-8")))
    mine = [t for t in truth if t["channel_id"] == channel.id]
    assert len(mine) == staged and {t["opens_case"] for t in mine} == {"0"}


def test_adding_the_review_feed_left_every_other_channel_byte_identical(tmp_path: Path) -> None:
    """The feed is written on top of ``items``: the other channels' files are those of a registry without it."""
    channels = load_channels()
    without = tuple(c for c in channels if c.id not in ON_TOP_WRITERS)
    generate_landing(tmp_path / "with", month=MONTH, items=ITEMS, seed=9, channels=channels)
    generate_landing(tmp_path / "without", month=MONTH, items=ITEMS, seed=9, channels=without)

    def files(root: Path) -> dict[str, bytes]:
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}

    with_feed, without_feed = files(tmp_path / "with"), files(tmp_path / "without")
    assert {name for name in with_feed if name.split("/")[0] in ON_TOP_WRITERS}
    assert {name: data for name, data in with_feed.items() if name.split("/")[0] not in ON_TOP_WRITERS} == without_feed
