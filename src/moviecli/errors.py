"""The one error hierarchy of moviecli.

Services raise these; the CLI turns them into ``Error: …`` and an exit code in one
place (``moviecli.cli.app``). Nothing here imports the CLI or the database stack.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any


class ExitCode(IntEnum):
    OK = 0
    UNEXPECTED = 1
    USAGE = 2
    NOT_FOUND = 3
    AUTH = 4
    CONFLICT = 5
    STORAGE = 6
    INTERRUPTED = 130


class MovieCliError(Exception):
    """Base of every error a user may see. ``hint`` goes in parentheses after the message."""

    exit_code: ExitCode = ExitCode.UNEXPECTED
    code: str = "error"

    def __init__(
        self, message: str, *, hint: str | None = None, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details: dict[str, Any] = details or {}

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class UsageError(MovieCliError):
    exit_code = ExitCode.USAGE
    code = "usage"


class ValidationFailed(UsageError):
    """Invalid input; ``details`` maps each field (camelCase) to what is wrong with it."""

    code = "validation"

    def __init__(self, fields: dict[str, str], *, message: str = "invalid input") -> None:
        super().__init__(message, details=fields)


class Ambiguous(UsageError):
    code = "ambiguous"


class NotFound(MovieCliError):
    exit_code = ExitCode.NOT_FOUND
    code = "not_found"


class AuthError(MovieCliError):
    exit_code = ExitCode.AUTH
    code = "auth"


class NotLoggedIn(AuthError):
    code = "not_logged_in"

    def __init__(self, message: str = "not logged in", *, hint: str | None = None) -> None:
        super().__init__(message, hint=hint or "run moviecli login")


class PermissionDenied(AuthError):
    code = "permission_denied"


class Conflict(MovieCliError):
    exit_code = ExitCode.CONFLICT
    code = "conflict"


class LimitReached(Conflict):
    code = "limit_reached"


class InvalidTransition(Conflict):
    code = "invalid_transition"


class StorageError(MovieCliError):
    exit_code = ExitCode.STORAGE
    code = "storage"


class ConfigError(StorageError):
    code = "config"
