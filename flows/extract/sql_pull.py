"""Pull rows from a PostgreSQL database: those after the committed cursor, in keyset pages, as CSV.

Follows the PostgreSQL documentation: connection URIs (libpq, §34.1.1.2
https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-CONNSTRING-URIS), row-constructor
comparison (§9.24.5 https://www.postgresql.org/docs/current/functions-comparisons.html) for keyset
pagination, and psycopg 3 (https://www.psycopg.org/psycopg3/docs/) as the client.

- **Where**: ``extraction.base_url_env`` names a variable holding a libpq URL without a password,
  ``postgresql://erp_reader@erp.example.ru:5432/erp``; the password is the channel's secret
  (``credentials_env``). A URL that carries a password is refused.
- **What**: ``options.query`` is a SELECT (a table or the ERP's view) whose result has the CSV's
  ``columns``, the ``cursor_column`` (e.g. ``updated_at``) and the ``key_columns`` that make a row
  unique. The puller wraps it, never edits it::

      select <columns>::text, <cursor>::text, <keys>::text from (<query>) as source
      where <cursor> is not null and (<cursor>, <keys>) > (<last row's values>)
      order by <cursor>, <keys> limit <batch_rows>

  Keyset pagination on (cursor, keys): rows that share a cursor value across a page boundary are
  neither skipped nor read twice. The key columns must not be NULL (a primary key); rows whose
  cursor column is NULL are not read. Values are read as PostgreSQL's own text (session time zone UTC,
  ISO dates), so the cursor round-trips exactly and the CSV cells are what ``psql`` shows.
- **Pages**: each page is a CSV in the channel's format (its header = ``columns``, the reader's
  ``delimiter`` and ``encoding``, LF line ends, minimal quoting, as otklik/sample writes the ERP
  export) and lands with the cursor of its last row: a JSON list ``[cursor, key, ...]``. A pull
  ends at a page shorter than ``batch_rows``.
- **Changes**: a row updated at the source (a restated month) gets a later cursor value and lands
  again in a later page; what staging keeps of two versions of one key is staging's rule.
- **Caveat** (the source's, documented for installers): a writer whose transaction commits after
  a later-stamped one was read could be missed; the cursor column should be set at commit, or the
  query should leave out the last minutes (``where updated_at < now() - interval '5 minutes'``).
- **Failures**: a refused login is a PullError naming the secret to renew, not retried; a server
  that cannot be reached is retried ``max_retries`` times with exponential backoff (``sleep``); a
  query error is a PullError. The session is read-only. The password never reaches a log line, a
  message or the warehouse (``flows.extract.pages.drive`` redacts all that leaves the pull). The
  cursor is made of row values and must round-trip, so it cannot be redacted: a page whose last
  row holds the password lands (redacted) without committing its cursor (see ``_committable``).
"""

import csv
import hashlib
import io
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql
from pydantic import Field
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from flows.extract.http_fetch import PullError, RetryOptions, redactor, secret_name
from flows.extract.http_pull import PullRun, PullSummary
from flows.extract.pages import Page, drive
from transforms.channels import Channel

__all__ = ["Options", "keyset_query", "parse_cursor", "pull", "rows_csv"]

_AUTH_FAILURES = ("password authentication failed", "no password supplied", "authentication failed", "SCRAM")
# The server answered but cannot take us now: worth another attempt, like a server not reached.
_BUSY = (
    "the database system is starting up",
    "the database system is shutting down",
    "too many clients",
    "in recovery mode",
)


class Options(RetryOptions):
    """``extraction.options`` of a ``sql`` channel."""

    query: str = Field(min_length=1)  # a SELECT; wrapped as a subquery, never edited
    columns: list[str] = Field(min_length=1)  # the CSV's header, in order
    cursor_column: str
    key_columns: list[str] = Field(min_length=1)  # with the cursor column: unique, the tie-breaker
    batch_rows: int = Field(default=1000, ge=1, le=100_000)


def public_dsn(url: str, channel_id: str) -> str:
    """The libpq URL without its query string; PullError for another scheme or a password in it."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise PullError(f"{channel_id}: the database URL must start with postgresql://, not {parts.scheme!r}")
    if parts.password is not None:
        raise PullError(
            f"{channel_id}: the database URL carries a password; remove it and put it in the channel's secret"
        )
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def parse_cursor(cursor: str | None, options: Options, channel_id: str) -> list[str] | None:
    """The committed cursor: ``[cursor value, key values...]`` as text; None before the first pull."""
    if cursor is None:
        return None
    try:
        values = json.loads(cursor)
    except ValueError:
        values = None
    width = 1 + len(options.key_columns)
    if not (isinstance(values, list) and len(values) == width and all(isinstance(v, str) for v in values)):
        raise PullError(
            f"{channel_id}: the committed cursor {cursor!r} is not a JSON list of {width} texts "
            f"([{options.cursor_column}, {', '.join(options.key_columns)}])"
        )
    return values


def keyset_query(options: Options, after: list[str] | None) -> tuple[sql.Composed, list[Any]]:
    """The page query after ``after`` (None: from the start) and its parameters."""
    order = [sql.Identifier(name) for name in (options.cursor_column, *options.key_columns)]
    selected = [sql.SQL("{}::text").format(sql.Identifier(name)) for name in options.columns]
    selected += [sql.SQL("{}::text").format(column) for column in order]
    where = [sql.SQL("{} is not null").format(order[0])]
    params: list[Any] = []
    if after is not None:
        where.append(
            sql.SQL("({}) > ({})").format(sql.SQL(", ").join(order), sql.SQL(", ").join(sql.Placeholder() * len(order)))
        )
        params += after
    query = sql.SQL("select {selected} from ({query}) as source where {where} order by {order} limit {limit}").format(
        selected=sql.SQL(", ").join(selected),
        # the installer's own SQL; % doubled: the parameters are always passed, so % is a placeholder
        query=sql.SQL(options.query.strip().rstrip(";").replace("%", "%%")),  # type: ignore[arg-type]
        where=sql.SQL(" and ").join(where),
        order=sql.SQL(", ").join(order),
        limit=sql.Literal(options.batch_rows),
    )
    return query, params


def rows_csv(channel: Channel, columns: list[str], rows: list[tuple[str | None, ...]]) -> bytes:
    """A CSV page in the channel's format: header, delimiter, encoding; NULL as an empty cell."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=channel.reader.delimiter or ",", lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([["" if value is None else value for value in row] for row in rows])
    try:
        return buffer.getvalue().encode(channel.reader.encoding or "utf-8")
    except UnicodeEncodeError as exc:
        raise PullError(
            f"{channel.id}: a value cannot be written in the channel's encoding {channel.reader.encoding}: {exc.reason}"
        ) from None


def pull(channel: Channel, run: PullRun) -> PullSummary:
    """Land the rows after ``cursor`` from the database at ``base_url``; PullError when stuck.

    ``run.client`` is unused (the contract's HTTP client); ``sleep`` is how connection retries wait.
    """
    base_url, cursor, land, secret, _client, sleep, log = run.parts()
    log = log or logging.getLogger(__name__)
    options = Options.model_validate(channel.how_extracted.options)
    dsn = public_dsn(base_url, channel.id)
    if not secret:
        raise PullError(f"{channel.id}: no password for {dsn}: set {secret_name(channel)}")
    reader = _RowReader(channel, base_url, dsn, options, secret, sleep, log)
    try:
        return drive(channel, cursor=cursor, land=land, pages=reader.pages, secret=secret, log=log)
    finally:
        reader.close()


class _RowReader:
    """One database session of a pull: connects on the first page, closes in ``close``."""

    def __init__(
        self,
        channel: Channel,
        url: str,
        dsn: str,
        options: Options,
        secret: str,
        sleep: Callable[[float], None],
        log: logging.Logger | logging.LoggerAdapter,
    ) -> None:
        self.channel, self.url, self.dsn, self.options = channel, url, dsn, options
        self._secret, self._sleep, self._log = secret, sleep, log
        self._redact = redactor(secret)
        self._connection: psycopg.Connection | None = None

    def pages(self, cursor: str | None) -> Iterator[Page]:
        """Keyset pages after ``cursor`` (``flows.extract.pages.Pages``)."""
        after = parse_cursor(cursor, self.options, self.channel.id)
        self._connection = self._connect()
        width = len(self.options.columns)
        while True:
            rows = self._page(after)
            if not rows:
                return
            after = list(rows[-1][width:])
            cursor_after = json.dumps(after, ensure_ascii=False)
            yield Page(
                data=rows_csv(self.channel, self.options.columns, [row[:width] for row in rows]),
                source_uri=self.dsn,
                label=f"rows-{hashlib.sha256(cursor_after.encode()).hexdigest()[:16]}",
                records=len(rows),
                cursor_after=self._committable(cursor_after),
                extension="csv",
            )
            if len(rows) < self.options.batch_rows:
                return

    def _committable(self, cursor_after: str) -> str | None:
        """The cursor to commit; None (stay) when the last row's values hold the secret.

        The cursor is stored as is (it must round-trip), so one that would hold the password is
        not committed: the page lands (redacted) and the next page's cursor moves past it; a last
        page is read again next time and skipped by its content hash.
        """
        if self._redact(cursor_after) == cursor_after:
            return cursor_after
        self._log.warning(
            "%s: the last row of a page holds the channel's secret in %s; its cursor is not committed",
            self.channel.id,
            ", ".join((self.options.cursor_column, *self.options.key_columns)),
        )
        return None

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _page(self, after: list[str] | None) -> list[tuple[str | None, ...]]:
        assert self._connection is not None
        query, params = keyset_query(self.options, after)
        try:
            return self._connection.execute(query, params).fetchall()
        except psycopg.Error as exc:
            raise PullError(f"{self.channel.id}: the query on {self.dsn} failed: {_first_line(exc)}") from None

    def _connect(self) -> psycopg.Connection:
        where = f"{self.channel.id}: {self.dsn}"
        options = self.options

        def before_sleep(state: Any) -> None:
            error = state.outcome.exception() if state.outcome else None
            self._log.warning(
                "%s: %s; retry %d of %d", where, _first_line(error), state.attempt_number, options.max_retries
            )

        retrying = Retrying(
            stop=stop_after_attempt(options.max_retries + 1),
            wait=wait_exponential(multiplier=1, max=60),
            retry=retry_if_exception(_transient),
            sleep=self._sleep,
            before_sleep=before_sleep,
            reraise=True,
        )
        try:
            return retrying(self._open)
        except psycopg.OperationalError as exc:
            if _refused(exc):
                raise PullError(
                    f"{where}: the database refused the login ({_first_line(exc)}); renew "
                    f"{secret_name(self.channel)}, the cursor has not moved"
                ) from None
            if not _transient(exc):
                raise PullError(f"{where}: the server refused the session: {_first_line(exc)}") from None
            raise PullError(
                f"{where}: cannot connect after {options.max_retries + 1} attempt(s): {_first_line(exc)}",
                retryable=True,
            ) from None
        except psycopg.Error as exc:
            raise PullError(f"{where}: cannot open a session: {_first_line(exc)}") from None

    def _open(self) -> psycopg.Connection:
        timeout_ms = int(self.options.timeout_seconds * 1000)
        connection = psycopg.connect(
            self.url,
            password=self._secret,
            connect_timeout=max(1, round(self.options.timeout_seconds)),
            application_name="otklik",
            autocommit=True,
            options=(
                f"-c TimeZone=UTC -c DateStyle=ISO,YMD -c default_transaction_read_only=on"
                f" -c statement_timeout={timeout_ms}"
            ),
        )
        return connection


def _transient(error: BaseException) -> bool:
    """Not reached (refused, timed out, dropped) or busy; a FATAL answer (no such database) is final."""
    if not isinstance(error, psycopg.OperationalError) or _refused(error):
        return False
    text = str(error)
    return "FATAL:" not in text or any(marker in text for marker in _BUSY)


def _refused(error: BaseException) -> bool:
    text = str(error)
    return any(marker in text for marker in _AUTH_FAILURES)


def _first_line(error: BaseException | None) -> str:
    text = str(error).strip() if error is not None else ""
    return text.splitlines()[0] if text else type(error).__name__
