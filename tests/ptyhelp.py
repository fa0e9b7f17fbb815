"""Drive ``moviecli`` in a real pseudo-terminal of a given width (os.openpty), as a person
at a terminal would: send keys, wait for text, read what the screen received."""

from __future__ import annotations

import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time

# CSI and OSC sequences, and the two-byte escapes prompt_toolkit sends.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][A-Z0-9]|\x1b[=>78]"
)


def plain(data: str) -> str:
    """Terminal output without escape sequences, with ``\\n`` line ends."""
    return _ESCAPES.sub("", data).replace("\r\n", "\n").replace("\r", "\n")


CLEAR = "\x15"  # Ctrl-U: the prompt's line is emptied, to type the answer again


class Terminal:
    """``moviecli ARGS`` in a pseudo-terminal ``columns`` wide."""

    def __init__(self, *args: str, columns: int, rows: int = 50) -> None:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        env = {
            **os.environ,
            "TERM": "xterm",
            "COLUMNS": str(columns),
            "LINES": str(rows),
            "PROMPT_TOOLKIT_NO_CPR": "1",
            "NO_COLOR": "1",
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moviecli", *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            start_new_session=True,
        )
        os.close(slave)
        self.master = master
        self.raw = b""
        self.at = 0  # where the last :meth:`answer` found what it waited for

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return False
        try:
            chunk = os.read(self.master, 65536)
        except OSError:  # the other end closed: the process ended
            return False
        self.raw += chunk
        return bool(chunk)

    @property
    def text(self) -> str:
        return plain(self.raw.decode("utf-8", "replace"))

    def expect(self, wanted: str, *, after: int = 0, timeout: float = 60) -> int:
        """Wait until ``wanted`` shows up after position ``after`` of :attr:`text`;
        the position just past it."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.text.find(wanted, after)
            if found >= 0:
                return found + len(wanted)
            if time.monotonic() > deadline:
                raise AssertionError(f"{wanted!r} did not show up; the screen got:\n{self.text}")
            if not self._read(0.2) and self.proc.poll() is not None:
                self._read(0.2)
                if self.text.find(wanted, after) < 0:
                    raise AssertionError(f"exited before {wanted!r}:\n{self.text}")

    def send(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def answer(self, keys: str, *then: str) -> None:
        """Type ``keys``, then wait for each of ``then`` in turn, each after the last one
        seen (a prompt's answer and what the program says next)."""
        self.send(keys)
        for wanted in then:
            self.at = self.expect(wanted, after=self.at)

    def finish(self, timeout: float = 60) -> int:
        """Read until the process exits; its exit code."""
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            self._read(0.2)
        while self._read(0.1):
            pass
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            raise AssertionError(f"still running after {timeout} s:\n{self.text}")
        os.close(self.master)
        return self.proc.returncode
