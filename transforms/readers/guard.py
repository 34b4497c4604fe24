"""Run a reader in a child process with a memory limit and a time limit (``run_in_child``).

Readers of container formats (XLSX through fastexcel/calamine, native code) can be made to abort
the whole process by a small hostile file: a Rust allocation failure is ``abort()``, a Rust panic
is a ``PanicException`` that ``except Exception`` does not catch. Such a reader runs here in a
child process (``python -c ...``, a fresh interpreter: no fork of the warehouse connection) whose
address space is capped with ``setrlimit(RLIMIT_AS, MEMORY_LIMIT_BYTES)``, and every call has a
wall-time limit. Whatever goes wrong becomes ``UnreadableFile`` with a one-sentence detail:

- ``out_of_memory``: the reader hit the memory limit (Python ``MemoryError``, or a Rust
  "memory allocation of N bytes failed" abort);
- ``reader_crashed``: any other exception that is not ``UnreadableFile`` (a ``PanicException``
  too), a crash (SIGABRT, SIGSEGV, SIGKILL) or an unexpected exit;
- ``timeout``: no answer within the time limit (the child is killed);
- the reader's own ``UnreadableFile`` comes back as it was raised.

One child serves many files: it starts at the first call (or at ``session(prestart=True)``,
so that its start overlaps other work), and after a crash, a timeout or an exception the next
call starts a new one. Starting a child costs about 0.35-0.4 s (an interpreter, then polars and
fastexcel; measured on the development machine), a round trip 0.15 ms; a demo workbook (8 KB, 20
rows) takes ~3 ms through the child against ~1.5 ms in process (the container check is ~1 ms of
it). So an ingest run uses one child (``session``), never one per file.

The protocol: a request is a length-prefixed JSON header (``"module:function"`` and JSON
arguments) and a length-prefixed payload (the file's bytes); the answer is length-prefixed JSON,
never pickle, so a child that a hostile file took over cannot make the parent run code. The
child's stdout is its answer channel only (``print`` in a reader goes to stderr), its stderr goes
to a temporary file whose tail tells an allocation failure from other crashes.
"""

from __future__ import annotations

import atexit
import errno
import importlib
import json
import os
import select
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from transforms.privacy import mask_pii
from transforms.readers.base import UnreadableFile

MEMORY_LIMIT_BYTES = 4 * 2**30  # address space of the child: ~0.45 GiB are the interpreter, polars and fastexcel
TIMEOUT_SECONDS = 120.0  # per file; a 2-million-cell workbook reads in ~7 s
PRELOAD = ("transforms.readers.xlsx",)  # imported when the child starts
MAX_ANSWER_BYTES = 2**31
_LENGTH = struct.Struct("!Q")
_CHUNK = 2**20
_STDERR_TAIL = 4096
_OUT_OF_MEMORY_MARKS = (b"memory allocation of", b"MemoryError", b"Cannot allocate memory", b"out of memory")
_ROOT = Path(__file__).resolve().parents[2]  # the folder that holds the transforms package


class ChildReader:
    """One child process that runs reader functions, restarted after any failure."""

    def __init__(
        self,
        *,
        memory_limit: int = MEMORY_LIMIT_BYTES,
        timeout: float = TIMEOUT_SECONDS,
        preload: tuple[str, ...] = PRELOAD,
    ) -> None:
        self.memory_limit = memory_limit
        self.timeout = timeout
        self.preload = preload
        self.starts = 0  # children started so far (a test reads it)
        self._process: subprocess.Popen | None = None
        self._used = False  # whether the running child has been sent a request
        self._stderr: Any = None
        self._owner = os.getpid()
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start the child unless it runs; returns at once (the child imports in the background)."""
        with self._lock:
            self._ensure_started()

    def call(self, target: str, payload: bytes | None = None, *args: Any, timeout: float | None = None) -> Any:
        """``module:function(payload, *args)`` in the child; its JSON-able return value, or UnreadableFile."""
        header = json.dumps({"target": target, "args": list(args), "payload": payload is not None}).encode("utf-8")
        limit = self.timeout if timeout is None else timeout
        with self._lock:
            process = self._ensure_started()
            self._used = True
            deadline = time.monotonic() + limit
            try:
                _write_frame(process.stdin.fileno(), header, deadline)
                if payload is not None:
                    _write_frame(process.stdin.fileno(), payload, deadline)
                kind, value = _parse_answer(_read_frame(process.stdout.fileno(), deadline))
            except TimeoutError:
                self._stop(kill=True)
                raise UnreadableFile(
                    "timeout", f"the reader took longer than {limit:g} s and was stopped (reader time limit)"
                ) from None
            except (OSError, EOFError, ValueError) as exc:  # a dead child, or an answer that is no answer
                raise self._crashed(exc) from None
            except BaseException:  # Ctrl-C half-way through a request: the child is out of step
                self._stop(kill=True)
                raise
            if kind == "failed":
                self._stop()  # the child exits after a failure; reap it
        if kind == "ok":
            return value
        raise UnreadableFile(*value)

    def close(self) -> None:
        """Stop the child: it exits at the end of its requests, or is killed if it never had one
        (it may still be importing; nothing is lost, and the caller does not wait for it)."""
        with self._lock:
            self._stop(kill=not self._used)

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None and self._owner == os.getpid()

    def _ensure_started(self) -> subprocess.Popen:
        if self._owner != os.getpid():  # a forked copy of this object: the child belongs to the parent
            self._process, self._stderr, self._owner = None, None, os.getpid()
        if self._process is not None and self._process.poll() is None:
            return self._process
        self._stop()
        self._stderr = tempfile.TemporaryFile(prefix="otklik-reader-")  # noqa: SIM115 - lives as long as the child
        environment = dict(os.environ)
        environment["PYTHONPATH"] = os.pathsep.join(p for p in (str(_ROOT), os.environ.get("PYTHONPATH")) if p)
        environment.setdefault("POLARS_MAX_THREADS", "2")  # each thread reserves address space
        environment["MALLOC_ARENA_MAX"] = "2"
        environment["RUST_BACKTRACE"] = "0"
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from transforms.readers.guard import child_main; child_main()",
                str(self.memory_limit),
                *self.preload,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=environment,
            bufsize=0,
            start_new_session=True,  # Ctrl-C goes to the parent, which stops the child
        )
        os.set_blocking(self._process.stdin.fileno(), False)
        os.set_blocking(self._process.stdout.fileno(), False)
        self.starts += 1
        self._used = False
        return self._process

    def _crashed(self, cause: BaseException) -> UnreadableFile:
        process = self._process
        code = None
        if process is not None:
            try:
                code = process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                code = process.wait()
        tail = self._stderr_tail()
        self._stop()
        if any(mark in tail for mark in _OUT_OF_MEMORY_MARKS):
            return UnreadableFile("out_of_memory", _out_of_memory_detail(self.memory_limit))
        if code is not None and code < 0:
            try:
                how = f"was killed by {signal.Signals(-code).name}"
            except ValueError:
                how = f"was killed by signal {-code}"
        elif code is not None:
            how = f"exited with code {code}"
        else:
            how = f"stopped answering ({type(cause).__name__})"
        last = _last_line(tail)
        return UnreadableFile("reader_crashed", f"the reader process {how}" + (f"; it said: {last}" if last else ""))

    def _stderr_tail(self) -> bytes:
        if self._stderr is None:
            return b""
        try:
            size = os.fstat(self._stderr.fileno()).st_size
            return os.pread(self._stderr.fileno(), _STDERR_TAIL, max(0, size - _STDERR_TAIL))
        except OSError:
            return b""

    def _stop(self, *, kill: bool = False) -> None:
        process, self._process = self._process, None
        if process is not None:
            if kill:
                process.kill()
            for stream in (process.stdin, process.stdout):
                with suppress(OSError):
                    stream.close()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None


def _parse_answer(answer: bytes) -> tuple[str, Any]:
    """("ok", value), or ("unreadable" | "failed", (reason, detail)); ValueError for anything else."""
    reply = json.loads(answer.decode("utf-8", "surrogatepass"))
    if isinstance(reply, dict) and len(reply) == 1:
        ((kind, value),) = reply.items()
        if kind == "ok":
            return kind, value
        if kind in ("unreadable", "failed") and isinstance(value, list) and len(value) == 2:
            return kind, (str(value[0]), str(value[1]))
    raise ValueError("the child's answer is not one")


def _out_of_memory_detail(limit: int) -> str:
    return f"the reader needed more than its {limit / 2**30:g} GiB memory limit and was stopped"


def _last_line(tail: bytes) -> str:
    lines = [line.strip() for line in tail.decode("utf-8", "replace").splitlines() if line.strip()]
    return mask_pii(lines[-1][:200]) if lines else ""


def _write_frame(fd: int, data: bytes, deadline: float) -> None:
    _write_all(fd, _LENGTH.pack(len(data)), deadline)
    _write_all(fd, data, deadline)


def _write_all(fd: int, data: bytes, deadline: float) -> None:
    view = memoryview(data)
    while view:
        _wait(fd, deadline, write=True)
        try:
            written = os.write(fd, view[:_CHUNK])
        except BlockingIOError:
            continue
        view = view[written:]


def _read_frame(fd: int, deadline: float) -> bytes:
    (length,) = _LENGTH.unpack(_read_exact(fd, _LENGTH.size, deadline))
    if length > MAX_ANSWER_BYTES:
        raise ValueError(f"an answer of {length} bytes")
    return _read_exact(fd, length, deadline)


def _read_exact(fd: int, size: int, deadline: float) -> bytes:
    parts: list[bytes] = []
    left = size
    while left:
        _wait(fd, deadline, write=False)
        try:
            part = os.read(fd, min(left, _CHUNK))
        except BlockingIOError:
            continue
        if not part:
            raise EOFError("the child closed its answers")
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


def _wait(fd: int, deadline: float, *, write: bool) -> None:
    """Until ``fd`` can be written (read), or TimeoutError at ``deadline``; a closed peer counts as ready."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError
    poller = select.poll()  # not select(): file descriptors past 1024 are fine
    poller.register(fd, select.POLLOUT if write else select.POLLIN)
    if not poller.poll(max(1, int(remaining * 1000))) and time.monotonic() >= deadline:
        raise TimeoutError


# --- the child -------------------------------------------------------------------------------------

_child_memory_limit = MEMORY_LIMIT_BYTES


def child_main() -> None:
    """The child's loop: limits, then requests until its stdin closes. Exits after any failure."""
    import resource

    global _child_memory_limit
    memory_limit = _child_memory_limit = int(sys.argv[1])
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if memory_limit > 0:
        with suppress(ValueError, OSError):  # macOS refuses RLIMIT_AS: crashes still stay in the child
            resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
    requests = os.fdopen(0, "rb")
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # stray prints (Python or Rust) go to stderr, never into the answers
    for module in sys.argv[2:]:
        importlib.import_module(module)
    while True:
        header = _child_read_frame(requests)
        if header is None:
            return  # the parent closed the requests (or died)
        request = json.loads(header)
        payload = _child_read_frame(requests) if request["payload"] else None
        if request["payload"] and payload is None:
            return
        _restart_stderr()
        answer, failed = _child_run(request["target"], payload, request["args"])
        answers.write(_LENGTH.pack(len(answer)))
        answers.write(answer)
        answers.flush()
        if failed:
            return  # a reader that panicked or ran out of memory may have left its state broken


def _child_read_frame(stream: Any) -> bytes | None:
    head = stream.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        return None
    (length,) = _LENGTH.unpack(head)
    data = stream.read(length)
    return data if len(data) == length else None


def _restart_stderr() -> None:
    """Empty the stderr file, so that its tail after a crash is about the request that crashed."""
    try:
        os.ftruncate(2, 0)
        os.lseek(2, 0, os.SEEK_SET)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ESPIPE, errno.EBADF):
            raise


def _child_run(target: str, payload: bytes | None, args: list[Any]) -> tuple[bytes, bool]:
    """(the encoded answer, whether the child must exit after sending it)."""
    try:
        module, _, name = target.partition(":")
        function = getattr(importlib.import_module(module), name)
        value = function(*([] if payload is None else [payload]), *args)
        return _encode({"ok": value}), False
    except UnreadableFile as exc:
        return _encode({"unreadable": [exc.reason, exc.detail]}), False
    except MemoryError:
        return _encode({"failed": ["out_of_memory", _out_of_memory_detail(_child_memory_limit)]}), True
    except BaseException as exc:  # a Rust panic is a BaseException (pyo3's PanicException)
        message = mask_pii(" ".join(str(exc).split())[:200])
        return _encode({"failed": ["reader_crashed", f"the reader failed: {type(exc).__name__}: {message}"]}), True


def _encode(answer: dict[str, Any]) -> bytes:
    return json.dumps(answer, ensure_ascii=False, default=str).encode("utf-8", "surrogatepass")


# --- one child per process, shared ------------------------------------------------------------------

_shared: ChildReader | None = None
_shared_lock = threading.Lock()
_sessions = 0


def shared_reader() -> ChildReader:
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = ChildReader()
        return _shared


def run_in_child(target: str, payload: bytes | None = None, *args: Any, timeout: float | None = None) -> Any:
    """``module:function(payload, *args)`` in the shared child (see ChildReader.call)."""
    return shared_reader().call(target, payload, *args, timeout=timeout)


@contextmanager
def session(*, prestart: bool = False) -> Iterator[ChildReader]:
    """The shared child for everything read inside (an ingest run); stopped when the outermost session ends.

    ``prestart`` starts it now, so that its start-up overlaps the caller's work.
    """
    global _sessions
    reader = shared_reader()
    with _shared_lock:
        _sessions += 1
    try:
        if prestart:
            reader.start()
        yield reader
    finally:
        with _shared_lock:
            _sessions -= 1
            last = _sessions == 0
        if last:
            reader.close()


@atexit.register
def _close_shared() -> None:
    if _shared is not None:
        _shared.close()
