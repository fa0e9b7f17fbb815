"""The OpenAI-compatible backend against a small HTTP server on 127.0.0.1 started by the
test: streaming, a plain JSON answer, a timeout and an HTTP 500 (the message is kept, a
system message records the error, the session goes to error, and comes back); the model's
reading of a message (issue 12 item 6): the structure asked for, what the engine takes
from it, malformed structures and the fallback to the built-in understanding."""

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
        self.refused: set[str | None] = set()  # response_format types refused
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
                kind = (owner.requests[-1].get("response_format") or {}).get("type")
                if kind in owner.refused:
                    # as llama-cpp-python's server answers its validation error
                    body = b'{"error": {"message": "loc: (body, response_format, type)"}}'
                    self.send_response(500)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
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

    def answer(self, intent: str, reply: str, updates: list[dict[str, str]]) -> None:
        """Answer the structure, streamed a few characters at a time."""
        text = json.dumps({"intent": intent, "reply": reply, "storyUpdates": updates})
        self.pieces = [text[i : i + 5] for i in range(0, len(text), 5)]

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


ENGINE_LINES = (
    "Recorded the concept: 'A lighthouse story'.\n"
    "Initial concept has everything it needs.\n"
    "Recommended: 1. Story development (--choice story_development)."
)
PROSE = "the model answered prose, not the JSON structure"


def test_a_streamed_reply(cli, llm):
    result = cli("chat", "P", "-m", "A lighthouse story", "--json")
    assert result.exit_code == 0, result.stderr
    data = result.json()
    # prose without the structure: the model's words, then the engine's own lines
    assert data["response"] == "Hello there, creator.\n\n" + ENGINE_LINES
    # the engine still records and decides: the concept is there, the choices are its own
    assert data["choices"][0]["id"] == "story_development"
    assert data["choices"][0]["isRecommended"] is True
    request = llm.requests[0]
    assert request["model"] == "tiny-test-model"
    assert request["stream"] is True
    assert request["response_format"]["type"] == "json_schema"
    assert request["messages"][0]["role"] == "system"
    assert request["messages"][-1] == {"role": "user", "content": "A lighthouse story"}
    facts = json.loads(request["messages"][-2]["content"].split("\n", 1)[1])
    assert facts["engineReading"] == {
        "intent": "story",
        "storyUpdates": [
            {"field": "concept", "op": "extend", "name": "", "text": "A lighthouse story"}
        ],
    }
    assert facts["currentStep"]["id"] == "initial_concept"
    assert [c["id"] for c in facts["choices"]] == ["story_development", "manual_override"]
    assert llm.headers[0]["Authorization"] == "Bearer sk-test-123"
    messages = _history(cli, data["sessionId"])
    assert messages[-1]["metadata"] == {
        "step": "initial_concept",
        "backend": "openai",
        "understoodBy": "builtin",
        "fallback": PROSE,
    }
    story = cli("project", "show", "P", "--json").json()["story"]
    assert story["concept"] == "A lighthouse story"

    # the next turn sends the recent history, then the facts, then the new message
    cli("chat", "P", "-m", "More rain")
    sent = llm.requests[1]["messages"]
    assert sent[1:3] == [
        {"role": "user", "content": "A lighthouse story"},
        {"role": "assistant", "content": data["response"]},
    ]
    assert sent[3]["role"] == "system"
    assert sent[4:] == [{"role": "user", "content": "More rain"}]


def test_plain_output_streams_the_reply_then_the_engine_then_the_choices(cli, llm):
    result = cli("chat", "P", "-m", "A lighthouse story")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(
        "Hello there, creator.\n\n" + ENGINE_LINES + "\n\nChoices:\n  1. 📖 Story development"
    )


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
    assert result.response == "Hello there, creator.\n\n" + ENGINE_LINES
    assert llm.during_result == "free"


def test_a_plain_json_answer(cli, llm):
    llm.mode = "json"
    result = cli("chat", "P", "-m", "A lighthouse story", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json()["response"] == "Hello there, creator.\n\n" + ENGINE_LINES


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


# --- the model reads the message (issue 12 item 6) ---------------------------------------------

MESSAGE = "Mia, a lighthouse keeper, finds a door in the sea"


def _assistant_meta(cli: Any, sid: str) -> dict[str, Any]:
    meta: dict[str, Any] = _history(cli, sid)[-1]["metadata"]
    return meta


def test_12_6_the_model_reads_the_message_and_the_engine_speaks_after_it(cli, llm):
    llm.answer(
        "story",
        'A door in the sea: "lovely".\nWhat is behind it?',
        [
            {"field": "concept", "op": "extend", "name": "", "text": MESSAGE},
            {"field": "character", "op": "set", "name": "Mia", "text": "a lighthouse keeper"},
        ],
    )
    result = cli("chat", "P", "-m", MESSAGE)
    assert result.exit_code == 0, result.stderr
    # the reply field streams out of the JSON (no JSON on the terminal), then the engine
    assert result.stdout.startswith(
        'A door in the sea: "lovely".\nWhat is behind it?\n\n'
        f"Recorded the concept: '{MESSAGE}'.\n"
        "Recorded 1 character: Mia.\n"
        "Initial concept has everything it needs.\n"
        "Recommended: 1. Story development (--choice story_development).\n\nChoices:"
    ), result.stdout
    assert "{" not in result.stdout
    fmt = llm.requests[0]["response_format"]
    assert fmt["json_schema"]["schema"]["required"] == ["intent", "reply", "storyUpdates"]
    assert "maxLength" not in json.dumps(fmt)  # it broke llama.cpp's grammar
    story = cli("story", "show", "P", "--json").json()
    assert story["concept"] == MESSAGE
    assert [(c["name"], c["description"]) for c in story["characters"]] == [
        ("Mia", "a lighthouse keeper")
    ]
    sid = cli("session", "list", "--json").json()["items"][0]["id"]
    assert _assistant_meta(cli, sid)["understoodBy"] == "model"
    assert "fallback" not in _assistant_meta(cli, sid)


def test_12_6_the_reply_streams_in_pieces_out_of_the_json(cli, llm, database, admin):
    from moviecli.services import auth, chat
    from moviecli.services.assistant import make_backend

    llm.answer("smalltalk", "Hello! Tell me the premise.", [])
    with database.session() as session:
        actor = auth.current_user(session)
    pieces: list[str] = []
    result = chat.take_turn(
        database,
        actor,
        chat.TurnRequest(message="hi"),
        project_ref="P",
        backend=make_backend(),
        on_chunk=pieces.append,
    )
    assert len(pieces) > 3
    assert "".join(pieces) == "Hello! Tell me the premise."
    assert result.response.startswith("Hello! Tell me the premise.\n\nInitial concept still needs")


@pytest.mark.parametrize(
    "text", ["hi", "thanks!", "what does this step need?", "ok"], ids=lambda t: t[:10]
)
def test_12_6_hi_never_records_whatever_the_model_claims(cli, llm, text):
    assert cli("story", "set", "P", "--concept", "A heist on the moon").exit_code == 0
    llm.answer(
        "story",
        "Recorded!",
        [
            {"field": "concept", "op": "set", "name": "", "text": text},
            {"field": "character", "op": "set", "name": text, "text": text},
        ],
    )
    result = cli("chat", "P", "-m", text, "--json")
    assert result.exit_code == 0, result.stderr
    data = result.json()
    assert data["intent"] in ("smalltalk", "question")
    assert data["response"].startswith("Recorded!\n\n")
    assert "Recorded the" not in data["response"]
    story = cli("story", "show", "P", "--json").json()
    assert story["concept"] == "A heist on the moon"
    assert story["characters"] == []
    assert len(cli("story", "history", "P", "--json").json()["items"]) == 1
    meta = _assistant_meta(cli, data["sessionId"])
    assert meta["understoodBy"] == "builtin"
    assert meta["fallback"].startswith("the built-in classifier heard ")


def _cut(text: str) -> list[str]:
    return [text[i : i + 7] for i in range(0, len(text), 7)]


WHOLE = json.dumps({"intent": "story", "reply": "Nice.", "storyUpdates": []})
MALFORMED = {
    "cut short": (
        _cut('{"intent": "story", "reply": "A fine door, and then'),
        "the model's JSON is not valid: Unterminated string",
    ),
    "not an object": (_cut('["story", "Nice."]'), "the model answered prose"),
    "array first": (_cut("[1]"), "the model answered prose"),
    "wrong intent": (
        _cut(WHOLE.replace('"story"', '"command"')),
        "the model's intent 'command' is not one of story, question, smalltalk",
    ),
    "no updates key": (
        _cut('{"intent": "story", "reply": "Nice."}'),
        "the model's storyUpdates is not a list",
    ),
    "unknown field": (
        _cut(WHOLE.replace("[]", '[{"field": "budget", "op": "set", "name": "", "text": "x"}]')),
        "story update 1 has field 'budget' and op 'set'",
    ),
    "words not in the message": (
        _cut(
            WHOLE.replace(
                "[]", '[{"field": "concept", "op": "extend", "name": "", "text": "A space opera"}]'
            )
        ),
        "the model's concept 'A space opera' is not in the message",
    ),
    "a character without a name": (
        _cut(
            WHOLE.replace(
                "[]", '[{"field": "character", "op": "set", "name": " ", "text": "a door"}]'
            )
        ),
        "the model's story updates are invalid: character '': a name is required",
    ),
    "op that does not apply": (
        _cut(
            WHOLE.replace(
                "[]", '[{"field": "direction", "op": "set", "name": "", "text": "a door"}]'
            )
        ),
        "the model's story updates are invalid: direction: 'set' does not apply",
    ),
    "a removal": (
        _cut(
            WHOLE.replace(
                "[]", '[{"field": "character", "op": "remove", "name": "keeper", "text": ""}]'
            )
        ),
        "the model would remove character keeper: the chat removes nothing",
    ),
    "an update rambling on": (
        _cut(
            WHOLE.replace(
                "[]",
                '[{"field": "concept", "op": "extend", "name": "", "text": "'
                + "a door in the sea " * 40
                + '"}]',
            )
        ),
        "the model's story update outgrew the message (",
    ),
    "nothing to record": (_cut(WHOLE), "the model found nothing to record"),
    "called it a question": (
        _cut(WHOLE.replace('"story"', '"question"')),
        "the model called story material question; the built-in reading records it",
    ),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_12_6_a_malformed_structure_falls_back_to_the_builtin_understanding(cli, llm, case):
    llm.pieces, reason = MALFORMED[case]
    message = "A keeper finds a door in the sea"
    result = cli("chat", "P", "-m", message, "--json")
    assert result.exit_code == 0, result.stderr
    data = result.json()
    # what the built-in understanding records, said by the engine's lines
    assert f"Recorded the concept: '{message}'." in data["response"]
    assert cli("story", "show", "P", "--json").json()["concept"] == message
    meta = _assistant_meta(cli, data["sessionId"])
    assert meta["understoodBy"] == "builtin"
    assert meta["fallback"].startswith(reason), meta["fallback"]
    assert (data["understoodBy"], data["fallback"]) == ("builtin", meta["fallback"])
    if '"reply": "Nice."' in "".join(llm.pieces):  # the prose, then the engine's lines
        assert data["response"].startswith("Nice.\n\nRecorded the concept"), data["response"]


def test_12_6_the_model_never_replaces_what_the_message_does_not_label(cli, llm):
    assert cli("story", "set", "P", "--concept", "A heist on the moon").exit_code == 0
    llm.answer(
        "story", "Got it.", [{"field": "concept", "op": "set", "name": "", "text": "The crew"}]
    )
    data = cli("chat", "P", "-m", "The crew are all retired clowns", "--json").json()
    story = cli("story", "show", "P", "--json").json()
    assert story["concept"] == "A heist on the moon. The crew are all retired clowns"
    meta = _assistant_meta(cli, data["sessionId"])
    assert meta["fallback"] == (
        "the model would replace the concept, which the message does not ask for "
        "('Concept: …' does)"
    )
    # with the label, the replacement is the creator's: the model's reading is taken
    llm.answer(
        "story", "Replaced.", [{"field": "concept", "op": "set", "name": "", "text": "Clowns"}]
    )
    data = cli("chat", "P", "-m", "Concept: Clowns", "--json").json()
    assert "Replaced the concept; /undo restores: 'A heist on the moon" in data["response"]
    assert _assistant_meta(cli, data["sessionId"])["understoodBy"] == "model"
    assert (data["understoodBy"], data["fallback"]) == ("model", None)


def test_12_6_a_server_refusing_json_schema_gets_json_object_with_the_schema(cli, llm):
    llm.refused = {"json_schema"}
    llm.answer(
        "story", "Nice.", [{"field": "concept", "op": "extend", "name": "", "text": "A door"}]
    )
    data = cli("chat", "P", "-m", "A door", "--json").json()
    assert [r["response_format"]["type"] for r in llm.requests] == ["json_schema", "json_object"]
    sent = llm.requests[1]["response_format"]["schema"]
    assert sent["properties"]["intent"]["enum"] == ["story", "question", "smalltalk"]
    assert _assistant_meta(cli, data["sessionId"])["understoodBy"] == "model"


def test_12_6_a_server_with_no_structured_output_gets_prose_and_the_builtin(cli, llm):
    llm.refused = {"json_schema", "json_object"}
    data = cli("chat", "P", "-m", "A lighthouse story", "--json").json()
    assert [(r.get("response_format") or {}).get("type") for r in llm.requests] == [
        "json_schema",
        "json_object",
        None,
    ]
    assert data["response"] == "Hello there, creator.\n\n" + ENGINE_LINES
    meta = _assistant_meta(cli, data["sessionId"])
    assert meta["fallback"] == "the endpoint takes no structured output (response_format)"


def test_12_6_a_reply_with_no_word_is_not_shown(cli, llm):
    llm.answer("story", " {", [])
    result = cli("chat", "P", "-m", "A lighthouse story")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(ENGINE_LINES + "\n\nChoices:"), result.stdout
