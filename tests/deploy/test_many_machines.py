"""Casefile in its production layout, on this machine: two web servers and two job workers started with the very
`ExecStart` lines of config/production/*.service, with the environment of config/production/casefile.env.example
and the keys of `python -m casefile.keygen`, over one PostgreSQL (the application as a role of its own, migrations
as the owner), one real Redis server and moto's S3 server. Each machine has an instance folder of its own; they
share no file.

A client alternates between the two web servers, as a load balancer without sticky sessions would:
- a login begun on one is finished (second factor) on the other, and a log-out on the first ends it on both;
- ten wrong passwords spread over both servers start the throttle at the sixth, as on one server;
- 16 uploads at once over both, and a 50 MiB tus upload whose chunks alternate servers (exact SHA-256);
- a dossier requested on one is polled and downloaded on the other; a verification job likewise;
- while a second dossier builds, one web server and the worker building it are killed with SIGKILL (the whole
  process group, as a machine dies): the surviving worker takes the job over and the dossier becomes ready once,
  and the requests to the dead server's address are the only ones that fail.
Afterwards `custody verify` (the operator's CLI) is intact, the ledger has no fork, every 201 has its item, each
scheduled task ran at most once per period, and no temporary object is left in the bucket.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import secrets
import shlex
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import IO, Any

import pytest
import requests
from sqlalchemy import create_engine, pool, text
from sqlalchemy.engine import make_url

from casefile import load_job_handlers
from casefile.config import load_settings
from casefile.custody.jobs import CHECKPOINT
from casefile.jobs import registry

from support import REPO, csrf_token, free_port, read_environment_file, totp_codes, wait_for

PRODUCTION = REPO / "config" / "production"
MIB = 1024 * 1024
# What the test changes from a real deployment, and why. Everything else comes from the shipped files.
TEST_TUNING = {
    # A killed worker's job is noticed after 2 s rather than 2 minutes.
    "CASEFILE_JOB_HEARTBEAT_SECONDS": "0.2",
    "CASEFILE_JOB_STALE_SECONDS": "2",
    # A checkpoint each minute (not 15), so the run spans several periods of a scheduled task.
    "CASEFILE_CHECKPOINT_MINUTES": "1",
    # The restarted worker sweeps what the killed one left half-written, seconds (not an hour) later.
    "CASEFILE_TEMP_MAX_AGE_SECONDS": "5",
}


@dataclass
class Unit:
    """The [Service] section of a systemd unit, with the deployment's paths replaced by the test's."""

    exec_start: list[list[str]] = field(default_factory=list)
    environment: dict[str, str] = field(default_factory=dict)
    environment_files: list[Path] = field(default_factory=list)
    working_directory: Path = REPO


def read_unit(name: str, places: dict[str, str]) -> Unit:
    unit, section = Unit(), ""
    for raw in (PRODUCTION / name).read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line
            continue
        if section != "[Service]":
            continue
        key, _sep, value = line.partition("=")
        for deployed, here in places.items():
            value = value.replace(deployed, here)
        if key == "ExecStart":
            unit.exec_start.append(shlex.split(value))
        elif key == "Environment":
            name_, _sep, setting = value.partition("=")
            unit.environment[name_] = setting
        elif key == "EnvironmentFile":
            unit.environment_files.append(Path(value))
        elif key == "WorkingDirectory":
            unit.working_directory = Path(value)
    return unit


@dataclass
class Machine:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    log: IO[bytes]

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL to the whole process group (gunicorn's arbiter and its workers; the worker and its helpers)."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=45)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


class Layout:
    """The machines of one installation, started from the shipped unit files."""

    def __init__(self, root: Path, values: dict[str, str]) -> None:
        self.root = root
        self.etc, self.var = root / "etc", root / "var"
        self.etc.mkdir(mode=0o700)
        self.var.mkdir(mode=0o700)
        self.places = {"/opt/casefile": str(REPO), "/etc/casefile": str(self.etc), "/var/lib/casefile": str(self.var)}
        self.places["casefile_app"] = make_url(values["CASEFILE_DATABASE_URL"]).username or ""
        example = read_environment_file(PRODUCTION / "casefile.env.example")
        assert set(example) == set(values), f"the example names {sorted(set(example) ^ set(values))} differently"
        (self.etc / "casefile.env").write_text("".join(f"{k}={v}\n" for k, v in values.items()))
        keygen = subprocess.run(
            [str(REPO / ".venv/bin/python"), "-m", "casefile.keygen", str(self.etc)],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=False,
        )
        assert keygen.returncode == 0, keygen.stderr
        self.machines: list[Machine] = []

    def environment(self, unit: Unit) -> dict[str, str]:
        env = {
            "PATH": os.environ["PATH"],
            "HOME": str(self.root),
            "LANG": "C.UTF-8",
            # The moto fixture's isolation from any real AWS profile on this machine.
            **{k: v for k, v in os.environ.items() if k in ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE")},
            "AWS_EC2_METADATA_DISABLED": "true",
        }
        for path in unit.environment_files:
            env.update(read_environment_file(path))
        env.update(unit.environment)
        env.update(TEST_TUNING)
        return env

    def unit(self, name: str, instance: str = "") -> Unit:
        return read_unit(name, {**self.places, "%i": instance})

    def run_once(self, name: str) -> None:
        unit = self.unit(name)
        env = self.environment(unit)
        Path(env["CASEFILE_INSTANCE_PATH"]).mkdir(mode=0o700, exist_ok=True)
        for command in unit.exec_start:
            done = subprocess.run(command, cwd=unit.working_directory, env=env, capture_output=True, text=True)
            assert done.returncode == 0, f"{command}: {done.stdout}{done.stderr}"

    def operator(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """A CLI command on the machine that runs migrations (the operator's)."""
        unit = self.unit("casefile-migrate.service")
        flask = unit.exec_start[0][:3]  # .../flask --app app
        return subprocess.run(
            [*flask, *args],
            cwd=unit.working_directory,
            env=self.environment(unit),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=300,
        )

    def start(self, name: str, instance: str) -> Machine:
        unit = self.unit(name, instance)
        env = self.environment(unit)
        Path(env["CASEFILE_INSTANCE_PATH"]).mkdir(mode=0o700, exist_ok=True)  # a restarted machine keeps its cache
        (command,) = unit.exec_start
        log_path = self.root / f"{name.split('@')[0]}-{instance}.log"
        log = log_path.open("wb")
        process = subprocess.Popen(
            command, cwd=unit.working_directory, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        machine = Machine(f"{name}:{instance}", process, log_path, log)
        self.machines.append(machine)
        return machine

    def web(self, port: int) -> Machine:
        machine = self.start("casefile-web@.service", str(port))

        def ready() -> bool:
            assert machine.process.poll() is None, machine.output()
            try:
                return requests.get(f"http://127.0.0.1:{port}/readyz", timeout=10).status_code == 200
            except requests.RequestException:  # refused, or too slow while its workers start: not ready yet
                return False

        wait_for(ready, 90, f"web server on {port}", interval=0.2)
        return machine

    def worker(self, number: int) -> Machine:
        machine = self.start("casefile-worker@.service", str(number))

        def consuming() -> bool:
            assert machine.process.poll() is None, machine.output()
            return "Huey consumer started" in machine.output()

        wait_for(consuming, 90, f"worker {number}", interval=0.2)
        return machine

    def close(self) -> None:
        for machine in self.machines:
            machine.stop()


@dataclass
class Api:
    """One token, any server."""

    token: str

    def __call__(self, method: str, base: str, path: str, **kw: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token}", **kw.pop("headers", {})}
        timeout = kw.pop("timeout", 120)
        return requests.request(method, f"{base}/api/v1{path}", headers=headers, timeout=timeout, **kw)

    def json(self, method: str, base: str, path: str, status: int = 200, **kw: Any) -> Any:
        response = self(method, base, path, **kw)
        assert response.status_code == status, (
            f"{method} {path} on {base}: {response.status_code} {response.text[:400]}"
        )
        return response.json()


@pytest.fixture
def layout(
    tmp_path: Path, empty_pg_database: str, moto_endpoint: str, s3_client: Any, redis_url: str
) -> Iterator[tuple[Layout, str]]:
    role, password = f"cf_app_{secrets.token_hex(4)}", secrets.token_hex(12)
    admin = create_engine(empty_pg_database, poolclass=pool.NullPool)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'"))
    bucket = f"casefile-deploy-{uuid.uuid4().hex[:8]}"
    s3_client.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)  # versioned, as Object Lock requires
    runtime_url = make_url(empty_pg_database).set(
        username=role, password=password, host="127.0.0.1", port=5432, query={}
    )
    values = {
        "CASEFILE_DATABASE_URL": runtime_url.render_as_string(hide_password=False),
        "CASEFILE_MIGRATION_DATABASE_URL": empty_pg_database,
        "CASEFILE_STORAGE": f"s3://{bucket}/prod",
        "CASEFILE_S3_ENDPOINT_URL": moto_endpoint,
        "CASEFILE_S3_OBJECT_LOCK_MODE": "GOVERNANCE",
        "CASEFILE_S3_OBJECT_LOCK_DAYS": "1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        # A Redis database of its own: the job tests share this server.
        "CASEFILE_QUEUE_URL": redis_url.rsplit("/", 1)[0] + "/7",
        # Plain HTTP on loopback, no proxy in front (the example's values are for HTTPS behind a load balancer).
        "CASEFILE_HTTPS": "0",
        "CASEFILE_PROXY_HOPS": "0",
        "CASEFILE_WEB_FORWARDED_ALLOW_IPS": "127.0.0.1",
        "CASEFILE_BASE_URL": "http://127.0.0.1",
        "CASEFILE_WEB_WORKERS": "2",
        "CASEFILE_WEB_THREADS": "16",
        "CASEFILE_ORGANISATION": "Libya Documentation Network",
        "CASEFILE_ORGANISATION_ADDRESS": "",
        "CASEFILE_ORGANISATION_CONTACT": "",
    }
    machines = Layout(tmp_path, values)
    try:
        yield machines, bucket
    finally:
        machines.close()
        with admin.begin() as conn:
            conn.execute(text(f"DROP OWNED BY {role}"))
            conn.execute(text(f"DROP ROLE {role}"))
        admin.dispose()


def form_post(
    http: requests.Session, base: str, page: str, data: dict[str, str], target: str = ""
) -> requests.Response:
    """GET a page of one server for its CSRF token, POST the form to it (or `target`)."""
    token = csrf_token(http.get(base + page, timeout=30).text)
    return http.post(base + (target or page), data={"csrf_token": token, **data}, allow_redirects=False, timeout=30)


def web_sessions_across_servers(layout: Layout, a: str, b: str) -> None:
    email = "field.lead@example.org"
    created = layout.operator(
        "users", "create", email, "--role", "investigator", "--password-stdin", stdin="pw-1a2b3c4d5e6f\n"
    )
    assert created.returncode == 0, created.stderr
    http = requests.Session()
    assert form_post(http, a, "/login", {"email": email, "password": "pw-1a2b3c4d5e6f"}).status_code == 302
    # The second factor is set up with the secret one server put in the session and a code sent to the other.
    secret = re.search(r'class="mono">([A-Z2-7]{16,})<', http.get(b + "/account/second-factor", timeout=30).text)
    assert secret, "no key on the enrolment page"
    enrolled = form_post(http, a, "/account/second-factor", {"code": totp_codes(secret.group(1))[0]})
    assert enrolled.status_code == 200 and "recovery" in enrolled.text.lower(), enrolled.text[:300]
    assert form_post(http, b, "/", {}, target="/logout").status_code == 302

    # Log in on A, answer the second factor on B: logged in on both.
    started = form_post(http, a, "/login", {"email": email, "password": "pw-1a2b3c4d5e6f"})
    assert started.status_code == 302 and "/login/second-factor" in started.headers["Location"]
    for code in totp_codes(secret.group(1)):
        answered = form_post(http, b, "/login/second-factor", {"code": code})
        if answered.status_code == 302 and "/login" not in answered.headers["Location"]:
            break
    else:
        raise AssertionError("the second factor was refused on the other server")
    for base in (a, b):
        assert http.get(base + "/", allow_redirects=False, timeout=30).status_code == 200
    copied = requests.Session()
    copied.cookies.update(http.cookies)  # a copy of the cookie, as a thief would keep it
    # Log out on A: the session is gone on both, even for the copy of the cookie.
    assert form_post(http, a, "/", {}, target="/logout").status_code == 302
    for client in (http, copied):
        for base in (a, b):
            response = client.get(base + "/", allow_redirects=False, timeout=30)
            assert response.status_code == 302 and "/login" in response.headers["Location"]


def throttle_across_servers(layout: Layout, a: str, b: str) -> None:
    email = "guessed@example.org"
    assert layout.operator("users", "create", email, "--role", "reviewer").returncode == 0
    http = requests.Session()
    statuses = [
        form_post(http, (a, b)[n % 2], "/login", {"email": email, "password": f"wrong-{n}"}).status_code
        for n in range(10)
    ]
    # The account's limit is five failures a minute: counted over both servers, the sixth attempt is refused
    # (counted per server, each would have seen five and refused none).
    assert statuses == [200] * 5 + [429] * 5, statuses


def upload_many(api: Api, servers: list[str], case_id: str, incident_id: str, count: int) -> dict[str, str]:
    """`count` uploads at once, alternating servers; the id and SHA-256 of each 201."""

    def one(n: int) -> tuple[str, str]:
        content = os.urandom(256 * 1024 + n) + f"exhibit {n}\n".encode()
        response = api(
            "POST",
            servers[n % 2],
            f"/cases/{case_id}/evidence",
            data={"title": f"Photo {n}", "classification": "public", "incident_ids": incident_id},
            files={"file": (f"photo-{n}.jpg", content)},
        )
        assert response.status_code == 201, response.text[:300]
        item = response.json()
        assert item["sha256"] == hashlib.sha256(content).hexdigest()
        return item["id"], item["sha256"]

    with ThreadPoolExecutor(max_workers=count) as pool_:
        return dict(pool_.map(one, range(count)))


def tus_upload_alternating(api: Api, servers: list[str], case_id: str, incident_id: str, path: Path) -> dict[str, Any]:
    def meta(**values: str) -> str:
        return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())

    tus = {"Tus-Resumable": "1.0.0"}
    size = path.stat().st_size
    created = api(
        "POST",
        servers[0],
        f"/cases/{case_id}/uploads",
        headers={
            **tus,
            "Upload-Length": str(size),
            "Upload-Metadata": meta(
                filename="exhumation.mp4", title="Exhumation, site 3", classification="public", incident_ids=incident_id
            ),
        },
    )
    assert created.status_code == 201, created.text[:300]
    upload_path = "/" + created.headers["Location"].split("/api/v1/", 1)[1]
    offset, n = 0, 0
    with path.open("rb") as source:
        while chunk := source.read(5 * MIB):
            n += 1
            patched = api(
                "PATCH",
                servers[n % 2],
                upload_path,
                data=chunk,
                headers={**tus, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"},
            )
            assert patched.status_code == 204, patched.text[:300]
            offset = int(patched.headers["Upload-Offset"])
    assert offset == size and n >= 10

    def recorded() -> dict[str, Any] | None:
        state = api.json("GET", servers[n % 2], upload_path)
        assert state["state"] in ("received", "done"), state
        return state if state["state"] == "done" else None

    return dict(wait_for(recorded, 120, "the tus upload to be recorded", interval=0.3))


def follow_job(api: Api, base: str, job_id: str, timeout: float = 180) -> dict[str, Any]:
    def finished() -> dict[str, Any] | None:
        job = api.json("GET", base, f"/jobs/{job_id}")
        return job if job["state"] in ("succeeded", "failed", "cancelled") else None

    return dict(wait_for(finished, timeout, f"job {job_id}", interval=0.2))


@dataclass
class Prober:
    """Asks both servers, alternately, every 50 ms, and keeps what each answered."""

    api: Api
    servers: list[str]
    path: str
    answers: list[tuple[float, str, bool]] = field(default_factory=list)
    running: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        n = 0
        while self.running.is_set():
            base = self.servers[n % 2]
            try:
                ok = self.api("GET", base, self.path, timeout=30).status_code == 200
            except requests.RequestException:
                ok = False
            self.answers.append((time.monotonic(), base, ok))
            n += 1
            time.sleep(0.05)


def test_two_web_servers_and_two_workers_over_postgresql_redis_and_s3(
    layout: tuple[Layout, str], s3_client: Any, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    machines, bucket = layout
    machines.run_once("casefile-migrate.service")
    owner = create_engine(read_environment_file(machines.etc / "casefile.env")["CASEFILE_MIGRATION_DATABASE_URL"])
    request.addfinalizer(owner.dispose)
    ports = [free_port(), free_port()]
    webs = [machines.web(port) for port in ports]
    workers = [machines.worker(1), machines.worker(2)]
    a, b = (f"http://127.0.0.1:{port}" for port in ports)
    servers = [a, b]

    web_sessions_across_servers(machines, a, b)
    throttle_across_servers(machines, a, b)

    # The team: an investigator uploads, two lawyers build and approve; each with an API token.
    tokens = {}
    for email, role in (
        ("inv@example.org", "investigator"),
        ("lawyer@example.org", "legal"),
        ("second@example.org", "legal"),
    ):
        assert machines.operator("users", "create", email, "--role", role).returncode == 0
        issued = machines.operator("users", "token", email)
        assert issued.returncode == 0, issued.stderr
        tokens[email] = Api(issued.stdout.strip().splitlines()[-1])
    inv, lawyer, second = tokens["inv@example.org"], tokens["lawyer@example.org"], tokens["second@example.org"]
    case = inv.json("POST", a, "/cases", 201, json={"reference": "TRH-2020", "title": "Tarhouna mass graves"})
    for email in ("lawyer@example.org", "second@example.org"):
        inv.json("POST", b, f"/cases/{case['id']}/members", 201, json={"email": email, "role": "legal"})
    incident = inv.json("POST", b, f"/cases/{case['id']}/incidents", 201, json={"title": "Graves at site 3"})

    items = upload_many(inv, servers, case["id"], incident["id"], 16)
    video = tmp_path / "exhumation.mp4"
    digest = hashlib.sha256()
    with video.open("wb") as out:
        for _ in range(50):
            block = os.urandom(MIB)
            out.write(block)
            digest.update(block)
    done = tus_upload_alternating(inv, servers, case["id"], incident["id"], video)
    assert done["sha256"] == digest.hexdigest()
    assert inv.json("GET", a, f"/evidence/{done['evidence_id']}")["sha256"] == digest.hexdigest()
    items[done["evidence_id"]] = digest.hexdigest()

    # A dossier requested on A, followed and downloaded on B; approved by a second lawyer on A.
    accepted = lawyer.json(
        "POST", a, f"/cases/{case['id']}/dossiers", 202, json={"profile": "generic", "title": "Referral"}
    )
    assert follow_job(lawyer, b, accepted["job_id"])["state"] == "succeeded"
    dossier = lawyer.json("GET", b, f"/dossiers/{accepted['id']}")
    assert dossier["status"] == "ready" and {i["sha256"] for i in dossier["included"]} == set(items.values()), dossier
    second.json("POST", a, f"/dossiers/{accepted['id']}/approve")
    package = hashlib.sha256()
    with lawyer("GET", b, f"/dossiers/{accepted['id']}/download", stream=True) as response:
        assert response.status_code == 200
        for block in response.iter_content(MIB):
            package.update(block)
    assert package.hexdigest() == dossier["sha256"]
    # A verification job started on B, followed on A.
    verification = inv.json("POST", b, "/custody/verifications", 202, json={"case_id": case["id"]})
    verified = follow_job(inv, a, verification["id"])
    assert verified["state"] == "succeeded" and verified["result"]["ok"], verified

    # Machines die mid-run: web server A, and the worker building the second dossier.
    prober = Prober(inv, servers, f"/cases/{case['id']}")
    prober.running.set()
    probing = threading.Thread(target=prober.run)
    probing.start()
    time.sleep(1)  # both servers answer before anything is killed
    requested = dict(items)
    try:
        accepted = lawyer.json(
            "POST", b, f"/cases/{case['id']}/dossiers", 202, json={"profile": "generic", "title": "Sanctions"}
        )

        def building_worker() -> int | None:
            with owner.connect() as conn:
                worker = conn.scalar(
                    text("SELECT worker FROM jobs WHERE id = :id AND state = 'running'"), {"id": accepted["job_id"]}
                )
            return int(worker.split(":")[1]) if worker else None  # host:pid:thread, as `jobs list` shows it

        pid = wait_for(building_worker, 60, "the second dossier's build to start", interval=0.02)
        (building,) = [w for w in workers if w.process.pid == pid]
        building.kill()
        webs[0].kill()
        killed_at = time.monotonic()
        later = upload_many(inv, [b, b], case["id"], incident["id"], 4)  # the survivor takes everything
        items.update(later)
        finished = follow_job(lawyer, b, accepted["job_id"], timeout=150)  # the survivor's tick reclaims it
        time.sleep(1)
    finally:
        prober.running.clear()
        probing.join()
    assert finished["state"] == "succeeded" and finished["attempts"] == 2, finished
    rebuilt = lawyer.json("GET", b, f"/dossiers/{accepted['id']}")
    assert rebuilt["status"] == "ready", rebuilt
    before = [ok for at, _base, ok in prober.answers if at < killed_at - 0.2]
    after = [(base, ok) for at, base, ok in prober.answers if at > killed_at + 0.2]
    assert before and all(before), "a server failed before anything was killed"
    assert after and all(ok == (base == b) for base, ok in after), "only the dead server's requests may fail"

    # As systemd would (Restart=always), the killed machines come back; at start a worker sweeps what was left
    # half-written.
    workers.remove(building)
    workers.append(machines.worker(3))
    webs[0] = machines.web(ports[0])

    # Afterwards, on the surviving server and from the operator's CLI.
    for item_id, sha256 in items.items():
        assert inv.json("GET", b, f"/evidence/{item_id}")["sha256"] == sha256
    verify = machines.operator("custody", "verify", "--no-fixity")
    assert verify.returncode == 0 and "INTACT" in verify.stdout, verify.stdout + verify.stderr
    with owner.connect() as conn:
        entries, links, first, last = conn.execute(
            text("SELECT count(*), count(DISTINCT prev_hash), min(seq), max(seq) FROM custody_entries")
        ).one()
        assert entries == links == last - first + 1, "the ledger forked or has a gap"
        exported = conn.execute(
            text(
                "SELECT evidence_id, count(*) FROM custody_entries WHERE action = 'exported' "
                "AND details->>'dossier' = :dossier GROUP BY evidence_id"
            ),
            {"dossier": accepted["id"]},
        ).all()
        assert all(n == 1 for _item, n in exported), f"an entry repeated by the retried build: {exported}"
        assert {str(item) for item, _n in exported if item} >= set(requested), "an item missing from the dossier"
        jobs = conn.execute(text("SELECT kind, created_at, params FROM jobs ORDER BY created_at")).all()
    settings = load_settings({**machines.environment(machines.unit("casefile-worker@.service", "check"))})
    load_job_handlers()
    periods = {schedule.kind: schedule.every(settings) for schedule in registry.schedules()}
    runs: dict[str, list[Any]] = {}
    for kind, at, params in jobs:
        if (params or {}).get("scheduled"):
            runs.setdefault(kind, []).append(at)
    assert CHECKPOINT in runs, f"no checkpoint was scheduled: {sorted(runs)}"
    for kind, times in runs.items():
        every = periods[kind]
        assert every is not None
        gaps = [after_ - before_ for before_, after_ in pairwise(times)]
        assert all(gap >= every for gap in gaps), f"{kind} ran twice in a period of {every}: {times}"

    # No temporary object: every object version in the bucket is a blob, and no multipart upload is pending.
    versions = s3_client.list_object_versions(Bucket=bucket)
    keys = [v["Key"] for v in versions.get("Versions", []) + versions.get("DeleteMarkers", [])]
    assert keys and all(key.startswith("prod/sha256/") for key in keys), sorted(
        set(keys) - {k for k in keys if k.startswith("prod/sha256/")}
    )
    assert not s3_client.list_multipart_uploads(Bucket=bucket).get("Uploads")

    # Last, as it shuts this address out for a minute: bad API tokens counted over both servers. The limit is 20 a
    # minute from one address; per server, each would have seen 10 and refused none.
    forged = Api("cf_" + secrets.token_urlsafe(32))
    statuses = [forged("GET", servers[n % 2], "/cases").status_code for n in range(22)]
    assert statuses == [401] * 20 + [429] * 2, statuses
    assert inv("GET", a, "/cases").status_code == 429  # every token from the address, for the rest of the minute
