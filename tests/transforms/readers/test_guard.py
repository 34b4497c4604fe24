"""The reader child process (transforms/readers/guard.py): every failure is an UnreadableFile.

Failures are provoked with standard-library functions run in the child (a sleep, ``os.abort``, a
huge ``bytearray``, ``SystemExit``), and with the real thing: calamine on a workbook whose cells
span 17 billion cells, past the container check (``read_in_child`` directly), which must end in
``out_of_memory`` while this process stays small.
"""

import importlib.util
import resource
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from transforms.channels.registry import ReaderOptions
from transforms.readers import UnreadableFile, guard, xlsx

HOSTILE = Path(__file__).resolve().parents[2] / "fixtures" / "bad_inputs" / "hostile.py"


def _load_hostile():
    spec = importlib.util.spec_from_file_location("bad_inputs_hostile", HOSTILE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


hostile = _load_hostile()


@pytest.fixture(scope="module")
def child() -> Iterator[guard.ChildReader]:
    reader = guard.ChildReader(memory_limit=1 * 2**30, timeout=30)
    yield reader
    reader.close()


def test_a_call_returns_what_the_function_returns(child: guard.ChildReader) -> None:
    assert child.call("builtins:len", b"12345") == 5
    assert child.call("math:hypot", None, 3, 4) == 5.0


def test_unreadable_file_comes_back_as_raised(child: guard.ChildReader) -> None:
    with pytest.raises(UnreadableFile) as caught:
        child.call("transforms.readers.xlsx:read_in_child", b"PK\x03\x04 not a zip", ReaderOptions().model_dump())
    assert caught.value.reason == "broken_xlsx"
    assert child.call("builtins:len", b"ok") == 2  # the same child goes on


@pytest.mark.parametrize(
    ("target", "args", "reason", "words"),
    [
        ("os:abort", (), "reader_crashed", "SIGABRT"),
        ("os:_exit", (7,), "reader_crashed", "exited with code 7"),
        ("sys:exit", (3,), "reader_crashed", "SystemExit"),  # a BaseException, like pyo3's PanicException
        ("builtins:bytearray", (8 * 2**30,), "out_of_memory", "1 GiB memory limit"),
        ("builtins:float", ("not a number",), "reader_crashed", "ValueError"),
    ],
    ids=["abort", "exit-code", "base-exception", "memory-error", "exception"],
)
def test_every_failure_is_an_unreadable_file_and_the_next_call_works(
    child: guard.ChildReader, target: str, args: tuple, reason: str, words: str
) -> None:
    with pytest.raises(UnreadableFile) as caught:
        child.call(target, None, *args)
    assert caught.value.reason == reason
    assert words in caught.value.detail
    assert child.call("builtins:len", b"abc") == 3  # a new child


def test_a_reader_that_hangs_is_stopped_at_the_time_limit(child: guard.ChildReader) -> None:
    with pytest.raises(UnreadableFile) as caught:
        child.call("time:sleep", None, 30, timeout=0.5)
    assert caught.value.reason == "timeout"
    assert child.call("builtins:len", b"") == 0


def test_calamine_on_a_17_billion_cell_workbook_hits_the_memory_limit_not_this_process(
    child: guard.ChildReader,
) -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(UnreadableFile) as caught:  # read_in_child skips the container check
        child.call("transforms.readers.xlsx:read_in_child", hostile.xfd_workbook(), ReaderOptions().model_dump())
    assert caught.value.reason == "out_of_memory"
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200 * 1024  # KiB
    assert resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024 < guard.MEMORY_LIMIT_BYTES
    assert child.call("transforms.readers.xlsx:read_in_child", hostile.good_workbook(), ReaderOptions().model_dump())


def test_one_child_serves_a_session_and_stops_with_it() -> None:
    with guard.session(prestart=True) as reader:
        starts = reader.starts
        assert reader.running
        for _ in range(5):
            assert xlsx.read(hostile.good_workbook(), ReaderOptions()).records
        assert reader.starts == starts
    assert not reader.running


def test_stray_output_of_a_reader_does_not_corrupt_the_answer(child: guard.ChildReader) -> None:
    assert child.call("builtins:print", None, "noise on stdout") is None
    assert child.call("builtins:len", b"four") == 4
