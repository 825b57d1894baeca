"""Start and stop a real moto S3 server over HTTP for the tests (no in-process mocking)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO


class MotoServer:
    def __init__(self, process: subprocess.Popen[bytes], endpoint: str, log: IO[bytes]) -> None:
        self.process = process
        self.endpoint = endpoint
        self.log = log


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _moto_command(port: int) -> list[str]:
    script = Path(sys.executable).with_name("moto_server")
    base = [str(script)] if script.exists() else [sys.executable, "-m", "moto.server"]
    return [*base, "-H", "127.0.0.1", "-p", str(port)]


def start_moto_server(log_path: Path, timeout: float = 30.0) -> MotoServer:
    """Launch ``moto_server`` on a free local port and wait until it answers HTTP."""
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    log = log_path.open("wb")
    process = subprocess.Popen(_moto_command(port), stdout=log, stderr=subprocess.STDOUT)
    server = MotoServer(process, endpoint, log)
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            stop_moto_server(server)
            raise RuntimeError(f"moto_server exited early:\n{log_path.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(endpoint + "/", timeout=1):  # noqa: S310 -- fixed local URL
                return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            if time.monotonic() > deadline:
                stop_moto_server(server)
                raise RuntimeError(
                    f"moto_server did not answer within {timeout}s:\n{log_path.read_text(errors='replace')}"
                ) from None
            time.sleep(0.1)


def stop_moto_server(server: MotoServer) -> None:
    try:
        if server.process.poll() is None:
            server.process.terminate()
            try:
                server.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.process.kill()
                server.process.wait()
    finally:
        server.log.close()
