"""XML review feeds: Atom 1.0 (RFC 4287) and RSS 2.0, one record per ``entry`` / ``item``.

Feeds followed: Atom 1.0, RFC 4287 (https://www.rfc-editor.org/rfc/rfc4287: ``feed/entry`` with
``id``, ``updated``, ``published``, ``title``, ``content``, ``author/name``, ``author/uri``,
``link@href``, ``category@term`` and elements of other namespaces as extensions); RSS 2.0
(https://www.rssboard.org/rss-specification: ``rss/channel/item`` with ``guid``, ``pubDate`` in
RFC 822 form, ``title``, ``description``, ``author``, ``link``, ``category``); RSS 1.0's
``rdf:RDF/item`` is read like RSS 2.0. Feed paging links (RFC 5005, ``link rel="next"``) and the
feed's ``updated`` are kept beside the records (``read_feed``) for the puller.

How an entry becomes a record (what ``fields`` paths address; the xmltodict conventions):

- a child element is a key named by its local name (``title``, ``author``); elements of the feed's
  own namespace (Atom, RSS 1.0, or none for RSS 2.0) never carry a prefix, whatever prefix the
  document gives them. Elements of another namespace keep the prefix the document writes
  (``im:rating``, ``gd:rating``); ``reader.namespaces`` (prefix: namespace URI) names a namespace
  by a prefix of the channel's choosing instead, so that a feed that changes its prefixes still maps;
- an element with neither attributes nor child elements is its text, as written (``"5"``); an empty
  one is ``""``;
- an element with attributes or child elements is an object: attributes as ``@name`` keys
  (``link.@href``, ``category.@term``, ``gd:rating.@value``), child elements as keys, and its own
  text (when not blank) under ``#text`` (``<content type="html">`` → ``content.#text``; RSS
  ``<guid isPermaLink="false">`` → ``guid.#text``). The shape follows the element, so map a feed's
  fields by the form its elements take;
- a repeated element (two ``link``, three ``category``): the **first** is under the plain name, so
  ``link.@href`` addresses the first link, and all of them, in document order, are a list under
  ``<name>[]`` (``category[]``); a path cannot index a list, the raw payload keeps them all;
- text is kept as text: CDATA sections are text like any other, escaped HTML (``type="html"``)
  stays markup in the string, and XHTML content (``type="xhtml"``) is written back as markup into
  the text of the element that holds it. Staging turns HTML into plain text
  (``transforms.normalize.text``).

Safety: a DTD is refused before anything in it is read. The parser (expat) stops at the start of a
``<!DOCTYPE`` (and would at any entity declaration or external entity reference) with
``UnreadableFile("xml_dtd_refused")``: no entity is ever declared or expanded (billion laughs),
nothing external is fetched (XXE), parameter entities are never parsed. No ``defusedxml`` needed.
Bytes → text: a byte-order mark, else the encoding the XML declaration names (any Python codec:
``windows-1251``, ``koi8-r``), else ``reader.encoding`` / detection (``transforms.readers.encoding``).
Broken XML is ``broken_xml`` with the parser's line and column; a file that is not XML at all
(``wrong_format``) says what it looks like (JSON, CSV, a workbook); an XML document that is no feed is
``not_a_feed``. An entry over ``reader.max_record_bytes`` is a ``record_too_large`` RecordError
(its text stops being kept once over the limit), the other entries land.
"""

import codecs
import html
import json
import re
from dataclasses import dataclass, field
from typing import Any
from xml.parsers import expat

from transforms.channels.registry import ReaderOptions
from transforms.readers.base import (
    ReadResult,
    UnreadableFile,
    excerpt,
    record_bytes,
    record_preview,
    too_large,
)
from transforms.readers.encoding import decode_text, detect_bom
from transforms.readers.sniff import wrong_format_bytes

ATOM = "http://www.w3.org/2005/Atom"
RSS1 = "http://purl.org/rss/1.0/"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
XHTML = "http://www.w3.org/1999/xhtml"
FEED_NAMESPACES = frozenset({"", ATOM, RSS1})  # elements named without a prefix
TEXT_KEY = "#text"
LIST_SUFFIX = "[]"
PREVIEW_CHARS = 4000  # text kept of an entry once it is over max_record_bytes
_SEPARATOR = " "  # expat: "namespace local prefix"
_DECLARATION = re.compile(r"""^<\?xml[^>]*?\bencoding\s*=\s*["']([A-Za-z][A-Za-z0-9._:-]*)["']""")


@dataclass(frozen=True)
class FeedLink:
    rel: str
    href: str


@dataclass
class FeedDocument:
    """One feed file: its records, the feed's own links (``rel="next"``...) and ``updated``."""

    result: ReadResult
    links: list[FeedLink] = field(default_factory=list)
    updated: str | None = None
    source: bytes = b""  # the document as parsed, UTF-8 (what ``spans`` index)
    spans: list[tuple[int, int]] = field(default_factory=list)  # each entry's bytes in ``source``, by index

    def link(self, rel: str) -> str | None:
        return next((link.href for link in self.links if link.rel == rel), None)


class _Refused(Exception):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass
class _Node:
    key: str
    line: int
    attributes: dict[str, str]
    children: dict[str, Any] = field(default_factory=dict)
    text: list[str] = field(default_factory=list)

    def value(self) -> Any:
        text = "".join(self.text)
        if not self.attributes and not self.children:
            return text
        value: dict[str, Any] = dict(self.attributes)
        value.update(self.children)
        if text.strip():
            value[TEXT_KEY] = text
        return value

    def add(self, key: str, value: Any) -> None:
        if key not in self.children:
            self.children[key] = value
            return
        many = self.children.setdefault(key + LIST_SUFFIX, [self.children[key]])
        many.append(value)


def read(data: bytes, options: ReaderOptions) -> ReadResult:
    return read_feed(data, options).result


def read_feed(data: bytes, options: ReaderOptions) -> FeedDocument:
    """The records of one feed file and its feed-level links; UnreadableFile when it cannot be read."""
    text = feed_text(data, options.encoding)
    _refuse_prolog_declarations(text)
    builder = _FeedBuilder(options)
    parser = expat.ParserCreate(namespace_separator=_SEPARATOR)
    parser.namespace_prefixes = True
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse_doctype
    parser.EntityDeclHandler = _refuse_entity
    parser.ExternalEntityRefHandler = _refuse_external
    parser.StartElementHandler = builder.start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.characters
    builder.parser = parser
    try:
        parser.Parse(text, True)
    except _Refused as refused:
        raise UnreadableFile("xml_dtd_refused", refused.detail) from None
    except expat.ExpatError as exc:
        raise UnreadableFile(
            "broken_xml", f"line {exc.lineno} col {exc.offset + 1}: {expat.ErrorString(exc.code)}"
        ) from None
    if builder.root is None:
        raise UnreadableFile("not_a_feed", "the document has no root element")
    source = text.encode("utf-8", "surrogatepass")
    spans = [(start, _entry_end(source, end, bare)) for start, end, bare in builder.spans]
    return FeedDocument(builder.result, builder.links, builder.updated, source, spans)


# --- bytes → text ------------------------------------------------------------------------------------


def feed_text(data: bytes, configured: str | None = None) -> str:
    """Decode by the byte-order mark, else the XML declaration's encoding, else ``configured``/detection."""
    other = wrong_format_bytes(data, "XML feed")  # a workbook, a PDF: before any decoding
    if other:
        raise UnreadableFile("wrong_format", other)
    bom = detect_bom(data)
    if bom is not None:
        text = decode_text(data, None)  # decodes by the mark, strips it
        declared = _declared_encoding(text)
        if declared is not None and _family(declared) != _family(bom):
            raise UnreadableFile(
                "encoding_mismatch", f"the file starts with a {bom} byte-order mark but declares encoding {declared}"
            )
        return _not_xml_check(text)
    declared = _declared_encoding(data[:256].decode("latin-1"))
    if declared is None:
        return _not_xml_check(decode_text(data, configured))
    try:
        codecs.lookup(declared)
    except LookupError:
        raise UnreadableFile(
            "unreadable_encoding", f"the XML declares encoding {declared!r}, which is not a known encoding"
        ) from None
    try:
        text = data.decode(declared)
    except UnicodeDecodeError as exc:
        raise UnreadableFile(
            "encoding_mismatch",
            f"the XML declares encoding {declared}, but byte 0x{data[exc.start]:02x} at offset {exc.start} is not "
            f"{declared}",
        ) from None
    if _family(declared) not in ("utf-8", "utf-16", "utf-32") and not data.isascii() and _is_utf8(data):
        raise UnreadableFile("encoding_mismatch", f"the file is UTF-8, but its XML declaration says {declared}")
    return text


def _declared_encoding(head: str) -> str | None:
    match = _DECLARATION.match(head)
    return match.group(1) if match else None


def _family(name: str) -> str:
    try:
        canonical = codecs.lookup(name).name
    except LookupError:
        return name.lower()
    return next((f for f in ("utf-32", "utf-16", "utf-8") if canonical.startswith(f)), canonical)


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _not_xml_check(text: str) -> str:
    """``text`` if it starts like XML; else UnreadableFile("wrong_format") saying what it looks like."""
    start = text.lstrip("\ufeff \t\r\n")
    if start.startswith("<"):
        return text
    raise UnreadableFile("wrong_format", f"{looks_like(start)} sent to the XML feed reader: the file is not XML")


def looks_like(text: str) -> str:
    """What a file that is not XML seems to be, for the quarantine's detail."""
    head = text[:2000]
    if head[:1] in "{[":
        try:
            value = json.loads(text)
        except ValueError:
            return "JSON (broken)" if head[:1] == "{" else "JSON or a list (broken)"
        kind = "a list" if isinstance(value, list) else "an object" if isinstance(value, dict) else "a value"
        return f"JSON ({kind})"
    first = head.split("\n", 1)[0]
    for delimiter, name in ((";", "semicolons"), (",", "commas"), ("\t", "tabs")):
        if first.count(delimiter) >= 1 and "\n" in head:
            return f"CSV (a header line with {name}: {excerpt(first)[:80]!r})"
    if not head.strip():
        return "an empty file"
    return f"text starting {excerpt(head)[:40]!r}"


# --- DTDs and entities: refused before they are read --------------------------------------------------

# A DOCTYPE must come before the root element: after the XML declaration, comments and PIs only.
_PROLOG_DTD = re.compile(r"^(?:\s|<\?(?:[^?]|\?(?!>))*\?>|<!--(?:[^-]|-(?!->))*-->)*<!(DOCTYPE|ENTITY)", re.S)


def _refuse_prolog_declarations(text: str) -> None:
    match = _PROLOG_DTD.match(text[:65536])
    if match:
        line = text.count("\n", 0, match.start(1)) + 1
        raise UnreadableFile(
            "xml_dtd_refused",
            f"the document declares a DTD (<!{match.group(1)} at line {line}); DTDs and entities are refused, "
            "never expanded or fetched (billion laughs, XXE)",
        )


def _refuse_doctype(name: str, system_id: str | None, public_id: str | None, has_internal_subset: int) -> None:
    what = f"<!DOCTYPE {name.split(_SEPARATOR)[-1]}" + (f' SYSTEM "{system_id}"' if system_id else "") + ">"
    raise _Refused(f"the document declares a DTD ({what}); DTDs and entities are refused, never expanded or fetched")


def _refuse_entity(name: str, *_: Any) -> None:
    raise _Refused(f"the document declares the entity {name!r}; entities are refused, never expanded")


def _refuse_external(context: str, base: str | None, system_id: str | None, public_id: str | None) -> int:
    raise _Refused(f"the document refers to an external entity {system_id!r}; it is never fetched")


# --- elements → records ---------------------------------------------------------------------------------


class _FeedBuilder:
    """expat handlers: find the entries of an Atom or RSS feed and build one record from each."""

    def __init__(self, options: ReaderOptions) -> None:
        self.limit = options.max_record_bytes
        self.prefixes = {uri: prefix for prefix, uri in options.namespaces.items()}
        self.parser: Any = None
        self.result = ReadResult()
        self.links: list[FeedLink] = []
        self.updated: str | None = None
        self.root: str | None = None
        self.path: list[str] = []  # expanded names of the open elements ("uri local")
        self.entry: list[_Node] = []  # the open elements of the current entry, the entry first
        self.markup = 0  # open XHTML elements inside an entry (written back as text)
        self.size = 0  # characters kept of the current entry
        self.oversized = False
        self.index = 0
        self.feed_text: list[str] | None = None  # the feed's own <updated>, while open
        self.spans: list[tuple[int, int, bool]] = []  # (start, where expat ended it, no content)
        self.entry_start = 0

    def start(self, name: str, attributes: dict[str, str]) -> None:
        uri, local = _split(name)
        if not self.path:
            self._check_root(uri, local)
        if self.entry:
            self._start_in_entry(uri, local, name, attributes)
        elif self._is_entry(uri, local):
            self.entry = [_Node("entry", self.parser.CurrentLineNumber, self._attributes(attributes))]
            self.entry_start = self.parser.CurrentByteIndex
            self.size, self.oversized = 0, False
        elif len(self.path) == self._feed_depth():
            self._feed_child(uri, local, attributes)
        self.path.append(f"{uri} {local}")

    def end(self, name: str) -> None:
        self.path.pop()
        if self.feed_text is not None and not self.entry:
            self.updated, self.feed_text = "".join(self.feed_text).strip(), None
            return
        if not self.entry:
            return
        if self.markup:
            self.markup -= 1
            self._keep(self.entry[-1], f"</{_split(name)[1]}>")
            return
        node = self.entry.pop()
        if self.entry:
            self.entry[-1].add(node.key, node.value())
        else:
            bare = not node.children and not node.text and not self.markup
            self.spans.append((self.entry_start, self.parser.CurrentByteIndex, bare))
            self._finish_entry(node)

    def characters(self, data: str) -> None:
        if self.entry:
            self._keep(self.entry[-1], html.escape(data, quote=False) if self.markup else data)
        elif self.feed_text is not None:
            self.feed_text.append(data)

    # -- the feed

    def _check_root(self, uri: str, local: str) -> None:
        self.root = f"{uri} {local}"
        if (uri, local) in ((ATOM, "feed"), ("", "rss"), (RDF, "RDF")):
            return
        raise UnreadableFile(
            "not_a_feed",
            f"the root element is <{local}>"
            + (f" of namespace {uri}" if uri else " (no namespace)" if local == "feed" else "")
            + f"; expected an Atom <feed> ({ATOM}) or an RSS <rss>",
        )

    def _feed_depth(self) -> int:
        """How deep the feed's own elements are: feed/x (Atom, RSS 1.0), rss/channel/x (RSS 2.0)."""
        return 2 if self.root == " rss" else 1

    def _is_entry(self, uri: str, local: str) -> bool:
        depth = len(self.path)
        if self.root == f"{ATOM} feed":
            return depth == 1 and (uri, local) == (ATOM, "entry")
        if self.root == " rss":
            return depth == 2 and self.path[1] == " channel" and (uri, local) == ("", "item")
        return depth == 1 and (uri, local) == (RSS1, "item")

    def _feed_child(self, uri: str, local: str, attributes: dict[str, str]) -> None:
        if local == "link" and uri == ATOM and "href" in attributes:  # Atom, or atom:link in RSS 2.0
            self.links.append(FeedLink(attributes.get("rel", "alternate"), attributes["href"]))
        elif (uri, local) in ((ATOM, "updated"), ("", "lastBuildDate")):
            self.feed_text = []

    # -- an entry

    def _start_in_entry(self, uri: str, local: str, name: str, attributes: dict[str, str]) -> None:
        parent = self.entry[-1]
        if self.markup or uri == XHTML:
            self.markup += 1
            attrs = "".join(f' {_split(k)[1]}="{html.escape(v)}"' for k, v in attributes.items())
            self._keep(parent, f"<{local}{attrs}>")
            return
        self.entry.append(_Node(self._key(name), self.parser.CurrentLineNumber, self._attributes(attributes)))

    def _keep(self, node: _Node, text: str) -> None:
        if self.oversized:
            self.size += len(text)
            return
        self.size += len(text)
        if self.size > self.limit:
            self.oversized = True
            text = text[: max(0, PREVIEW_CHARS - (self.size - len(text)))]
        node.text.append(text)

    def _finish_entry(self, node: _Node) -> None:
        index, self.index = self.index, self.index + 1
        record = node.value()
        if not isinstance(record, dict):
            record = {} if not str(record).strip() else {TEXT_KEY: record}
        size = self.size if self.oversized else record_bytes(record, self.limit)
        if self.oversized or size > self.limit:
            where = f"entry {index + 1} (line {node.line})"
            self.result.errors.append(too_large(index, record_preview(record), size, self.limit, where))
            return
        self.result.add(index, record)

    def _key(self, name: str) -> str:
        parts = name.split(_SEPARATOR)
        if len(parts) == 1:
            return parts[0]
        uri, local = parts[0], parts[1]
        if uri in FEED_NAMESPACES:
            return local
        prefix = self.prefixes.get(uri) or (parts[2] if len(parts) == 3 else None)
        return f"{prefix}:{local}" if prefix else local

    def _attributes(self, attributes: dict[str, str]) -> dict[str, str]:
        return {"@" + self._key(name): value for name, value in attributes.items()}


def _entry_end(source: bytes, end: int, bare: bool) -> int:
    """Where an entry's bytes end: expat ends ``<entry/>`` after it, ``</entry>`` at its "<"."""
    if bare and source[end - 2 : end] == b"/>":
        return end
    return source.index(b">", end) + 1


def _split(name: str) -> tuple[str, str]:
    """(namespace URI or "", local name) of an expat name."""
    parts = name.split(_SEPARATOR)
    return ("", parts[0]) if len(parts) == 1 else (parts[0], parts[1])
