"""A throwaway PostgreSQL server for the tests: Debian's binaries, a cluster in a temporary
folder, password authentication on 127.0.0.1, fsync off, gone at the end of the session.

initdb refuses to run as root, so as root (CI) the cluster belongs to the ``postgres`` system
user that Debian's package creates. Without PostgreSQL installed the tests that need it skip,
except where ``CI`` or ``VOXLINE_REQUIRE_POSTGRES`` is set: there a missing server fails.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

USER = "voxline"
START_TIMEOUT_S = 60.0


def find_bindir() -> Path | None:
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0,
    )
    if found:
        return found[-1].parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


def required() -> bool:
    return any(
        os.environ.get(k, "").strip().lower() not in ("", "0", "false", "no")
        for k in ("CI", "VOXLINE_REQUIRE_POSTGRES")
    )


def unavailable() -> str:
    """Why no throwaway server can run here, or "" if one can."""
    try:
        import psycopg  # noqa: F401
        import psycopg_pool  # noqa: F401
    except ImportError as exc:
        return f"{exc.name} is not installed (pip install -e '.[postgres]')"
    if find_bindir() is None:
        return "PostgreSQL is not installed (run `bash scripts/system-deps.sh` as root)"
    if os.geteuid() == 0:
        try:
            import pwd

            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no `postgres` user to own the cluster"
    return ""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class PostgresServer:
    port: int
    password: str

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}:{self.password}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh empty database; its URL."""
        import psycopg

        name = f"t_{secrets.token_hex(6)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)


def _run_as_owner() -> dict:
    """Popen arguments that run a command as the cluster's owner."""
    if os.geteuid() != 0:
        return {}
    return {"user": "postgres", "group": "postgres", "extra_groups": []}


def start_server(root: Path) -> tuple[subprocess.Popen, PostgresServer]:
    bindir = find_bindir()
    assert bindir is not None
    owner = _run_as_owner()
    if owner:
        shutil.chown(root, "postgres", "postgres")
    password = secrets.token_hex(12)
    pwfile = root / "pw"
    pwfile.write_text(password)
    if owner:
        shutil.chown(pwfile, "postgres", "postgres")
    data, sockets, log = root / "data", root / "sock", root / "server.log"
    subprocess.run(
        [bindir / "initdb", "-D", data, "-U", USER, f"--pwfile={pwfile}", "-A", "scram-sha-256",
         "-E", "UTF8", "--locale=C", "--no-sync"],
        check=True, capture_output=True, cwd=root, **owner,
    )  # fmt: skip
    sockets.mkdir()
    if owner:
        shutil.chown(sockets, "postgres", "postgres")
    server = PostgresServer(free_port(), password)
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [bindir / "postgres", "-D", data, "-p", str(server.port), "-k", sockets,
             "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
             "-c", "synchronous_commit=off", "-c", "full_page_writes=off"],
            stdout=out, stderr=subprocess.STDOUT, cwd=root, **owner,
        )  # fmt: skip
    return proc, server


def wait_ready(proc: subprocess.Popen, server: PostgresServer, log: Path) -> None:
    import psycopg

    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"postgres exited ({proc.returncode}): {log.read_text()[-2000:]}")
        try:
            psycopg.connect(server.url(), connect_timeout=2).close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)  # fast shutdown: disconnect clients, stop
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A running throwaway PostgreSQL server for the whole session."""
    if why := unavailable():
        if required():
            pytest.fail(f"PostgreSQL tests must run here (CI / VOXLINE_REQUIRE_POSTGRES): {why}")
        pytest.skip(why)
    root = Path(tempfile.mkdtemp(prefix="voxline-pg-"))
    proc = None
    try:
        proc, server = start_server(root)
        wait_ready(proc, server, root / "server.log")
        yield server
    finally:
        if proc is not None:
            stop(proc)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """The URL of a new, empty database on the session's server."""
    return postgres_server.new_database()
