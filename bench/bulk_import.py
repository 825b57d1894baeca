"""Bulk import benchmark: a ZIP with a manifest against the same files uploaded one by one.

    .venv/bin/python -m bench.bulk_import            # 1,000 small files, and 1 GiB in 10 files
    .venv/bin/python -m bench.bulk_import --quick    # 100 small files, and 80 MiB in 10 files

A throwaway instance (SQLite + local blob store) with two cases. Into one, every file is POSTed to
/api/v1/cases/{id}/evidence, one request each (the baseline, what a person without bulk import does); into the
other, the same files go as one ZIP with a manifest: POST /api/v1/cases/{id}/imports, the preview job, POST
/imports/{id}/run, the import job. Requests go through the whole application (Flask's test client: routing,
authentication, multipart parsing, streaming into the store) and jobs through the job runner, in this process, so
the figures compare the two paths' own work, without a network in between. The ZIP stores files as they are (as
photographs and videos are archived); its making is not timed, its upload is.

Figures: wall time and files/s (or MiB/s) of each path, and their ratio. Targets: the import of many small files
takes no more than the single uploads (ratio <= 1); the import of large files, which reads each file twice (the
preview hashes every file before anything is written, the run stores it), no more than 2.5 x the single uploads;
both create every file, with the same SHA-256s.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import os
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import MIB, create_owner_and_case, make_instance, quick_from_env, table, temp_dir, verdict


def make_files(folder: Path, count: int, size: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for n in range(count):
        path = folder / f"exhibit-{n:04d}.bin"
        with path.open("wb") as out:
            written, block = 0, 0
            while written < size:
                data = hashlib.sha512(f"{n}.{block}".encode()).digest() * 1024  # 64 KiB, unique per file
                data = data[: size - written]
                out.write(data)
                written += len(data)
                block += 1
        paths.append(path)
    return paths


def run_jobs(app: Any) -> None:
    from sqlalchemy import select

    from casefile import components
    from casefile.db import session_scope
    from casefile.jobs import runner
    from casefile.jobs.models import Job, JobState

    with app.app_context():
        while True:
            with session_scope() as s:
                job_id = s.scalar(select(Job.id).where(Job.state == JobState.QUEUED).order_by(Job.created_at).limit(1))
            if job_id is None:
                return
            runner.run(app, components.job_queue(app), job_id)


def single_uploads(client: Any, headers: dict[str, str], case_id: Any, paths: list[Path]) -> float:
    started = time.perf_counter()
    for path in paths:
        with path.open("rb") as stream:
            response = client.post(
                f"/api/v1/cases/{case_id}/evidence",
                headers=headers,
                data={"file": (stream, path.name), "title": path.name},
                content_type="multipart/form-data",
            )
        response.request.input_stream.close()
        assert response.status_code == 201, response.get_data(as_text=True)[:300]
    return time.perf_counter() - started


def zipped(paths: list[Path], out: Path) -> Path:
    manifest = io.StringIO()
    writer = csv.writer(manifest)
    writer.writerow(["file", "title", "collected_at", "source"])
    for path in paths:
        writer.writerow([path.name, path.name, "12/06/2020", "Archive of the field team"])
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for path in paths:
            archive.write(path, path.name)
        archive.writestr("manifest.csv", manifest.getvalue())
    return out


def bulk_import(app: Any, client: Any, headers: dict[str, str], case_id: Any, archive: Path) -> float:
    started = time.perf_counter()
    with archive.open("rb") as stream:
        response = client.post(
            f"/api/v1/cases/{case_id}/imports",
            headers=headers,
            data={"archive": (stream, archive.name)},
            content_type="multipart/form-data",
        )
    response.request.input_stream.close()
    assert response.status_code == 202, response.get_data(as_text=True)[:300]
    import_id = response.get_json()["id"]
    run_jobs(app)
    assert client.post(f"/api/v1/imports/{import_id}/run", headers=headers).status_code == 202
    run_jobs(app)
    elapsed = time.perf_counter() - started
    done = client.get(f"/api/v1/imports/{import_id}", headers=headers).get_json()
    assert done["state"] == "done" and done["counts"]["refused"] == 0, done["counts"]
    return elapsed


def hashes(client: Any, headers: dict[str, str], case_id: Any) -> set[str]:
    found: set[str] = set()
    page = 1
    while True:
        body = client.get(f"/api/v1/cases/{case_id}/evidence?per_page=100&page={page}", headers=headers).get_json()
        found.update(item["sha256"] for item in body["items"])
        if page * 100 >= body["total"]:
            return found
        page += 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    quick = args.quick or quick_from_env()
    scenarios = [("small files", 100 if quick else 1000, 20 * 1024), ("large files", 10, (8 if quick else 100) * MIB)]

    from casefile import create_app

    rows, ok = [], True
    with temp_dir("casefile-bench-import-", keep=args.keep) as folder:
        settings = make_instance(folder / "instance", argon2_profile="cheapest")
        app = create_app(settings)
        client = app.test_client()
        for n, (label, count, size) in enumerate(scenarios):
            paths = make_files(folder / f"files-{n}", count, size)
            archive = zipped(paths, folder / f"archive-{n}.zip")
            single = create_owner_and_case(app, f"ONE{n}", email=f"one{n}@example.org")
            bulk = create_owner_and_case(app, f"ZIP{n}", email=f"zip{n}@example.org")
            one_time = single_uploads(client, {"Authorization": f"Bearer {single.token}"}, single.case_id, paths)
            zip_time = bulk_import(app, client, {"Authorization": f"Bearer {bulk.token}"}, bulk.case_id, archive)
            same = hashes(client, {"Authorization": f"Bearer {single.token}"}, single.case_id) == hashes(
                client, {"Authorization": f"Bearer {bulk.token}"}, bulk.case_id
            )
            ratio = zip_time / one_time
            target = 1.0 if label == "small files" else 2.5
            ok = ok and same and ratio <= target
            total_mib = count * size / MIB
            rows.append(
                (
                    label,
                    f"{count:,} x {size // 1024:,} KiB",
                    f"{one_time:.1f}",
                    f"{count / one_time:.0f} files/s, {total_mib / one_time:.0f} MiB/s",
                    f"{zip_time:.1f}",
                    f"{count / zip_time:.0f} files/s, {total_mib / zip_time:.0f} MiB/s",
                    f"{ratio:.2f} (<= {target})",
                    "yes" if same else "NO",
                )
            )
    print(f"Bulk import vs single uploads, SQLite + local store (load average {os.getloadavg()[0]:.2f})\n")
    print(
        table(
            ["files", "size", "single uploads s", "rate", "import s", "rate", "import / single", "same hashes"],
            rows,
        )
    )
    print(f"\n{verdict(ok)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
