"""Imported only inside the fork server of the ingest workers (``warehouse.ingest_pool``), never elsewhere.

The fork server imports this module once; every worker forks from it with the readers already
imported (a worker starts in milliseconds instead of importing polars and the readers again).

It also stops the workers from running the caller's script again. ``multiprocessing`` re-runs the
parent's main module in each new worker (as ``__mp_main__``) so that functions defined there can be
unpickled; a script that calls ``ingest_landing`` at its top level without an
``if __name__ == "__main__":`` guard would then open the warehouse from every worker and wait for
its lock (up to half an hour) while its parent waits for them. The workers need nothing from the
main module (their task and its arguments live in importable modules), so here, in the fork server
only, that step is skipped; the parent process and any other pool keep the standard behaviour.
"""

from multiprocessing import spawn

import warehouse.ingest_pool  # noqa: F401 - the readers and the workers' task, imported once for all workers


def _main_module_not_needed(_main: str) -> None:
    """The ingest workers' stand-in for ``spawn._fixup_main_from_path`` and ``_fixup_main_from_name``."""


spawn._fixup_main_from_path = _main_module_not_needed
spawn._fixup_main_from_name = _main_module_not_needed
