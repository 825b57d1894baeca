"""`flask --app app dossier verify DOSSIER.zip [--key-id HEX]`: check a referral dossier as a recipient would.

Needs nothing but the ZIP: no application context, no database (the instance need not have one).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from casefile.custody.tsa import TimestampError, load_roots
from casefile.dossier.verify import verify_dossier_zip

dossier_cli = AppGroup("dossier", help="Referral dossiers.")


@dossier_cli.command("verify", with_appcontext=False)
@click.argument("path", type=click.Path(exists=True, dir_okay=False, readable=True))
@click.option(
    "--key-id",
    metavar="HEX",
    help="The key id (hex SHA-256 of the DER public key) the dossier must be signed with; "
    "without it any key is accepted, so a forger's own key would pass.",
)
@click.option(
    "--tsa-roots",
    type=click.Path(exists=True, dir_okay=False, readable=True),
    help="A PEM file with the roots of the time-stamping authorities: the tokens' signatures and chains are checked "
    "against them (without it only what each token covers is checked).",
)
def verify_command(path: str, key_id: str | None, tsa_roots: str | None) -> None:
    """Verify a dossier ZIP: the bag, its signature, evidence hashes, custody entries and inclusion proofs.

    One line per check and per problem; exit status 0 only when everything holds.
    """
    try:
        roots = load_roots(Path(tsa_roots)) if tsa_roots else None
    except TimestampError as error:
        raise click.ClickException(str(error)) from None
    report = verify_dossier_zip(path, expected_key_id=key_id, tsa_roots=roots)
    for check in report.checks:
        click.echo(f"ok       {check}")
    for problem in report.problems:
        click.echo(f"PROBLEM  {problem}")
    summary = f"{report.bag_name or path}: {report.item_count} item(s), profile {report.profile or '?'}"
    if report.key_id:
        summary += f", signed by key {report.key_id}"
    if report.ok:
        click.echo(f"VERIFIED: {summary}.")
        if not key_id:
            click.echo("Compare the key id with the one the sender gave you, or pass it with --key-id.")
        return
    click.echo(f"NOT VERIFIED: {len(report.problems)} problem(s); {summary}.")
    sys.exit(1)
