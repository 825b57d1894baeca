"""Processes for work that must not run inside the application's own process.

Two kinds: laying out a dossier's PDF (CPU-bound Python that would hold the GIL while the building process streams
the evidence files) and reading the text of an uploaded PDF (a parser fed attacker-controlled files, bounded here
in time and memory and unable to take the web process down with it).

Workers come from a `multiprocessing` fork server that has imported what they need: starting one is a fork of a
small, single-threaded process, never of the application's process (which may hold threads, locks and database
connections), and costs no import. The server starts on first use and lives as long as the process that
started it.
"""

from __future__ import annotations

import functools
import multiprocessing
from multiprocessing.context import ForkServerContext


@functools.cache
def worker_context() -> ForkServerContext:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["casefile.dossier.pdf", "casefile.evidence.text", "pypdf"])
    return context
