"""Real servers for the API tests: ``drugforge serve`` as a process, keys made by the CLI."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_key(data_dir: Path, name: str = "member") -> str:
    """A key made by ``drugforge keys create`` (the command users run)."""
    done = subprocess.run([sys.executable, "-m", "drugforge", "keys", "create", "--name", name,
                           "--data-dir", str(data_dir)], capture_output=True, text=True,
                          check=True)  # fmt: skip
    return done.stdout.strip()


class ServerProcess:
    """``drugforge serve --data-dir DIR --port P [args]`` in its own process."""

    def __init__(self, data_dir: Path, *args: str, port: int | None = None) -> None:
        self.data_dir, self.args = data_dir, args
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> ServerProcess:
        log = open(self.data_dir / f"server-{self.port}.log", "ab")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "drugforge", "serve", "--data-dir", str(self.data_dir),
             "--port", str(self.port), *self.args], stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"drugforge serve exited with {self.process.returncode}")
            try:
                if httpx.get(f"{self.url}/openapi.json", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError("drugforge serve did not answer")

    def kill9(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
