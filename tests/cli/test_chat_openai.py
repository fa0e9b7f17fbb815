"""The OpenAI-compatible backend against a small HTTP server on 127.0.0.1 started by the
test: streaming, a plain JSON answer, a timeout and an HTTP 500 (the message is kept, a
system message records the error, the session goes to error, and comes back)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.conftest import BACKEND


class FakeLLM:
    """A chat-completions endpoint whose behaviour the test sets: stream | json | slow | 500."""

    def __init__(self) -> None:
        self.mode = "stream"
        self.pieces = ["Hello", " there", ", creator."]
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.during: Callable[[], Any] | None = None
        self.during_result: Any = None
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                owner.requests.append(json.loads(self.rfile.read(length)))
                owner.headers.append(dict(self.headers))
                if owner.during is not None:
                    owner.during_result = owner.during()
                if owner.mode == "500":
                    body = b'{"error": "model exploded"}'
                    self.send_response(500)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                if owner.mode == "slow":
                    time.sleep(3)
                if owner.mode == "json":
                    text = "".join(owner.pieces)
                    body = json.dumps(
                        {"choices": [{"message": {"role": "assistant", "content": text}}]}
                    ).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.end_headers()
                    for piece in owner.pieces:
                        event = {"choices": [{"delta": {"content": piece}}]}
                        self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
                        self.wfile.flush()
                    self.wfile.write(b"data: [DONE]\n\n")
                except BrokenPipeError:  # the client gave up (timeout test)
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def llm(cli, admin, monkeypatch) -> Iterator[FakeLLM]:
    fake = FakeLLM()
    monkeypatch.setenv("TEST_LLM_KEY", "sk-test-123")
    for key, value in (
        ("chat.backend", "openai"),
        ("chat.base_url", fake.url),
        ("chat.model", "tiny-test-model"),
        ("chat.api_key_env", "TEST_LLM_KEY"),
        ("chat.timeout", "1"),
    ):
        assert cli("config", "set", key, value).exit_code == 0
    assert cli("project", "create", "P", "--genre", "drama", "--episodes", "2").exit_code == 0
    yield fake
    fake.close()


def _history(cli: Any, sid: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = cli("session", "show", sid, "--json").json()["items"]
    return items


def test_a_streamed_reply(cli, llm):
    result = cli("chat", "P", "-m", "A lighthouse story", "--json")
    assert result.exit_code == 0, result.stderr
    data = result.json()
    assert data["response"] == "Hello there, creator."
    # the engine still records and decides: the concept is there, the choices are its own
    assert data["choices"][0]["id"] == "story_development"
    assert data["choices"][0]["isRecommended"] is True
    request = llm.requests[0]
    assert request["model"] == "tiny-test-model"
    assert request["stream"] is True
    assert request["messages"][0]["role"] == "system"
    assert request["messages"][-1] == {"role": "user", "content": "A lighthouse story"}
    facts = json.loads(request["messages"][-2]["content"].split("\n", 1)[1])
    assert facts["recorded"] == ["Recorded the concept: 'A lighthouse story'."]
    assert facts["currentStep"]["id"] == "initial_concept"
    assert [c["id"] for c in facts["choices"]] == ["story_development", "manual_override"]
    assert llm.headers[0]["Authorization"] == "Bearer sk-test-123"
    messages = _history(cli, data["sessionId"])
    assert messages[-1]["metadata"] == {"step": "initial_concept", "backend": "openai"}
    story = cli("project", "show", "P", "--json").json()["story"]
    assert story["concept"] == "A lighthouse story"

    # the next turn sends the recent history, then the facts, then the new message
    cli("chat", "P", "-m", "More rain")
    sent = llm.requests[1]["messages"]
    assert sent[1:3] == [
        {"role": "user", "content": "A lighthouse story"},
        {"role": "assistant", "content": "Hello there, creator."},
    ]
    assert sent[3]["role"] == "system"
    assert sent[4:] == [{"role": "user", "content": "More rain"}]


def test_plain_output_streams_the_reply_then_the_choices(cli, llm):
    result = cli("chat", "P", "-m", "A lighthouse story")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("Hello there, creator.\n\nChoices:\n  1. 📖 Story development")


def test_pieces_arrive_as_they_stream_and_no_lock_is_held_meanwhile(cli, llm, database, admin):
    from moviecli.services import auth, chat
    from moviecli.services.assistant import make_backend

    def try_to_write() -> str:
        # Another writer must get in while the reply is being produced.
        if BACKEND == "sqlite":
            import sqlite3

            assert database.sqlite_path is not None
            conn = sqlite3.connect(database.sqlite_path, timeout=0.2, isolation_level=None)
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("ROLLBACK")
                return "free"
            except sqlite3.OperationalError as exc:
                return str(exc)
            finally:
                conn.close()
        import psycopg

        url = database.url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(url) as conn:
            try:
                conn.execute("SELECT id FROM chat_sessions FOR UPDATE NOWAIT").fetchall()
                conn.execute("SELECT id FROM projects FOR UPDATE NOWAIT").fetchall()
                return "free"
            except psycopg.errors.LockNotAvailable as exc:
                return str(exc)

    llm.during = try_to_write
    with database.session() as session:
        actor = auth.current_user(session)
    pieces: list[str] = []
    result = chat.take_turn(
        database,
        actor,
        chat.TurnRequest(message="A lighthouse story"),
        project_ref="P",
        backend=make_backend(),
        on_chunk=pieces.append,
    )
    assert pieces == ["Hello", " there", ", creator."]
    assert result.response == "Hello there, creator."
    assert llm.during_result == "free"


def test_a_plain_json_answer(cli, llm):
    llm.mode = "json"
    result = cli("chat", "P", "-m", "A lighthouse story", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json()["response"] == "Hello there, creator."


@pytest.mark.parametrize("mode", ["slow", "500"])
def test_failure_keeps_the_message_and_resume_recovers(cli, llm, mode):
    first = cli("chat", "P", "-m", "A lighthouse story", "--json").json()
    sid = first["sessionId"]
    llm.mode = mode
    result = cli("chat", "P", "-m", "The keeper's storm")
    assert result.exit_code == 1
    url = f"{llm.url}/chat/completions"
    problem = (
        f"{url} did not answer within 1 s"
        if mode == "slow"
        else f'{url} answered HTTP 500: {{"error": "model exploded"}}'
    )
    assert result.stderr == (
        f"Error: the chat backend failed: {problem} (your message is kept; moviecli session "
        f"resume {sid[:8]}, or send again)\n"
    )
    messages = _history(cli, sid)
    assert [(m["role"], m["content"]) for m in messages[-2:]] == [
        ("user", "The keeper's storm"),
        ("system", f"The reply failed: {problem}"),
    ]
    assert messages[-1]["metadata"] == {
        "step": "initial_concept",
        "backend": "openai",
        "error": problem,
    }
    session = cli("session", "show", sid, "--json").json()["session"]
    assert session["sessionState"] == "error"
    assert session["awaitingUserInput"] is False
    assert session["contextData"]["error"] == problem
    # nothing of the failed turn was applied to the project
    story = cli("project", "show", "P", "--json").json()["story"]
    assert story["concept"] == "A lighthouse story"

    llm.mode = "stream"
    resumed = cli("session", "resume", sid, "--json")
    assert resumed.exit_code == 0
    assert resumed.json()["sessionState"] == "active"
    assert "error" not in resumed.json()["contextData"]
    again = cli("chat", "P", "-m", "The keeper's storm", "--json")
    assert again.exit_code == 0, again.stderr
    assert again.json()["sessionId"] == sid
    assert again.json()["sessionState"] == "active"


def test_the_next_message_brings_an_errored_session_back(cli, llm):
    llm.mode = "500"
    result = cli("chat", "P", "-m", "A lighthouse story", "--json")
    assert result.exit_code == 1
    assert result.json()["error"]["code"] == "backend"
    llm.mode = "stream"
    data = cli("chat", "P", "-m", "A lighthouse story", "--json").json()
    assert data["sessionState"] == "active"
    assert [m["role"] for m in _history(cli, data["sessionId"])] == [
        "user",
        "system",
        "user",
        "assistant",
    ]


def test_missing_settings_are_a_usage_error(cli, admin):
    assert cli("config", "set", "chat.backend", "openai").exit_code == 0
    cli("project", "create", "P", "--genre", "drama", "--episodes", "2")
    result = cli("chat", "P", "-m", "x")
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "Error: the openai chat backend needs chat.base_url and chat.model"
    )
