"""Where a resumable upload's SHA-256 is computed when its requests reach different servers (issue #24).

    .venv/bin/python -m bench.tus_hash                 # 64 MiB in 4 MiB parts (default)
    .venv/bin/python -m bench.tus_hash --quick         # 16 MiB (or CASEFILE_BENCH_QUICK=1)

The parts of an upload in progress live in the blob store (casefile/intake/tus.py), so the next PATCH may reach any
web server. The hash then has two possible homes:

- hash once at completion (what Casefile does): the job that records the file reads the parts back in order and
  hashes them as it writes the blob, one streamed pass. Measured here with the real store code, on the local store
  and on moto's S3 server over HTTP: the time to put the parts (what the PATCH requests pay anyway) and the time to
  read them back and hash them (the extra cost of this choice, paid by a job, not by a request);
- carry the hash state from request to request: hashlib (OpenSSL 3) cannot export or import a SHA-256 state (the
  `rehash` package that did this does not support OpenSSL 3), so each request would have to hash with a pure-Python
  SHA-256 whose state is eight integers. Measured here with such an implementation (checked against hashlib) on
  2 MiB, extrapolated to the upload's size.

Baseline, same run: hashlib.sha256 over the same bytes in memory. Target: hashing at completion costs at most a
tenth of what carrying the state would (it is far less in practice), so the choice stands.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make `bench` and `casefile` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import quick_from_env, table, verdict

MIB = 1024 * 1024
PART = 4 * MIB

# --- a SHA-256 whose state can move between machines (FIPS 180-4), for the comparison only ----------------------

_K = [
    0x428A2F98, 0x71374491, 0xB5C0FBCF, 0xE9B5DBA5, 0x3956C25B, 0x59F111F1, 0x923F82A4, 0xAB1C5ED5,
    0xD807AA98, 0x12835B01, 0x243185BE, 0x550C7DC3, 0x72BE5D74, 0x80DEB1FE, 0x9BDC06A7, 0xC19BF174,
    0xE49B69C1, 0xEFBE4786, 0x0FC19DC6, 0x240CA1CC, 0x2DE92C6F, 0x4A7484AA, 0x5CB0A9DC, 0x76F988DA,
    0x983E5152, 0xA831C66D, 0xB00327C8, 0xBF597FC7, 0xC6E00BF3, 0xD5A79147, 0x06CA6351, 0x14292967,
    0x27B70A85, 0x2E1B2138, 0x4D2C6DFC, 0x53380D13, 0x650A7354, 0x766A0ABB, 0x81C2C92E, 0x92722C85,
    0xA2BFE8A1, 0xA81A664B, 0xC24B8B70, 0xC76C51A3, 0xD192E819, 0xD6990624, 0xF40E3585, 0x106AA070,
    0x19A4C116, 0x1E376C08, 0x2748774C, 0x34B0BCB5, 0x391C0CB3, 0x4ED8AA4A, 0x5B9CCA4F, 0x682E6FF3,
    0x748F82EE, 0x78A5636F, 0x84C87814, 0x8CC70208, 0x90BEFFFA, 0xA4506CEB, 0xBEF9A3F7, 0xC67178F2,
]  # fmt: skip
_M = 0xFFFFFFFF


class PortableSha256:
    """SHA-256 whose whole state (eight words, a partial block, a length) could travel with an upload."""

    def __init__(self) -> None:
        self.h = [0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A, 0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19]
        self.pending = b""
        self.length = 0

    def update(self, data: bytes) -> None:
        self.length += len(data)
        data = self.pending + data
        whole = len(data) - len(data) % 64
        for at in range(0, whole, 64):
            self._block(data[at : at + 64])
        self.pending = data[whole:]

    def _block(self, block: bytes) -> None:
        w = list(struct.unpack(">16L", block))
        for i in range(16, 64):
            s0 = ((w[i - 15] >> 7 | w[i - 15] << 25) ^ (w[i - 15] >> 18 | w[i - 15] << 14) ^ (w[i - 15] >> 3)) & _M
            s1 = ((w[i - 2] >> 17 | w[i - 2] << 15) ^ (w[i - 2] >> 19 | w[i - 2] << 13) ^ (w[i - 2] >> 10)) & _M
            w.append((w[i - 16] + s0 + w[i - 7] + s1) & _M)
        a, b, c, d, e, f, g, h = self.h
        for i in range(64):
            s1 = ((e >> 6 | e << 26) ^ (e >> 11 | e << 21) ^ (e >> 25 | e << 7)) & _M
            t1 = (h + s1 + ((e & f) ^ (~e & g)) + _K[i] + w[i]) & _M
            s0 = ((a >> 2 | a << 30) ^ (a >> 13 | a << 19) ^ (a >> 22 | a << 10)) & _M
            t2 = (s0 + ((a & b) ^ (a & c) ^ (b & c))) & _M
            a, b, c, d, e, f, g, h = (t1 + t2) & _M, a, b, c, (d + t1) & _M, e, f, g
        self.h = [(x + y) & _M for x, y in zip(self.h, (a, b, c, d, e, f, g, h), strict=True)]

    def hexdigest(self) -> str:
        tail = self.pending + b"\x80" + b"\x00" * ((55 - len(self.pending)) % 64) + struct.pack(">Q", self.length * 8)
        copy = PortableSha256()
        copy.h = list(self.h)
        for at in range(0, len(tail), 64):
            copy._block(tail[at : at + 64])
        return "".join(f"{x:08x}" for x in copy.h)


# --- the stores ----------------------------------------------------------------------------------------------------


def start_moto(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = Path(sys.executable).with_name("moto_server")
    log = (folder / "moto.log").open("wb")
    process = subprocess.Popen([str(server), "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log)
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            with urllib.request.urlopen(endpoint + "/", timeout=1):  # noqa: S310 - a local URL of our own
                return process, endpoint
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("moto_server did not start")


def measure(store: object, upload: bytes) -> tuple[float, float, str]:
    """Put the upload as parts (as PATCH requests do), then read them back in order and hash them (as the job
    does); the two times and the hash."""
    from casefile.storage import CHUNK_SIZE, BlobStoreBase

    assert isinstance(store, BlobStoreBase)
    upload_id = uuid.uuid4()
    names = []
    started = time.perf_counter()
    for start in range(0, len(upload), PART):
        fd, path = tempfile.mkstemp(dir=store.temp_dir)
        with os.fdopen(fd, "wb") as out:
            out.write(upload[start : start + PART])
        name = f"tus/{upload_id}/{start:020d}-{uuid.uuid4().hex}"
        store.put_part(name, path)
        names.append(name)
    put = time.perf_counter() - started
    started = time.perf_counter()
    digest = hashlib.sha256()
    for name in names:
        with store.open_part(name) as part:
            while chunk := part.read(CHUNK_SIZE):
                digest.update(chunk)
    joined = time.perf_counter() - started
    for name in names:
        store.delete_part(name)
    return put, joined, digest.hexdigest()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=None, help="upload size in MiB (default 64, quick 16)")
    parser.add_argument("--quick", action="store_true", default=quick_from_env())
    args = parser.parse_args()
    size = (args.mib or (16 if args.quick else 64)) * MIB
    upload = os.urandom(size)

    started = time.perf_counter()
    expected = hashlib.sha256(upload).hexdigest()
    baseline = time.perf_counter() - started

    for sample in (b"", b"abc", os.urandom(1000), os.urandom(64 * 3 + 7)):
        portable = PortableSha256()
        portable.update(sample[:50])
        portable.update(sample[50:])
        assert portable.hexdigest() == hashlib.sha256(sample).hexdigest(), "the pure-Python SHA-256 is wrong"
    sample = upload[: 2 * MIB]
    started = time.perf_counter()
    portable = PortableSha256()
    portable.update(sample)
    carried = (time.perf_counter() - started) * size / len(sample)

    from casefile.storage import LocalBlobStore, S3BlobStore

    rows = []
    worst = 0.0
    folder = Path(tempfile.mkdtemp(prefix="casefile-bench-tus-"))
    moto, endpoint = start_moto(folder)
    try:
        # Dummy credentials for the local moto server, never a real account.
        os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1")  # noqa: S106
        import boto3

        boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket="bench")
        (folder / "spool").mkdir()
        stores = {
            "local disk": LocalBlobStore(folder / "blobs"),
            "S3 (moto over HTTP)": S3BlobStore("bench", endpoint_url=endpoint, spool_dir=folder / "spool"),
        }
        for label, store in stores.items():
            put, joined, digest = measure(store, upload)
            assert digest == expected, f"{label}: the joined parts do not hash to the upload's SHA-256"
            worst = max(worst, joined)
            rows.append((label, f"{put:.2f} s", f"{joined:.2f} s ({size / MIB / joined:,.0f} MiB/s)"))
    finally:
        moto.terminate()
        moto.wait(10)
        shutil.rmtree(folder, ignore_errors=True)

    print(f"# tus hash placement: a {size // MIB} MiB upload in {PART // MIB} MiB parts\n")
    print(table(["store", "put the parts (the PATCH requests)", "read back + hash at completion (the job)"], rows))
    print()
    print(f"hashlib.sha256 in memory (baseline): {baseline:.3f} s ({size / MIB / baseline:,.0f} MiB/s)")
    print(
        f"carrying the state instead (pure-Python SHA-256, measured on 2 MiB): {carried:.1f} s for {size // MIB} MiB "
        f"({size / MIB / carried:.2f} MiB/s), {carried / baseline:,.0f}x the baseline"
    )
    ratio = worst / carried
    print(f"ratio, slowest hash at completion / carried state: {ratio:.4f} (target <= 0.1)")
    print("chosen: hash once at completion, in the job that records the file (casefile/intake/tus.py)")
    ok = ratio <= 0.1
    print(verdict(ok))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
