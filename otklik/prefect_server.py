"""A temporary Prefect server never outlives the process that started it.

Without a PREFECT_API_URL, Prefect starts a temporary API server (``SubprocessASGIServer``) in a
child process at the first flow run and stops it at exit; a process killed with SIGKILL left it
running. ``guard_temporary_servers()`` makes every such server start with a guard beside it
(``otklik/server_guard.py``) that stops it once its starter is gone.

The hook is installed when Prefect's server module is imported, not before: importing it costs
about 3 s, which commands that run no flow (``otklik generate``, ``otklik runs``) must not pay.
"""

import importlib.abc
import importlib.machinery
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

SERVER_MODULE = "prefect.server.api.server"
GUARD_SCRIPT = Path(__file__).resolve().with_name("server_guard.py")


def guard_temporary_servers() -> None:
    """Start a guard beside each temporary Prefect server this process starts (idempotent)."""
    module = sys.modules.get(SERVER_MODULE)
    if module is not None:
        _wrap(module)
    elif not any(isinstance(finder, _WrapOnImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _WrapOnImport())


def start_guard(server_pid: int) -> subprocess.Popen:
    """The guard of one server process: a child of this process, so that it sees this process end."""
    return subprocess.Popen(
        [sys.executable, "-S", str(GUARD_SCRIPT), str(os.getpid()), str(server_pid)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _wrap(module: ModuleType) -> None:
    server_class = module.SubprocessASGIServer
    start_server = server_class._run_uvicorn_command
    if getattr(start_server, "_otklik_guarded", False):
        return

    def run_uvicorn_command_with_guard(self: object) -> subprocess.Popen:
        process = start_server(self)
        start_guard(process.pid)
        return process

    run_uvicorn_command_with_guard._otklik_guarded = True  # type: ignore[attr-defined]
    server_class._run_uvicorn_command = run_uvicorn_command_with_guard


class _WrapOnImport(importlib.abc.MetaPathFinder):
    """Finds Prefect's server module through the other finders and wraps its class once it is loaded."""

    def find_spec(self, fullname: str, path: object, target: ModuleType | None = None):
        if fullname != SERVER_MODULE:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None and spec.loader is not None:
                spec.loader = _WrappingLoader(spec.loader)
                return spec
        return None


class _WrappingLoader(importlib.abc.Loader):
    def __init__(self, loader: importlib.abc.Loader) -> None:
        self.loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self.loader.exec_module(module)
        _wrap(module)

    def __getattr__(self, name: str) -> object:  # get_source, get_filename, resource readers
        return getattr(self.loader, name)


class TemporaryServer:
    """Prefect's temporary API server started ahead of the first flow run, without importing Prefect's
    server module here (~3 s of imports): the same uvicorn command ``SubprocessASGIServer`` runs, on a
    free loopback port, with a guard beside it; ``api_url`` is then given to Prefect as PREFECT_API_URL
    (``prefect.settings.temporary_settings``) for the flow runs. ``otklik demo`` boots it while the
    sample data is generated.
    """

    def __init__(self) -> None:
        import socket
        import tempfile

        import prefect
        from prefect.settings import get_current_settings

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port: int = probe.getsockname()[1]
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 -- open for the server's life, closed by stop()
        env = {
            **os.environ,
            "PREFECT_UI_ENABLED": "0",
            "PREFECT__SERVER_EPHEMERAL": "1",
            "PREFECT__SERVER_FINAL": "1",
            **get_current_settings().to_environment_variables(exclude_unset=True),
        }
        self.process: subprocess.Popen | None = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--app-dir",
                str(Path(prefect.__file__).resolve().parent.parent),
                "--factory",
                "prefect.server.api.server:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "error",
                "--lifespan",
                "on",
            ],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._log,
        )
        self._guard = start_guard(self.process.pid)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def wait_ready(self, timeout: float) -> str:
        """The API address once the server answers its health check; RuntimeError with the server's
        last words if it exits or does not answer within ``timeout`` seconds."""
        import time
        import urllib.error
        import urllib.request

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"the temporary Prefect server exited: {self._last_words()}")
            try:
                with urllib.request.urlopen(f"{self.api_url}/health", timeout=2) as response:
                    if response.status == 200:
                        return self.api_url
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the temporary Prefect server did not answer within {timeout:g} s: {self._last_words()}")

    def _last_words(self) -> str:
        self._log.seek(0)
        lines = [line for line in self._log.read().decode("utf-8", "replace").splitlines() if line.strip()]
        return lines[-1][:300] if lines else "no message"

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None
        if self._guard.poll() is None:
            self._guard.terminate()
            self._guard.wait()
        self._log.close()
