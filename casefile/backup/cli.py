"""`flask --app app backup create|verify|restore|export-keys`.

Exit status: 0 done / sound, 1 problems found (one line each), 2 could not run (a refusal, bad arguments)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import click
from flask.cli import AppGroup

from casefile.backup import BackupError
from casefile.backup.keys import read_passphrase
from casefile.backup.operations import create_backup, export_keys, restore_backup, verify_backup
from casefile.components import blob_store, settings
from casefile.db import get_database

backup_cli = AppGroup("backup", help="Back up the whole instance, verify a backup, restore one.")

DEST = click.Path(file_okay=False, path_type=Path)
PASSPHRASE_FILE = click.option(
    "--passphrase-file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="First line: the passphrase of the keys (or set CASEFILE_BACKUP_PASSPHRASE).",
)


def _say(line: str) -> None:
    click.echo(line)


def _cannot(error: Exception) -> NoReturn:
    click.echo(f"ERROR: {error}", err=True)
    sys.exit(2)


@backup_cli.command("create")
@click.argument("dest", type=DEST)
@PASSPHRASE_FILE
@click.option("--with-blobs", is_flag=True, help="S3: copy the objects into the backup too (local: always).")
def create_command(dest: Path, passphrase_file: Path | None, with_blobs: bool) -> None:
    """Back up the running instance into the new directory DEST (a BagIt bag)."""
    try:
        passphrase = read_passphrase(passphrase_file, for_encryption=True)
        result = create_backup(settings(), blob_store(), dest, passphrase=passphrase, with_blobs=with_blobs, say=_say)
    except BackupError as error:
        _cannot(error)
    for warning in result.warnings:
        click.echo(warning, err=True)
    click.echo(f"Backup written to {dest}. Check it with `flask --app app backup verify {dest}`.")


@backup_cli.command("verify")
@click.argument("dest", type=DEST)
@PASSPHRASE_FILE
def verify_command(dest: Path, passphrase_file: Path | None) -> None:
    """Check every file of the backup, its database and (with a passphrase) its keys."""
    try:
        problems = verify_backup(dest, passphrase=read_passphrase(passphrase_file, for_encryption=False))
    except BackupError as error:
        _cannot(error)
    for problem in problems:
        click.echo(f"PROBLEM {problem}")
    if problems:
        click.echo(f"NOT SOUND: {len(problems)} problem(s) in {dest}.")
        sys.exit(1)
    click.echo(f"SOUND: {dest} is a complete, consistent backup.")


@backup_cli.command("restore")
@click.argument("dest", type=DEST)
@PASSPHRASE_FILE
@click.option(
    "--keys-file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Keys exported with `backup export-keys`, for a backup made without them.",
)
def restore_command(dest: Path, passphrase_file: Path | None, keys_file: Path | None) -> None:
    """Restore the backup DEST into this instance, which must be empty and not running."""

    database = get_database()
    database.dispose()  # no pooled connection may outlive the database file it was opened on
    try:
        problems = restore_backup(
            settings(),
            blob_store(),
            dest,
            passphrase=read_passphrase(passphrase_file, for_encryption=False),
            keys_file=keys_file,
            say=_say,
        )
    except BackupError as error:
        _cannot(error)
    finally:
        database.dispose()
    for problem in problems:
        click.echo(f"PROBLEM {problem}")
    if problems:
        click.echo(f"NOT RESTORED: {len(problems)} problem(s); the database was not touched.")
        sys.exit(1)
    click.echo(
        "RESTORED. Start the app again (it reads the keys at start), then run "
        "`flask --app app custody verify` and `flask --app app fsck`."
    )


@backup_cli.command("export-keys")
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
@PASSPHRASE_FILE
def export_keys_command(target: Path, passphrase_file: Path | None) -> None:
    """Write the instance's keys, encrypted under the passphrase, to the new file TARGET."""
    try:
        passphrase = read_passphrase(passphrase_file, for_encryption=True)
        if passphrase is None:
            raise BackupError("a passphrase is required (--passphrase-file or CASEFILE_BACKUP_PASSPHRASE)")
        export_keys(settings(), target, passphrase)
    except BackupError as error:
        _cannot(error)
    click.echo(f"Keys written to {target}, encrypted. Keep it off-site, apart from the backups and the passphrase.")
