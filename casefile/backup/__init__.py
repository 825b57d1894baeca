"""Backups of a whole instance: `flask --app app backup create|verify|restore|export-keys`.

A backup is a BagIt bag (a directory): the database snapshot, the blobs it references (or, on S3, the object
versions that hold them), `backup.json` describing both, and the keys only ever encrypted under a passphrase.
Framework-free apart from cli.py, so the same functions serve the CLI and the tests.
"""

from __future__ import annotations


class BackupError(Exception):
    """The operation could not run (exit status 2): bad arguments, an unusable destination or target."""
