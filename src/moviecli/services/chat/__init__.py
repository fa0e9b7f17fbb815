"""Chat sessions and turns (SPEC section 5), in these modules:

- ``sessions``: the session and message shapes, access, which session a chat continues,
  and the session commands (list, show, export, pause, resume, close);
- ``turn``: one turn in three transactions, and opening a session for the REPL;
- ``outcome``: what a turn does, decided by the engine before the reply (pure);
- ``attach``: files attached to a turn, added as media of the project;
- ``fulltext``: ``session search``;
- ``transcript``: ``session export --format markdown``.

What a message means (the understanding) and the reply writers (the backends) live in
``services.assistant``.
"""

from moviecli.services.chat.attach import attach_files
from moviecli.services.chat.fulltext import SearchHit, search, snippet
from moviecli.services.chat.outcome import compute_outcome
from moviecli.services.chat.sessions import (
    MessageInfo,
    SessionInfo,
    export,
    get_session,
    history,
    list_sessions,
    pause_quietly,
    recent,
    set_state,
)
from moviecli.services.chat.transcript import markdown as transcript
from moviecli.services.chat.turn import (
    ChatBackendError,
    Opened,
    TurnRequest,
    TurnResult,
    open_chat,
    take_turn,
)

__all__ = [
    "ChatBackendError",
    "MessageInfo",
    "Opened",
    "SearchHit",
    "SessionInfo",
    "TurnRequest",
    "TurnResult",
    "attach_files",
    "compute_outcome",
    "export",
    "get_session",
    "history",
    "list_sessions",
    "open_chat",
    "pause_quietly",
    "recent",
    "search",
    "set_state",
    "snippet",
    "take_turn",
    "transcript",
]
