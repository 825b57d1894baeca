"""Dossier benchmark: build a signed BagIt dossier of ~1 GiB of evidence and compare with `zip -0`.

    .venv/bin/python -m bench.dossier               # 500 items x 2.1 MiB (1,050 MiB, default)
    .venv/bin/python -m bench.dossier --quick       # 50 items x 256 KiB smoke run (or CASEFILE_BENCH_QUICK=1)
    .venv/bin/python -m bench.dossier --items 200 --item-size 8MiB

A throwaway instance (SQLite + local blob store) gets a user, a case with an incident and `--items` evidence
items of `--item-size` random bytes each, every one ingested through `casefile.evidence.services.ingest`
with a `store.writer()` filled 1 MiB at a time (classification "confidential", linked to the incident).
The build is then submitted as the API submits it (`casefile.dossier.jobs.submit_build`, "generic", all items) and
its job run as a worker thread runs it (`casefile.jobs.runner.run`: claim, access check, the build, success), in a
fresh child process (after a 1-item warm-up build in another case, so lazy imports, the PDF fork
server and font set-up are not counted), which measures its wall and CPU time and its peak RSS growth. The
builder lays the PDF out in a worker process while it streams the evidence; that worker's figures come from the
builder's log line, and its memory counts towards the target together with the build process's own.

Baseline, same run: `zip -0 -q -r` of the same files exported to a plain directory (best of a run before and
one after the build). Targets: build time <= 2x zip -0 time (judged when the evidence totals >= 1 GiB: on a
smoke run the per-dossier costs dominate), peak RSS growth during the build (build process + PDF worker)
<= 200 MiB, the dossier holds
every item, and `casefile.dossier.verify.verify_dossier_zip` accepts the ZIP exported from the store.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file (python bench/dossier.py): make `bench` and `casefile` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import (
    GIB,
    MIB,
    REPO,
    create_owner_and_case,
    instance_env,
    make_instance,
    proc_status_kib,
    quick_from_env,
    reset_peak_rss,
    table,
    temp_dir,
    verdict,
)
from bench.ingest import RssSampler, parse_size

TARGET_RATIO = 2.0
TARGET_RSS_MIB = 200.0
DEFAULT_ITEMS, DEFAULT_ITEM_SIZE = 500, int(2.1 * MIB)
QUICK_ITEMS, QUICK_ITEM_SIZE = 50, 256 * 1024
WARMUP_SIZE = 64 * 1024
CHUNK = MIB
PROFILE, TITLE = "generic", "Benchmark"
# Functions of casefile.dossier.builder timed in the child (build_dossier looks them up at call time).
WRAPPED = ("_trails", "assemble_document", "_pdf_html", "_finish_bag")


# --- the build, in a child process -------------------------------------------------------------------


def child() -> int:
    """The builder process. Started before the parent grows (Linux carries a parent's peak RSS over into the
    ru_maxrss of a child it forks and execs); waits for the job on stdin, builds a 1-item warm-up dossier,
    then times the real build and samples its memory.

    Phase times come from wrapping, in this process only (the application's code is unchanged), references the
    builder module holds (`get_database`, first called when step 2 starts, `_stream_evidence` and `_finish_bag`
    at the phase boundaries, and the functions in WRAPPED) and the blob writer's `commit` (the ZIP's fsync and
    publication). The PDF worker's pages, size, times and memory come from the builder's log record."""
    inherited = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    line = sys.stdin.readline()
    if not line.strip():
        return 0  # the parent gave up before sending a job
    job = json.loads(line)
    case_id, warmup_case_id, user_id = (uuid.UUID(job[k]) for k in ("case_id", "warmup_case_id", "user_id"))

    import logging

    from casefile import components, create_app
    from casefile.auth.models import User
    from casefile.cases.models import Case
    from casefile.config import load_settings
    from casefile.db import session_scope
    from casefile.dossier import builder as builder_module
    from casefile.dossier.builder import DossierRequest
    from casefile.dossier.jobs import submit_build
    from casefile.dossier.models import Dossier, DossierStatus
    from casefile.jobs import runner
    from casefile.jobs.models import Job
    from casefile.storage.base import TempFileBlobWriter

    pid = os.getpid()
    marks: dict[str, float] = {}  # perf_counter at phase boundaries
    hwm: dict[str, int] = {}  # VmHWM (KiB) at the same boundaries: shows in which phase the peak rose
    spent: dict[str, float] = {}  # wall seconds inside the wrapped builder functions
    commits: list[float] = []
    pdf_info: dict[str, float] = {}
    original_get_database = builder_module.get_database
    original_commit = TempFileBlobWriter.commit

    class PdfRecord(logging.Handler):
        """The builder's line about the PDF worker: pages, bytes, layout s, total s, RSS at start, peak (KiB)."""

        def emit(self, record: logging.LogRecord) -> None:
            if "PDF of" in str(record.msg) and isinstance(record.args, tuple):
                keys = ("pages", "bytes", "layout_s", "worker_s", "rss_start_kib", "peak_kib")
                pdf_info.update(zip(keys, record.args[1:], strict=True))

    builder_log = logging.getLogger(builder_module.__name__)
    builder_log.addHandler(PdfRecord())
    builder_log.setLevel(logging.INFO)

    def mark(name: str) -> None:
        marks.setdefault(name, time.perf_counter())
        hwm.setdefault(name, proc_status_kib(pid, "VmHWM"))

    def marking_get_database(*args: Any, **kwargs: Any) -> Any:
        mark("step1")  # step 1 has committed; step 2 opens its read snapshot
        return original_get_database(*args, **kwargs)

    def timed_commit(self: Any, expected_sha256: str | None = None) -> str:
        started = time.perf_counter()
        try:
            return original_commit(self, expected_sha256)
        finally:
            commits.append(time.perf_counter() - started)

    def wrap(name: str) -> None:
        original = getattr(builder_module, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spent[name] = spent.get(name, 0.0) + time.perf_counter() - started
                hwm[name] = proc_status_kib(pid, "VmHWM")

        setattr(builder_module, name, timed)

    builder_module.get_database = marking_get_database  # type: ignore[assignment]
    TempFileBlobWriter.commit = timed_commit  # type: ignore[method-assign]
    for name in WRAPPED:
        wrap(name)

    original_stream, original_finish = builder_module._stream_evidence, builder_module._finish_bag

    def marking_stream(*args: Any) -> Any:
        result = original_stream(*args)
        mark("evidence")  # every file is in the package
        return result

    def marking_finish(*args: Any) -> Any:
        mark("documents")  # trails, dossier.json and the PDF are in: the manifests and the signature follow
        return original_finish(*args)

    builder_module._stream_evidence = marking_stream  # type: ignore[assignment]
    builder_module._finish_bag = marking_finish  # type: ignore[assignment]

    def build_as_job(build_case: uuid.UUID, title: str, evidence_ids: list[str]) -> uuid.UUID:
        """Submit the build as the API does, and run its job as a worker thread does (runner.run: claim, access
        check, the three steps, success); the queue's hand-over is not what is measured."""
        with session_scope(app) as s:
            dossier, submitted = submit_build(
                s,
                s.get_one(Case, build_case),
                s.get_one(User, user_id),
                DossierRequest(PROFILE, title, evidence_ids),
            )
        runner.run(app, components.job_queue(app), submitted.id)
        with session_scope(app) as s:
            built, ran = s.get_one(Dossier, dossier.id), s.get_one(Job, submitted.id)
            if built.status is not DossierStatus.READY:
                raise RuntimeError(f"the build job ended {ran.state}: {ran.error}")
        return dossier.id

    app = create_app(load_settings())  # CASEFILE_INSTANCE_PATH comes from the environment (instance_env)
    with app.app_context():
        # Warm-up: a 1-item dossier in another case (imports WeasyPrint, loads fonts and templates).
        rss_cold = proc_status_kib(pid, "VmRSS")
        started = time.perf_counter()
        build_as_job(warmup_case_id, "Warm-up", job["warmup_ids"])
        warmup_s = time.perf_counter() - started
        rss_warm = proc_status_kib(pid, "VmRSS")
        marks.clear()
        hwm.clear()
        spent.clear()
        commits.clear()
        pdf_info.clear()

        hwm_reset = reset_peak_rss(pid)
        rss_before = proc_status_kib(pid, "VmRSS")
        maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        sampler = RssSampler(pid)
        sampler.start()
        cpu = time.process_time()
        started = time.perf_counter()
        dossier_id = build_as_job(case_id, TITLE, job["evidence_ids"])
        ended = time.perf_counter()
        build_cpu = time.process_time() - cpu
        if "peak_kib" not in pdf_info:  # without it the worker's memory would silently go uncounted
            raise RuntimeError("the builder logged no line about its PDF worker")
        sampler.stop()
        hwm_after = proc_status_kib(pid, "VmHWM")
        rss_after = proc_status_kib(pid, "VmRSS")
        maxrss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

        with session_scope(app) as s:
            dossier = s.get(Dossier, dossier_id)
            assert dossier is not None
            record = {
                "id": str(dossier.id),
                "sha256": dossier.sha256,
                "size": dossier.size,
                "bag_name": dossier.bag_name,
                "tree_size": dossier.tree_size,
                "included": len(dossier.included),
                "excluded": len(dossier.excluded),
            }
    app.extensions["casefile_db"].dispose()

    step1 = marks.get("step1", started)
    evidence = marks.get("evidence", step1)
    documents = marks.get("documents", evidence)
    result = {
        "build_s": ended - started,
        "build_cpu": build_cpu,
        "phases": {
            "step1": step1 - started,
            "evidence": evidence - step1,
            "documents": documents - evidence,
            "finish": ended - documents,
            "commit": sum(commits),
            **spent,
        },
        "hwm_kib": hwm,
        "warmup_s": warmup_s,
        "dossier": record,
        "maxrss_inherited_kib": inherited,
        "rss_cold_kib": rss_cold,
        "rss_warm_kib": rss_warm,
        "pdf": pdf_info,
        "maxrss_before_kib": maxrss_before,
        "maxrss_after_kib": maxrss_after,
        "rss_before_kib": rss_before,
        "rss_after_kib": rss_after,
        "hwm_after_kib": hwm_after if hwm_reset else None,
        "sampled_peak_kib": sampler.peak_kib,
        "samples": sampler.samples,
    }
    print("RESULT " + json.dumps(result), flush=True)
    return 0


def start_child(instance: Path) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "bench.dossier", "--child"]
    pipe = subprocess.PIPE
    return subprocess.Popen(cmd, cwd=REPO, env=instance_env(instance), stdin=pipe, stdout=pipe, stderr=pipe, text=True)


def finish_child(proc: subprocess.Popen[str], job: dict[str, Any]) -> dict[str, Any]:
    out, err = proc.communicate(json.dumps(job) + "\n")
    if proc.returncode != 0 or "RESULT " not in out:
        raise RuntimeError(f"the build child failed ({proc.returncode}):\n{err[-4000:]}")
    line = next(line for line in out.splitlines() if line.startswith("RESULT "))
    return json.loads(line.removeprefix("RESULT "))


# --- the instance ------------------------------------------------------------------------------------


def write_random(writer: Any, rng: random.Random, size: int) -> None:
    """`size` incompressible bytes into a blob writer, CHUNK at a time (never a whole file in memory)."""
    remaining = size
    while remaining:
        block = rng.randbytes(min(CHUNK, remaining))
        writer.write(block)
        remaining -= len(block)


def seed(app: Any, items: int, item_size: int) -> tuple[dict[str, Any], list[Any], float]:
    """User, case, incident, and `items` ingested files; plus a warm-up case with one small item.
    Returns (the child's job, the evidence items' (id, sha256, download name) rows, seconds)."""
    from casefile.auth.models import User
    from casefile.cases.models import Case
    from casefile.cases.services import create_case, create_incident
    from casefile.db import session_scope
    from casefile.evidence.services import download_name, ingest

    started = time.perf_counter()
    rng = random.Random(11)
    store = app.extensions["casefile_blobs"]
    owner = create_owner_and_case(app, "DOS")
    incident_data = {"title": "Shelling of the market", "start_date": "2025-03-01", "place_name": "Northern district"}
    with app.app_context(), session_scope(app) as s:
        user = s.get(User, owner.user_id)
        incident_id = create_incident(s, s.get(Case, owner.case_id), incident_data).id
        warmup_case = create_case(s, user, {"reference": "WRM", "title": "Warm-up case"})
        warmup_case_id = warmup_case.id
        with store.writer() as writer:
            write_random(writer, rng, WARMUP_SIZE)
            warmup_id = ingest(
                s,
                store,
                warmup_case,
                user,
                writer,
                filename="warm-up.bin",
                data={"title": "Warm-up item", "classification": "confidential"},
            ).id

    rows = []
    report_every = max(items // 10, 1)
    for n in range(1, items + 1):
        with app.app_context(), session_scope(app) as s:  # one transaction per upload, as the app does
            with store.writer() as writer:
                write_random(writer, rng, item_size)
                item = ingest(
                    s,
                    store,
                    s.get(Case, owner.case_id),
                    s.get(User, owner.user_id),
                    writer,
                    filename=f"capture-{n:04d}.bin",
                    data={"title": f"Field capture {n}", "classification": "confidential", "source": "Field team"},
                    incident_ids=[incident_id],
                )
            rows.append((str(item.id), item.sha256, download_name(item)))
        if n % report_every == 0:
            print(f"  {n:,} items ingested ({time.perf_counter() - started:.0f} s)", flush=True)
    job = {
        "case_id": str(owner.case_id),
        "user_id": str(owner.user_id),
        "evidence_ids": [row[0] for row in rows],
        "warmup_case_id": str(warmup_case_id),
        "warmup_ids": [str(warmup_id)],
    }
    return job, rows, time.perf_counter() - started


def export_blob(store: Any, sha256: str, target: Path) -> str:
    """Copy a blob out of the store, CHUNK at a time; returns the SHA-256 of what was copied."""
    digest = hashlib.sha256()
    with store.open(sha256) as source, open(target, "xb") as out:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest()


# --- the baseline ------------------------------------------------------------------------------------


def zip_baseline(folder: Path, out: Path) -> dict[str, float]:
    """`zip -0 -q -r` of `folder` (from its parent, so the archive holds one top folder, like the bag). Dirty
    pages are written back first; the fsync of the output afterwards is timed separately (zip does not fsync,
    the blob store does)."""
    os.sync()
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(["zip", "-0", "-q", "-r", str(out), folder.name], cwd=folder.parent, check=True)
    wall = time.perf_counter() - started
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    fd = os.open(out, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    fsync_s = time.perf_counter() - started
    size = out.stat().st_size
    out.unlink()
    cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    return {"wall": wall, "cpu": cpu, "fsync": fsync_s, "size": size}


def verify_exported(path: Path, scratch: Path) -> tuple[Any, float, str | None]:
    """(report, seconds, note) of casefile.dossier.verify.verify_dossier_zip, or (None, 0, why) if the module
    is missing. It extracts the ZIP into a temporary directory: pointed at `scratch` (the benchmark's own
    temp dir) for the duration."""
    try:
        module = importlib.import_module("casefile.dossier.verify")
    except ModuleNotFoundError as error:
        if error.name not in ("casefile.dossier.verify",):
            raise
        return None, 0.0, "casefile.dossier.verify does not exist (yet): the dossier was not verified"
    verify = getattr(module, "verify_dossier_zip", None)
    if verify is None:
        return None, 0.0, "casefile.dossier.verify has no verify_dossier_zip (yet): the dossier was not verified"
    saved = tempfile.tempdir
    tempfile.tempdir = str(scratch)
    try:
        started = time.perf_counter()
        report = verify(path)
        return report, time.perf_counter() - started, None
    finally:
        tempfile.tempdir = saved


# --- the run -----------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> bool:
    with temp_dir("casefile-bench-dossier-", args.keep) as root:
        instance = root / "instance"
        builder = start_child(instance)  # first, while this process is small (see child())
        try:
            return report(args, root, instance, builder)
        finally:
            if builder.poll() is None:
                builder.kill()
                builder.wait()


def report(args: argparse.Namespace, root: Path, instance: Path, builder: subprocess.Popen[str]) -> bool:
    from casefile import create_app

    items, item_size = args.items, args.item_size
    total = items * item_size
    settings = make_instance(instance)
    app = create_app(settings)
    store = app.extensions["casefile_blobs"]
    print(f"ingesting {items:,} items x {item_size / MIB:.2f} MiB = {total / MIB:,.0f} MiB of random data ...")
    job, rows, seed_s = seed(app, items, item_size)
    app.extensions["casefile_db"].dispose()

    # The same files in a plain directory, laid out as in the bag, for the baseline (not timed).
    plain = root / "plain" / "DOS-plain"
    evidence_dir = plain / "data" / "evidence"
    evidence_dir.mkdir(parents=True)
    started = time.perf_counter()
    exported_ok = all(export_blob(store, sha, evidence_dir / name) == sha for _id, sha, name in rows)
    export_s = time.perf_counter() - started
    print(f"seeded in {seed_s:.1f} s; exported to a plain directory in {export_s:.1f} s", flush=True)

    # The baseline runs before and after the build; the faster run is used (the stricter ratio).
    zip_out = root / "baseline.zip"
    print("zip -0 baseline (1/2) ...", flush=True)
    zip1 = zip_baseline(plain, zip_out)
    print("building the dossier in the child process ...", flush=True)
    os.sync()
    load_start = os.getloadavg()[0]
    result = finish_child(builder, job)
    load_end = os.getloadavg()[0]
    print("zip -0 baseline (2/2) ...", flush=True)
    zip2 = zip_baseline(plain, zip_out)
    best = min((zip1, zip2), key=lambda z: z["wall"])

    # Export the dossier from the store and verify it (not timed as part of the build).
    record = result["dossier"]
    dossier_zip = root / f"{record['bag_name']}.zip"
    export_sha = export_blob(store, record["sha256"], dossier_zip)
    stored_ok = export_sha == record["sha256"] and dossier_zip.stat().st_size == record["size"]
    print("verifying the exported dossier ...", flush=True)
    verification, verify_s, verify_note = verify_exported(dossier_zip, root)
    dossier_zip.unlink()

    build_s, phases = result["build_s"], result["phases"]
    ratio = build_s / best["wall"]
    # Step 2 up to the last evidence file: the trails, dossier.json and the PDF's HTML come first, then the stream.
    inner = phases.get("_trails", 0.0) + phases.get("assemble_document", 0.0) + phases.get("_pdf_html", 0.0)
    streaming = phases["evidence"] - inner
    evidence_ratio = streaming / best["wall"]
    peak_reset = result["hwm_after_kib"] is not None
    peak_kib = max(result["hwm_after_kib"], result["sampled_peak_kib"]) if peak_reset else result["sampled_peak_kib"]
    pdf = result["pdf"]
    build_growth_mib = (peak_kib - result["rss_before_kib"]) / 1024
    worker_growth_mib = (pdf.get("peak_kib", 0) - pdf.get("rss_start_kib", 0)) / 1024
    # The worker is forked for the PDF and gone afterwards: its growth over the fork server it came from is memory
    # the build takes, on top of the build process's own.
    growth_mib = build_growth_mib + worker_growth_mib
    maxrss_growth = (result["maxrss_after_kib"] - result["maxrss_before_kib"]) / 1024
    mib = total / MIB

    print()
    print(
        f"## Dossier build: {items:,} items x {item_size / MIB:.2f} MiB = {mib:,.0f} MiB of evidence "
        f"(profile {PROFILE}, SQLite + local blobs, fresh child process)"
    )
    print()
    hwm = result["hwm_kib"]
    rss_before = result["rss_before_kib"]

    def grown(name: str) -> str:
        """Peak RSS growth reached by the end of a phase (VmHWM over the RSS before the build)."""
        return f"{(hwm[name] - rss_before) / 1024:.1f}" if peak_reset and name in hwm else ""

    print(
        table(
            ["measure", "wall s", "MiB/s", "CPU s", "peak RSS growth by its end, MiB"],
            [
                [
                    "build job: claim, the three steps, success",
                    f"{build_s:.2f}",
                    f"{mib / build_s:,.0f}",
                    f"{result['build_cpu']:.2f}",
                    f"{growth_mib:.1f}",
                ],
                ["  1. exported entries + signed checkpoint", f"{phases['step1']:.2f}", "", "", grown("step1")],
                [
                    "  2a. custody trails with inclusion proofs (_trails)",
                    f"{phases.get('_trails', 0.0):.2f}",
                    "",
                    "",
                    grown("_trails"),
                ],
                [
                    "  2b. dossier.json content (assemble_document)",
                    f"{phases.get('assemble_document', 0.0):.2f}",
                    "",
                    "",
                    grown("assemble_document"),
                ],
                [
                    "  2c. the PDF's HTML and charts (_pdf_html)",
                    f"{phases.get('_pdf_html', 0.0):.2f}",
                    "",
                    "",
                    grown("_pdf_html"),
                ],
                [
                    "  2d. evidence files streamed into the ZIP",
                    f"{streaming:.2f}",
                    f"{mib / max(streaming, 1e-9):,.0f}",
                    "",
                    grown("evidence"),
                ],
                [
                    "      meanwhile: PDF laid out and written in a worker",
                    f"{pdf.get('worker_s', 0.0):.2f}",
                    "",
                    "",
                    f"{worker_growth_mib:.1f} (worker)",
                ],
                [
                    "  2e. rest of the PDF wait, JSON encoding, trail files",
                    f"{phases['documents']:.2f}",
                    "",
                    "",
                    "",
                ],
                [
                    "  2f+3. tag files and signature, ZIP commit, record",
                    f"{phases['finish']:.2f}",
                    "",
                    "",
                    grown("_finish_bag"),
                ],
                ["      of which the ZIP's commit (fsync + publish)", f"{phases['commit']:.2f}", "", "", ""],
                [
                    "baseline: zip -0 -q -r, best of 2",
                    f"{best['wall']:.2f} ({zip1['wall']:.2f} / {zip2['wall']:.2f})",
                    f"{mib / best['wall']:,.0f}",
                    f"{best['cpu']:.2f}",
                    "",
                ],
                ["  + fsync of zip's output (info)", f"{best['wall'] + best['fsync']:.2f}", "", "", ""],
                ["(warm-up build, 1 item, first in the process)", f"{result['warmup_s']:.2f}", "", "", ""],
                ["(verify_dossier_zip of the exported ZIP)", f"{verify_s:.2f}" if verification else "-", "", "", ""],
            ],
        )
    )
    print()
    print(
        table(
            ["figure", "value"],
            [
                ["dossier ZIP", f"{record['size']:,} bytes ({record['size'] / MIB:,.0f} MiB), {record['bag_name']}"],
                [
                    "dossier.pdf",
                    f"{pdf.get('bytes', 0):,.0f} bytes, {pdf.get('pages', 0):,.0f} pages; WeasyPrint layout "
                    f"{pdf.get('layout_s', 0.0):.2f} s of the worker's {pdf.get('worker_s', 0.0):.2f} s",
                ],
                ["zip -0 output", f"{best['size']:,} bytes"],
                ["ratio build / zip -0 (wall)", f"{ratio:.2f}"],
                ["ratio build / (zip -0 + fsync) (wall, info)", f"{build_s / (best['wall'] + best['fsync']):.2f}"],
                ["ratio evidence streaming (2d) / zip -0 (wall, info)", f"{evidence_ratio:.2f}"],
                ["ratio CPU build / zip -0 (info)", f"{result['build_cpu'] / max(best['cpu'], 1e-9):.2f}"],
                [
                    "RSS before / after the build",
                    f"{result['rss_before_kib'] / 1024:.1f} / {result['rss_after_kib'] / 1024:.1f} MiB",
                ],
                [
                    "peak RSS during the build (VmHWM / sampled)",
                    (f"{result['hwm_after_kib'] / 1024:.1f}" if peak_reset else "n/a (no clear_refs)")
                    + f" / {result['sampled_peak_kib'] / 1024:.1f} MiB ({result['samples']} samples)",
                ],
                [
                    "peak RSS growth: build process + PDF worker",
                    f"{build_growth_mib:.1f} + {worker_growth_mib:.1f} = {growth_mib:.1f} MiB "
                    f"(worker {pdf.get('rss_start_kib', 0) / 1024:.1f} MiB at fork, "
                    f"peak {pdf.get('peak_kib', 0) / 1024:.1f})",
                ],
                ["ru_maxrss growth during the build (info)", f"{maxrss_growth:.1f} MiB"],
                [
                    "RSS after create_app / after the warm-up build (info)",
                    f"{result['rss_cold_kib'] / 1024:.1f} / {result['rss_warm_kib'] / 1024:.1f} MiB",
                ],
                [
                    "dossier record",
                    f"included {record['included']}, excluded {record['excluded']}, tree size {record['tree_size']:,}",
                ],
                ["1-min load average before / after the build (2 CPUs)", f"{load_start:.1f} / {load_end:.1f}"],
                ["(seeding: ingest through the service)", f"{seed_s:.1f} s = {mib / seed_s:,.0f} MiB/s"],
            ],
        )
    )
    if verification is not None:
        print(
            f"\nverify_dossier_zip: ok={verification.ok}, {len(verification.checks)} checks, "
            f"{len(verification.problems)} problems, items {verification.item_count}"
        )
        for problem in verification.problems[:10]:
            print(f"  PROBLEM {problem}")
        if len(verification.problems) > 10:
            print(f"  ... and {len(verification.problems) - 10} more")
    else:
        print(f"\nNOTE: {verify_note}")

    judge_time = total >= GIB
    checks = [
        [
            "build time / zip -0 time",
            f"{ratio:.2f}",
            f"<= {TARGET_RATIO:.0f}",
            verdict(ratio <= TARGET_RATIO) if judge_time else "n/a (judged at >= 1 GiB)",
        ],
        [
            "peak RSS growth during the build (process + PDF worker)",
            f"{growth_mib:.1f} MiB",
            f"<= {TARGET_RSS_MIB:.0f} MiB",
            verdict(growth_mib <= TARGET_RSS_MIB),
        ],
        [
            "dossier includes every item; stored ZIP matches its record",
            f"{record['included']}/{items}, {'yes' if stored_ok and exported_ok else 'NO'}",
            f"{items}/{items}, yes",
            verdict(record["included"] == items and record["excluded"] == 0 and stored_ok and exported_ok),
        ],
    ]
    if verification is not None:
        verified = verification.ok and verification.item_count == items
        checks.append(
            [
                "verify_dossier_zip(exported ZIP)",
                f"ok={verification.ok}, {verification.item_count} items, {len(verification.problems)} problems",
                f"ok, {items} items",
                verdict(verified),
            ]
        )
    else:
        checks.append(["verify_dossier_zip(exported ZIP)", "not run", "-", "skipped (module missing)"])
    print()
    print(table(["check", "measured", "target", "result"], checks))
    ok = all(row[-1] != "FAIL" for row in checks)
    print(f"\ndossier: {verdict(ok)}")
    return ok


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        return child()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, help=f"evidence items (default {DEFAULT_ITEMS}; --quick {QUICK_ITEMS})")
    parser.add_argument(
        "--item-size", type=parse_size, help="size of each item, e.g. 2MiB (default 2.1 MiB; --quick 256 KiB)"
    )
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_ITEMS} items x {QUICK_ITEM_SIZE // 1024} KiB")
    parser.add_argument("--keep", action="store_true", help="keep the temporary instance")
    args = parser.parse_args(argv)
    quick = args.quick or quick_from_env()
    args.items = args.items or (QUICK_ITEMS if quick else DEFAULT_ITEMS)
    args.item_size = args.item_size or (QUICK_ITEM_SIZE if quick else DEFAULT_ITEM_SIZE)
    if args.items < 1:
        parser.error("--items must be at least 1")
    return 0 if run(args) else 1


if __name__ == "__main__":
    sys.exit(main())
