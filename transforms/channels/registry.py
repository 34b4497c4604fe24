"""The channel registry: every inbound channel, defined once in channels.yaml.

A channel says *where* its exports land, *which reader* parses their files (keyed by
format, never by channel), and *how* its source fields map onto one of the canonical
entities (see ``transforms.schemas``). Adding a channel with an existing format is one
YAML entry; unknown keys are rejected so that a typo fails at load time.
"""

import codecs
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from transforms.schemas import CUSTOMER_FIELDS, ENTITY_SCHEMAS

REGISTRY_PATH = Path(__file__).with_name("channels.yaml")

Format = Literal["csv", "json_pages", "jsonl", "xlsx", "eml", "mbox", "xml_feed"]
Entity = Literal["feedback", "case_event", "order_count", "customer_status"]
ScheduleGroup = Literal["every_15_minutes", "hourly", "daily"]
ScoreScale = Literal["0-10", "1-5", "1-7", "yes_no", "none"]
QuestionType = Literal["nps", "tnps", "enps", "csat", "ces_effort", "ces_solved", "rating", "none"]
# Who speaks in a channel: customers (every metric of the customer experience), or employees (the
# eNPS pulse survey: an audience of its own, never counted as customer feedback).
Audience = Literal["customer", "employee"]

# A source field is a dotted path into one parsed record ("description.comment"); a list of
# paths is joined (body text with a new line, anything else with a space), e.g. a date and a
# time that a call-centre export keeps in two columns.
FieldSource = str | list[str]


class ReaderOptions(BaseModel):
    """How the format's reader opens this channel's files."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    file_glob: str = "*"
    encoding: str | None = None  # None: detect (BOM, UTF-8, then cp1251); e-mail: see fallback_encodings
    # eml/mbox: the charsets to try, in order, after a part's declared one (a label can lie: KOI8-R
    # bytes sent as UTF-8); the first whose text is plausible wins (transforms.readers.encoding).
    fallback_encodings: tuple[str, ...] = ("utf-8", "cp1251", "koi8-r")
    delimiter: str | None = None  # csv only; None: sniff
    # json_pages: dotted path to the list of records in a page; ``[]`` after a key walks every item
    # of that list ("chats.list[].messages": the messages of every chat of a Telegram export).
    records_path: str | None = None
    # json_pages: record key -> dotted path in the parent, the object that holds the records' list
    # (the chat of "chats.list[].messages", the document of "messages"), copied onto every record:
    # {chat_id: id} keeps the chat of a message whose id is unique only within its chat.
    parent_fields: dict[str, str] = {}
    # Records kept only when each dotted path has one of the values ({type: message} drops a
    # messenger's service messages); the others are dropped by rule and counted (ReadResult.filtered).
    record_filter: dict[str, str | list[str]] = {}
    sheet: str | None = None  # xlsx: sheet name; None: the first sheet
    # xml_feed: prefix -> namespace URI; elements of that namespace are keyed "<prefix>:<name>" whatever
    # prefix the feed writes (transforms/readers/xml_feed.py)
    namespaces: dict[str, str] = {}
    # Limits against hostile or broken files (docs/adding-a-channel.md): a file over max_file_bytes
    # is quarantined unread (too_large); a record (a line, a row, a message) over max_record_bytes
    # is a record error (record_too_large) and the rest of the file lands; a workbook whose sheet
    # spans more than max_cells cells (rows x columns of its bounding box) is quarantined
    # (too_many_cells) before it is loaded. 4 MiB per record: a 1-million-character review still
    # lands (staging caps its text), a 10 MB CSV field does not.
    max_file_bytes: int = Field(default=200 * 2**20, gt=0)
    max_record_bytes: int = Field(default=4 * 2**20, gt=0)
    max_cells: int = Field(default=5_000_000, gt=0)  # xlsx

    @field_validator("fallback_encodings")
    @classmethod
    def _known_encodings(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for name in value:
            try:
                codecs.lookup(name)
            except LookupError as exc:
                raise ValueError(f"unknown encoding {name!r}") from exc
        return value

    @model_validator(mode="after")
    def _records_path_is_walkable(self) -> "ReaderOptions":
        if self.records_path is None:
            return self
        keys = self.records_path.split(".")
        if any(not key.removesuffix("[]") for key in keys):
            raise ValueError(f"records_path {self.records_path!r} has an empty key")
        if keys[-1].endswith("[]"):
            raise ValueError(
                f"records_path {self.records_path!r} ends on []: name the list of records inside each item "
                "(chats.list[].messages)"
            )
        return self


class PullSpec(BaseModel):
    """How flows/extract/http_pull.py pulls this channel's pages from its API (optional).

    Without ``pull`` a channel's exports arrive as files in its landing folder (a sync tool, an
    SFTP drop, a manual upload). With it, the puller fetches pages from ``base_url`` + ``path``,
    starting at the cursor committed with the last page, and lands each page as one batch.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url_env: str  # environment variable holding the API's base URL (differs per installation)
    path: str
    method: Literal["GET", "POST"] = "GET"
    pagination: Literal["page", "offset", "cursor"]
    page_param: str = "page"  # page: the page number; offset: the offset; cursor: the cursor
    size_param: str | None = "limit"
    page_size: int = Field(default=100, ge=1, le=10_000)
    first_page: int = 1  # page pagination only
    next_cursor_path: str | None = None  # cursor pagination: dotted path of the next cursor in a response
    auth: Literal["none", "bearer", "header", "basic"] = "none"
    auth_header: str = "Authorization"  # auth "header": the header that carries the secret as is
    params: dict[str, str] = {}  # fixed query parameters (or JSON body fields for POST)
    # Extra headers whose values come from environment variables (header -> variable name), such as
    # Ozon's Client-Id: account identifiers stay out of the repository like the secret itself.
    headers_from_env: dict[str, str] = {}
    # False: start every pull from the first page (newest-first feeds such as the App Store's, whose
    # page numbers shift as reviews arrive); unchanged pages are then skipped by their content hash.
    resume: bool = True
    timeout_seconds: float = Field(default=30, gt=0)
    max_retries: int = Field(default=5, ge=0)
    max_pages: int = Field(default=10_000, ge=1)  # a guard against an API that never stops


ExtractionKind = Literal["pull", "webhook", "imap", "sql", "file"]
PULLED_KINDS = ("pull", "imap", "sql")  # extractions that the ingest flow runs on its schedule


class Extraction(BaseModel):
    """How a channel's data gets into its landing folder or raw (docs/extraction.md).

    - ``pull``: a puller (``provider``, a module of flows/extract/providers) asks the source's API for
      what is new after the committed cursor; each page lands with its cursor in one transaction.
    - ``webhook``: the source calls us. ``otklik receive`` answers at ``/hooks/<channel id>``, checks
      the delivery by ``provider``'s rule (signature, secret header) and lands it in the landing folder.
    - ``imap``: a mailbox read by UIDVALIDITY + UID (flows/extract/imap_pull.py).
    - ``sql``: rows after the cursor from a database (flows/extract/sql_pull.py).
    - ``file``: no interface; something else drops files into the landing folder. ``why`` says what.

    ``base_url_env`` names the environment variable with the API root, the mailbox URL or the
    database DSN (they differ per installation); without it set, the channel is not pulled and its
    files in the landing folder are what lands (the demo runs so). ``options`` are the provider's own
    settings, validated by the provider's ``Options`` model (``otklik channels list`` and the tests
    validate every entry).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ExtractionKind
    provider: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]*$")
    base_url_env: str | None = None
    options: dict[str, Any] = {}
    why: str | None = None  # file: why the channel has no interface

    @model_validator(mode="after")
    def _complete(self) -> "Extraction":
        if self.kind == "file":
            if not self.why:
                raise ValueError("extraction kind file needs `why` (what drops the files, and why no interface)")
            if self.provider or self.base_url_env or self.options:
                raise ValueError("extraction kind file takes only `why`")
            return self
        if self.kind in ("pull", "webhook") and not self.provider:
            raise ValueError(f"extraction kind {self.kind} needs a provider")
        if self.kind in ("pull", "imap", "sql") and not self.base_url_env:
            raise ValueError(f"extraction kind {self.kind} needs base_url_env (the variable with its URL)")
        return self


class Channel(BaseModel):
    """One inbound channel."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    display_name: str
    entity: Entity = "feedback"
    audience: Audience = "customer"
    format: Format
    reader: ReaderOptions = ReaderOptions()
    fields: dict[str, FieldSource]
    timestamp_format: str | None = None  # strptime; None: ISO 8601; "epoch" / "epoch_ms": Unix (milli)seconds
    timezone: str = "UTC"  # applied to timestamps that carry no offset
    score_scale: ScoreScale = "none"
    question_type: QuestionType = "none"
    schedule_group: ScheduleGroup = "daily"
    expected_cadence_hours: int = 24  # silence longer than this is a freshness warning
    default_feedback_type: str | None = None  # type for items whose text names none (IVR: call centre)
    credentials_env: str | None = None  # name of an environment variable, never the secret
    credentials_block: str | None = None  # name of a Prefect Secret block, never the secret
    pull: PullSpec | None = None  # the generic REST puller's spec (extraction provider rest_pages)
    extraction: Extraction | None = None  # None: derived from ``pull`` (see ``how_extracted``)
    enabled: bool = True

    @property
    def how_extracted(self) -> Extraction:
        """The channel's extraction; a ``pull`` spec alone means the generic REST puller."""
        if self.extraction is not None:
            return self.extraction
        if self.pull is not None:
            return Extraction(kind="pull", provider="rest_pages", base_url_env=self.pull.base_url_env)
        return Extraction(kind="file", why="no extraction declared: files are dropped into the landing folder")

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {value!r}") from exc
        return value

    @model_validator(mode="after")
    def _fields_fit_entity(self) -> "Channel":
        schema = ENTITY_SCHEMAS[self.entity]
        unknown = sorted(set(self.fields) - set(schema.mappable))
        if unknown:
            raise ValueError(f"channel {self.id}: fields {unknown} are not mappable for {self.entity}")
        missing = sorted(set(schema.required) - set(self.fields))
        if missing:
            raise ValueError(f"channel {self.id}: required fields {missing} are not mapped")
        if self.pull is not None and self.extraction is not None and self.extraction.provider != "rest_pages":
            raise ValueError(f"channel {self.id}: `pull` is the rest_pages provider's spec; extraction says otherwise")
        if self.pull is not None and self.format != "json_pages":
            raise ValueError(f"channel {self.id}: only json_pages channels can be pulled over HTTP")
        if self.pull is not None and self.pull.auth != "none" and not (self.credentials_env or self.credentials_block):
            raise ValueError(
                f"channel {self.id}: pull.auth {self.pull.auth} needs credentials_env or credentials_block"
            )
        self._reader_fits_format()
        if self.entity == "feedback" and self.question_type != "none" and self.score_scale == "none":
            raise ValueError(f"channel {self.id}: question_type {self.question_type} needs a score_scale")
        if self.audience == "employee":
            if self.entity != "feedback":
                raise ValueError(f"channel {self.id}: audience employee is for feedback channels only")
            customer = [name for name in CUSTOMER_FIELDS if name in self.fields]
            if customer:
                raise ValueError(
                    f"channel {self.id}: audience employee may not map customer field{'s' * (len(customer) > 1)} "
                    f"{', '.join(customer)} (employees answer anonymously)"
                )
        return self

    def _reader_fits_format(self) -> None:
        """Reader options that the channel's format would ignore are refused, not silently dropped."""
        email = self.format in ("eml", "mbox")
        if email and self.reader.encoding is not None:
            raise ValueError(
                f"channel {self.id}: reader.encoding is not used by {self.format} (each part declares its charset); "
                "list the charsets to try when a declaration lies in reader.fallback_encodings"
            )
        if not email and "fallback_encodings" in self.reader.model_fields_set:
            raise ValueError(f"channel {self.id}: reader.fallback_encodings is for eml and mbox channels only")
        if self.format != "json_pages" and (self.reader.parent_fields or "[]" in (self.reader.records_path or "")):
            raise ValueError(f"channel {self.id}: reader.parent_fields and [] in records_path are for json_pages only")
        if self.reader.parent_fields and not self.reader.records_path:
            raise ValueError(f"channel {self.id}: reader.parent_fields needs records_path (the records' parent)")


class ChannelRegistry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    channels: list[Channel]


def parse_channels(text: str, source: str = "channels.yaml") -> tuple[Channel, ...]:
    """Validate registry YAML text; raise ConfigError (a ValueError) naming ``source`` and the channel id.

    A problem reads ``channels.yaml: channel vk_messages: format: ...``, never ``channels.33.format``
    (``transforms.config_errors``), however the text was loaded (a file, a run's recorded config).
    """
    from transforms.config_errors import config_errors, parse_yaml

    with config_errors(source, text):
        channels = tuple(ChannelRegistry.model_validate(parse_yaml(text)).channels)
    duplicates = sorted(id_ for id_, n in Counter(c.id for c in channels).items() if n > 1)
    if duplicates:
        raise ValueError(f"duplicate channel ids in {source}: {duplicates}")
    return channels


@cache
def load_channels(path: Path = REGISTRY_PATH) -> tuple[Channel, ...]:
    from transforms.config_errors import config_errors, display_path

    text = path.read_text(encoding="utf-8")
    with config_errors(path, text):  # one line per problem, naming the file and the channel id
        return parse_channels(text, source=display_path(path))


def get_channel(channel_id: str, path: Path = REGISTRY_PATH) -> Channel:
    for channel in load_channels(path):
        if channel.id == channel_id:
            return channel
    raise KeyError(f"unknown channel {channel_id!r}; known: {[c.id for c in load_channels(path)]}")


def channels_in_group(group: ScheduleGroup, path: Path = REGISTRY_PATH) -> tuple[Channel, ...]:
    return tuple(c for c in load_channels(path) if c.enabled and c.schedule_group == group)
