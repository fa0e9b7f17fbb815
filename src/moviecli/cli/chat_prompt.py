"""The REPL's prompt (prompt_toolkit, which questionary is built on): the numbered choices
above a ``you>`` line.

- ↑/↓ on an empty line highlight a choice, Enter on an empty line picks it;
- a message that is only a number picks that choice when it is sent (typing "2 brothers
  rob a bank" is a message: a digit never picks on its own);
- a pasted block of lines arrives as one message (bracketed paste), and a line ending in
  ``\\`` — or Alt-Enter — goes on on the next line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from moviecli.text import visible

if TYPE_CHECKING:
    from moviecli.cli.chat import Conversation


class ChatPrompt:
    def __init__(self, conversation: Conversation) -> None:
        from prompt_toolkit import PromptSession

        self.conversation = conversation
        self.index = conversation.recommended()
        self.session: Any = PromptSession(self._message, key_bindings=self._bindings())

    def ask(self) -> str:
        """The next thing typed; ``#N`` when choice N was picked with the keys."""
        self.index = self.conversation.recommended()
        return str(self.session.prompt())

    def ask_custom(self) -> str:
        from prompt_toolkit import PromptSession

        try:
            return str(PromptSession().prompt("Your direction (empty to cancel): ")).strip()
        except (KeyboardInterrupt, EOFError):
            return ""

    def _bindings(self) -> Any:
        from prompt_toolkit.filters import Condition
        from prompt_toolkit.key_binding import KeyBindings

        bindings = KeyBindings()
        empty = Condition(lambda: not self.session.default_buffer.text)

        @bindings.add("up", filter=empty)
        def _up(event: Any) -> None:
            if self.conversation.choices:
                self.index = (self.index - 1) % len(self.conversation.choices)

        @bindings.add("down", filter=empty)
        def _down(event: Any) -> None:
            if self.conversation.choices:
                self.index = (self.index + 1) % len(self.conversation.choices)

        @bindings.add("enter")
        def _enter(event: Any) -> None:
            buffer = event.app.current_buffer
            if not buffer.text.strip() and self.conversation.choices:
                number = self.index + 1
                # Leave the pick on the prompt line, so the scrollback shows what was chosen.
                buffer.text = f"{number}. {self.conversation.choices[number - 1]['title']}"
                event.app.exit(result=f"#{number}")
            elif buffer.text.endswith("\\") and buffer.cursor_position == len(buffer.text):
                buffer.delete_before_cursor(1)
                buffer.insert_text("\n")
            else:
                buffer.validate_and_handle()

        @bindings.add("escape", "enter")
        def _newline(event: Any) -> None:
            event.app.current_buffer.insert_text("\n")

        return bindings

    def _message(self) -> Any:
        from prompt_toolkit.formatted_text import FormattedText

        parts: list[tuple[str, str]] = []
        for number, c in enumerate(self.conversation.choices, start=1):
            selected = number - 1 == self.index
            style = "reverse bold" if selected else ""
            star = " ★" if c.get("isRecommended") else ""
            text = f" {'>' if selected else ' '} {number}. {c['icon']} {c['title']}{star}"
            parts.append((style, visible(f"{text} ({c['estimatedTime']}) ")))
            parts.append(("", "\n"))
        parts.append(("bold", "you> "))
        return FormattedText(parts)
