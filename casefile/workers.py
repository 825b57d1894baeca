"""Processes for work that must not run inside the application's own process.

Three kinds: laying out a dossier's PDF (CPU-bound Python that would hold the GIL while the building process streams
the evidence files), reading the text of an uploaded PDF (a parser fed attacker-controlled files, bounded here
in time and memory and unable to take the web process down with it), and walking slices of the custody ledger side
by side (re-hashing is CPU-bound Python too: one process per CPU).

Workers come from a `multiprocessing` fork server that has imported what they need: starting one is a fork of a
small, single-threaded process, never of the application's process (which may hold threads, locks and database
connections), and costs no import. The server starts on first use and lives as long as the process that
started it.
"""

from __future__ import annotations

import functools
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.context import ForkServerContext
from typing import TypeVar

T = TypeVar("T")


@functools.cache
def worker_context() -> ForkServerContext:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(
        ["casefile.dossier.pdf", "casefile.evidence.text", "pypdf", "casefile.custody.verify"]
    )
    return context


def outside_event_loop(work: Callable[[], T]) -> T:
    """Run `work` in a thread of its own and wait for it. Libraries with a synchronous face over asyncio (pyHanko's
    signing, Playwright's sync API) refuse to start inside a thread whose event loop is running; a job's thread has
    none in production, but whoever runs jobs from a thread that has one (a test driving a browser, a future async
    worker) must not make a dossier or a capture fail for that."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="outside-loop") as pool:
        return pool.submit(work).result()
