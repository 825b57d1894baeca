"""`flask --app app import evidence|incidents|actors …`: the same preview and run as the pages and the API, in this
process (a folder on the server can only be read here), printing the preview and then progress.

The import is recorded like any other (its page and report show it); each created item's `ingested` entry names it
and the person given with --user, who must be allowed to change the case.
"""

from __future__ import annotations

import sys
import zipfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import IO, Any

import click
from flask.cli import AppGroup
from sqlalchemy import select

from casefile import components
from casefile.auth.models import User
from casefile.cases.models import Case
from casefile.db import session_scope
from casefile.errors import CasefileError
from casefile.intake import services
from casefile.intake.manifest import ManifestError
from casefile.intake.models import Import, ImportKind, ImportRow, ImportState, RowStatus
from casefile.intake.sources import FolderSource, Source, SourceError, ZipSource
from casefile.storage import BlobWriter, copy_into

import_cli = AppGroup("import", help="Bring evidence, incidents or actors into a case in bulk.")

USER = click.option("--user", "email", required=True, help="Who is importing (recorded in the custody ledger).")
DATE_ORDER = click.option(
    "--date-order", type=click.Choice(["dmy", "mdy"]), default="dmy", show_default=True, help="How to read 12/06/2020."
)
YES = click.option("--yes", is_flag=True, help="Run without asking after the preview.")
PREVIEW_ONLY = click.option("--preview-only", is_flag=True, help="Show what would happen; create nothing.")
SHOWN_PROBLEMS = 50


def _stored(path: Path) -> tuple[BlobWriter, str]:
    with path.open("rb") as file:
        return copy_into(components.blob_store().writer(), file), path.name


@contextmanager
def _sources(path: Path | None, manifest: Path | None) -> Iterator[tuple[Source | None, tuple[IO[bytes], str] | None]]:
    max_bytes = components.settings().max_upload_bytes
    with ExitStack() as stack:
        source: Source | None = None
        if path is not None:
            source = (
                FolderSource(path, max_bytes)
                if path.is_dir()
                else ZipSource(stack.enter_context(path.open("rb")), max_bytes)
            )
        opened = (stack.enter_context(manifest.open("rb")), manifest.name) if manifest is not None else None
        yield source, opened


def _run(kind: ImportKind, case_ref: str, path: Path | None, manifest: Path | None, **options: Any) -> None:
    try:
        _import(kind, case_ref, path, manifest, **options)
    except (CasefileError, ManifestError, SourceError) as error:
        message = error.message if isinstance(error, CasefileError) else str(error)
        raise click.ClickException(message) from None


def _import(
    kind: ImportKind,
    case_ref: str,
    path: Path | None,
    manifest: Path | None,
    *,
    email: str,
    date_order: str,
    yes: bool,
    preview_only: bool,
) -> None:
    if path is not None and path.is_file() and not zipfile.is_zipfile(path):
        raise click.ClickException(f"{path} is neither a folder nor a ZIP archive.")
    with session_scope() as s:
        case = s.scalar(select(Case).where(Case.reference == case_ref))
        user = s.scalar(select(User).where(User.email == email.strip().lower()))
        if case is None:
            raise click.ClickException(f"No case {case_ref}.")
        if user is None or not user.active:
            raise click.ClickException(f"No active user {email}.")
        archive = _stored(path) if path is not None and path.is_file() else None
        imp = services.create_import(
            s,
            case,
            user,
            kind,
            archive=archive,
            manifest=_stored(manifest) if manifest is not None else None,
            date_order=date_order,
            folder=str(path) if path is not None and path.is_dir() else None,
        )
        with _sources(path, manifest) as (source, opened):
            try:
                planned: list[services.Planned] | Exception = services.plan(s, case, imp, source, opened)
            except (ManifestError, SourceError) as error:
                planned = error
            counts = services.store_plan(s, imp, planned)
        import_id = imp.id
    if isinstance(planned, Exception):
        raise click.ClickException(f"Nothing imported: {planned}")
    _show_preview(planned, counts, import_id)
    if preview_only or counts.get(RowStatus.CREATE.value, 0) == 0:
        click.echo("Nothing was created.")
        return
    if not yes:
        click.confirm(f"Create {counts[RowStatus.CREATE.value]} rows?", abort=True)
    _create_rows(import_id, path, manifest)


def _show_preview(planned: list[services.Planned], counts: dict[str, int], import_id: object) -> None:
    click.echo(f"Import {import_id}: " + ", ".join(f"{n} {status}" for status, n in sorted(counts.items())))
    problems = [row for row in planned if row.status is not RowStatus.CREATE]
    for row in problems[:SHOWN_PROBLEMS]:
        click.echo(f"  row {row.number}: {row.status.value}: {row.reason}")
    if len(problems) > SHOWN_PROBLEMS:
        click.echo(f"  … and {len(problems) - SHOWN_PROBLEMS} more (see the import's report)")


def _create_rows(import_id: object, path: Path | None, manifest: Path | None) -> None:
    store = components.blob_store()
    with session_scope() as s:
        imp = s.get(Import, import_id)
        if imp is None:
            raise click.ClickException("The import is gone.")
        services.start(s, imp, imp.created_by)
        todo = list(
            s.scalars(
                select(ImportRow.id)
                .where(ImportRow.import_id == imp.id, ImportRow.status == RowStatus.CREATE)
                .order_by(ImportRow.number)
            )
        )
    bar = click.progressbar(todo, label="Importing", file=sys.stderr)
    with _sources(path, manifest) as (source, _opened), bar:
        for row_id in bar:
            with session_scope() as s:
                imp = s.get(Import, import_id)
                row = s.get(ImportRow, row_id)
                if imp is None or row is None or imp.state is not ImportState.IMPORTING:
                    raise click.ClickException("The import was changed meanwhile; stopped.")
                services.run_row(s, store, imp.case, imp.created_by, imp, row, source)
    with session_scope() as s:
        imp = s.get(Import, import_id)
        if imp is None:
            raise click.ClickException("The import is gone.")
        counts = services.finish(s, imp)
    click.echo("Done: " + ", ".join(f"{n} {status}" for status, n in sorted(counts.items()) if n))


@import_cli.command("evidence")
@click.argument("case_ref")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--manifest",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CSV or XLSX (default: manifest.csv or manifest.xlsx inside PATH; without one, every file, titled by name).",
)
@USER
@DATE_ORDER
@YES
@PREVIEW_ONLY
def import_evidence(case_ref: str, path: Path, manifest: Path | None, **options: Any) -> None:
    """Import the files of PATH (a ZIP archive or a folder) into the case CASE_REF."""
    _run(ImportKind.EVIDENCE, case_ref, path, manifest, **options)


@import_cli.command("incidents")
@click.argument("case_ref")
@click.argument("manifest", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@USER
@DATE_ORDER
@YES
@PREVIEW_ONLY
def import_incidents(case_ref: str, manifest: Path, **options: Any) -> None:
    """Import incidents from a CSV or XLSX spreadsheet into the case CASE_REF."""
    _run(ImportKind.INCIDENTS, case_ref, None, manifest, **options)


@import_cli.command("actors")
@click.argument("case_ref")
@click.argument("manifest", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@USER
@DATE_ORDER
@YES
@PREVIEW_ONLY
def import_actors(case_ref: str, manifest: Path, **options: Any) -> None:
    """Import actors (with aliases in any script) from a CSV or XLSX spreadsheet into the case CASE_REF."""
    _run(ImportKind.ACTORS, case_ref, None, manifest, **options)
