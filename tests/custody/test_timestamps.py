"""RFC 3161 trusted timestamps on signed checkpoints, from a TSA that is OpenSSL's own implementation
(tests/local_servers.py), checked by Casefile (rfc3161-client) and by `openssl ts -verify`."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from casefile.config import Settings
from casefile.custody.models import Checkpoint, TimestampToken
from casefile.custody.signing import sign_tree_head
from casefile.custody.timestamps import checkpoint_message
from casefile.custody.tsa import TimestampError, load_roots, request_token, verify_reply
from casefile.db import session_scope
from casefile.jobs.runner import run_schedules

from local_servers import LocalTSA
from support import Account, Api, login, run_queued_jobs, upload


@pytest.fixture(scope="module")
def other_tsa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalTSA]:
    """A TSA whose root nobody configured."""
    authority = LocalTSA(tmp_path_factory.mktemp("other-tsa"), name="Unknown TSA")
    yield authority
    authority.close()


@pytest.fixture
def settings(settings: Settings, tsa: LocalTSA) -> Settings:
    return settings.with_overrides(tsa_urls=(tsa.url,), tsa_ca_file=tsa.root_file)


def _checkpoint_now(app: Flask, api: Api, case_id: uuid.UUID) -> None:
    upload(api, case_id, b"an exhibit\n", "exhibit.txt")
    result = app.test_cli_runner().invoke(args=["custody", "checkpoint"])
    assert result.exit_code == 0, result.output
    assert "Trusted timestamps: 1 token(s) stored" in result.output


def _tokens(app: Flask) -> list[TimestampToken]:
    with app.app_context(), session_scope() as s:
        tokens = list(s.scalars(select(TimestampToken).order_by(TimestampToken.id)))
        s.expunge_all()
    return tokens


def test_a_checkpoint_is_timestamped_and_openssl_verifies_the_token(
    app: Flask,
    client: FlaskClient,
    make_user: Callable[..., Account],
    api_for: Callable[..., tuple[Api, Account]],
    make_case: Callable[..., uuid.UUID],
    tsa: LocalTSA,
    tmp_path: Path,
) -> None:
    api, owner = api_for("investigator")
    case_id = make_case(owner)
    _checkpoint_now(app, api, case_id)
    [token] = _tokens(app)
    with app.app_context(), session_scope() as s:
        checkpoint = s.get_one(Checkpoint, int(token.subject_id))
        message = checkpoint_message(checkpoint)
    assert token.subject == "checkpoint" and token.message_sha256 == hashlib.sha256(message).hexdigest()
    assert (
        token.tsa_name == "CN=Casefile Test TSA"
        and abs((token.gen_time - datetime.now(token.gen_time.tzinfo)).total_seconds()) < 120
    )
    (tmp_path / "tree-head.json").write_bytes(message)
    (tmp_path / "checkpoint.tsr").write_bytes(token.reply)
    verified = tsa.openssl_verify(tmp_path / "checkpoint.tsr", tmp_path / "tree-head.json")
    assert verified.returncode == 0 and "Verification: OK" in verified.stdout, verified.stderr

    # `custody verify` checks it, and the scheduled checkpoint job stamps the next one.
    result = app.test_cli_runner().invoke(args=["custody", "verify", "--no-fixity"])
    assert result.exit_code == 0 and "1 trusted timestamps" in result.output, result.output
    # The reviewers' page says so too, and which authority is configured.
    login(client, make_user("reviewer"))
    page = client.get("/custody").get_data(as_text=True)
    state = page.split('id="timestamps-state"', 1)[1].split("</dd>", 1)[0]
    assert "1 trusted timestamp" in state and tsa.url in state
    upload(api, case_id, b"another exhibit\n", "another.txt")
    with app.app_context():
        assert run_schedules(app)  # the ledger grew: the checkpoint schedule is due
    run_queued_jobs(app)
    assert len(_tokens(app)) == 2


def test_tokens_over_another_hash_or_from_an_untrusted_tsa_are_refused(tsa: LocalTSA, other_tsa: LocalTSA) -> None:
    roots = load_roots(tsa.root_file)
    reply, info = request_token(tsa.url, b"tree head", roots)
    assert info.message_sha256 == hashlib.sha256(b"tree head").hexdigest()
    with pytest.raises(TimestampError, match="Mismatch between messages"):
        verify_reply(reply, hashlib.sha256(b"another tree head").hexdigest(), roots)
    with pytest.raises(TimestampError):
        request_token(other_tsa.url, b"tree head", roots)  # its certificate chains to a root nobody configured
    untrusted, _info = request_token(other_tsa.url, b"tree head", load_roots(other_tsa.root_file))
    with pytest.raises(TimestampError):
        verify_reply(untrusted, info.message_sha256, roots)
    with pytest.raises(TimestampError, match="not a timestamp reply"):
        verify_reply(b"\x30\x03garbage", info.message_sha256, roots)


class TestAnUntrustedAuthority:
    @pytest.fixture
    def settings(self, settings: Settings, other_tsa: LocalTSA, tsa: LocalTSA) -> Settings:
        # The configured roots are another TSA's: this one's tokens cannot be trusted, so none is stored.
        return settings.with_overrides(tsa_urls=(other_tsa.url,), tsa_ca_file=tsa.root_file)

    def test_the_checkpoint_is_signed_but_the_token_refused_and_said_so(
        self, app: Flask, api_for: Callable[..., tuple[Api, Account]], make_case: Callable[..., uuid.UUID]
    ) -> None:
        api, owner = api_for("investigator")
        upload(api, make_case(owner), b"an exhibit\n", "exhibit.txt")
        result = app.test_cli_runner().invoke(args=["custody", "checkpoint"])
        assert result.exit_code != 0 and "Trusted timestamps could not be obtained" in result.output
        assert "Checkpoint over" in result.output and _tokens(app) == []


def test_a_re_signed_checkpoint_no_longer_matches_its_token_and_tokens_are_append_only(
    app: Flask,
    raw_engine: Engine,
    api_for: Callable[..., tuple[Api, Account]],
    make_case: Callable[..., uuid.UUID],
) -> None:
    api, owner = api_for("investigator")
    _checkpoint_now(app, api, make_case(owner))
    [token] = _tokens(app)
    for statement in ("UPDATE timestamp_tokens SET serial = 'ff'", "DELETE FROM timestamp_tokens"):
        with pytest.raises(DBAPIError), raw_engine.begin() as conn:
            conn.execute(text(statement))
    # An insider with the instance key and the owner's rights back-dates the checkpoint and signs it again: the
    # signature verifies, the token the TSA gave for the original does not.
    with app.app_context(), session_scope() as s:
        checkpoint = s.get_one(Checkpoint, int(token.subject_id))
        forged = sign_tree_head(
            app.extensions["casefile_key"].private,
            checkpoint.tree_size,
            checkpoint.root_hash,
            "2020-06-05T00:00:00.000000+00:00",
        )
    with raw_engine.begin() as conn:
        if raw_engine.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            conn.execute(text("DROP TRIGGER custody_checkpoints_no_update"))
        conn.execute(
            text("UPDATE custody_checkpoints SET timestamp = :t, signature = :s WHERE id = :id"),
            {"t": forged.timestamp, "s": forged.signature, "id": int(token.subject_id)},
        )
    result = app.test_cli_runner().invoke(args=["custody", "verify", "--no-fixity"])
    assert result.exit_code == 1, result.output
    assert "PROBLEM timestamp_imprint" in result.output and "no longer says what the TSA timestamped" in result.output


class TestTimestampsOff:
    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return settings.with_overrides(tsa_urls=())

    def test_everything_works_without_a_tsa(
        self,
        app: Flask,
        client: FlaskClient,
        make_user: Callable[..., Account],
        api_for: Callable[..., tuple[Api, Account]],
        make_case: Callable[..., uuid.UUID],
    ) -> None:
        api, owner = api_for("investigator")
        upload(api, make_case(owner), b"an exhibit\n", "exhibit.txt")
        result = app.test_cli_runner().invoke(args=["custody", "checkpoint"])
        assert result.exit_code == 0 and "Trusted timestamps" not in result.output
        assert _tokens(app) == []
        verified = app.test_cli_runner().invoke(args=["custody", "verify", "--no-fixity"])
        assert verified.exit_code == 0 and "INTACT" in verified.output
        login(client, make_user("reviewer"))
        page = client.get("/custody").get_data(as_text=True)
        assert "Trusted timestamps are off" in page.split('id="timestamps-state"', 1)[1].split("</dd>", 1)[0]
