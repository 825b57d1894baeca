"""The command line of DESIGN §8: `flask --app app db|users|demo …`."""

from __future__ import annotations

import sys

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from casefile import migrate
from casefile.auth import services as auth_services
from casefile.auth.models import User
from casefile.auth.passwords import generate_password
from casefile.backup.cli import backup_cli
from casefile.capture.cli import capture_command
from casefile.components import field_cipher, settings
from casefile.custody.cli import custody_cli, fsck_command
from casefile.db import session_scope
from casefile.demo import load_demo
from casefile.dossier.cli import dossier_cli
from casefile.errors import CasefileError
from casefile.intake.cli import import_cli
from casefile.jobs.cli import jobs_cli
from casefile.witnesses.crypto import FieldKeyError
from casefile.witnesses.services import rotate_field_keys

db_cli = AppGroup("db", help="Database schema.")
users_cli = AppGroup("users", help="User accounts and API tokens.")
demo_cli = AppGroup("demo", help="The Tarhouna demonstration case.")


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply migrations (to the latest revision by default)."""
    migrate.upgrade(owner_url(), revision)
    click.echo(f"Database at {revision}.")


@db_cli.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Undo migrations down to REVISION."""
    migrate.downgrade(owner_url(), revision)
    click.echo(f"Database at {revision}.")


@db_cli.command("grant-runtime")
@click.argument("role")
def db_grant_runtime(role: str) -> None:
    """Give ROLE, the role the application connects as (CASEFILE_DATABASE_URL), only the rights it needs; run as the
    owner (CASEFILE_MIGRATION_DATABASE_URL) after every `db upgrade`. PostgreSQL only."""
    try:
        granted = migrate.grant_runtime(owner_url(), role)
    except migrate.RoleError as error:
        click.echo(str(error), err=True)
        sys.exit(2)
    for table, rights in granted.items():
        click.echo(f"{table}: {rights}")
    click.echo(f"{role} may use {len(granted)} tables; it owns none: it cannot alter, disable or bypass triggers.")


def owner_url() -> str:
    return settings().migration_database_url or settings().database_url


@users_cli.command("create")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice(["admin", "investigator", "legal", "reviewer"]))
@click.option("--name", default="")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def users_create(email: str, role: str, name: str, password_stdin: bool) -> None:
    """Create a user. Without --password-stdin a password is generated and printed once."""
    password = sys.stdin.readline().rstrip("\r\n") if password_stdin else generate_password()
    try:
        with session_scope() as s:
            user = auth_services.create_user(s, email, role, password, name, one_time=not password_stdin)
            email = user.email
    except CasefileError as error:
        raise click.ClickException(error.message) from None
    click.echo(f"Created {role} {email}.")
    if not password_stdin:
        click.echo(f"Password (shown once): {password}")
        click.echo("It works for one login: the user then chooses their own.")


@users_cli.command("first-admin")
@click.option("--email", default="admin@casefile.local", show_default=True)
def users_first_admin(email: str) -> None:
    """Create the first administrator if there are no users yet, and say how to log in."""
    url = "http://127.0.0.1:5000/"
    with session_scope() as s:
        if s.scalar(select(func.count()).select_from(User)):
            click.echo(f"Users exist already. Open {url} and log in.")
            return
        password = generate_password()
        auth_services.create_user(s, email, "admin", password, "Administrator", one_time=True)
    click.echo(f"Created the first administrator. Open {url} and log in as {email}")
    click.echo(f"with the password (shown once, change it): {password}")


@users_cli.command("token")
@click.argument("email")
@click.option("--name", default="cli", help="A label to recognise the token by.")
def users_token(email: str, name: str) -> None:
    """Print a new API token for EMAIL, once. Only its hash is stored."""
    try:
        with session_scope() as s:
            user = auth_services.get_user_by_email(s, email)
            token = auth_services.create_api_token(s, user, name)
    except CasefileError as error:
        raise click.ClickException(error.message) from None
    click.echo(token)


@demo_cli.command("load")
def demo_load() -> None:
    """Load the Tarhouna demonstration case (safe to run again)."""
    with session_scope() as s:
        created = load_demo(s, current_app)
    click.echo("Loaded the Tarhouna demo case (TRH)." if created else "The Tarhouna demo case is already loaded.")


keys_cli = AppGroup("keys", help="Encryption keys of protected fields.")


@keys_cli.command("rotate-fields")
def keys_rotate_fields() -> None:
    """Re-encrypt every protected field under the first key of CASEFILE_FIELD_KEYS (all or nothing)."""
    cipher = field_cipher()
    try:
        with session_scope() as s:
            changed, total = rotate_field_keys(s, cipher)
    except FieldKeyError as error:
        raise click.ClickException(f"{error} Nothing was changed.") from None
    click.echo(
        f"Re-encrypted {total} protected identities under key {cipher.current} ({changed} were under an older key)."
    )


def register_cli(app: Flask) -> None:
    for group in (
        db_cli,
        users_cli,
        demo_cli,
        keys_cli,
        custody_cli,
        fsck_command,
        dossier_cli,
        jobs_cli,
        backup_cli,
        import_cli,
        capture_command,
    ):
        app.cli.add_command(group)
