"""One exception tree, grouped by what the user can do about it, and the exit codes it maps to."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes; documented in the README, stable across releases."""

    OK = 0
    INTERNAL = 1  # a bug in genealogy: please report it
    USAGE = 2  # bad option or argument (click's own code)
    INCOMPLETE = 3  # output written, but some units failed (or were not found, with --strict)
    START_NOT_FOUND = 4  # the start serial number does not exist
    NO_API_KEY = 5  # no API key given
    KEY_REJECTED = 6  # the API answered 401
    FORBIDDEN = 7  # the API answered 403
    UNREACHABLE = 8  # the start unit could not be fetched (network, server errors, offline miss)
    FINDINGS = 9  # audit findings matched --fail-on
    OUTPUT_FAILED = 10  # the output could not be written (Graphviz missing, path not writable)
    DIFFERENCES = 11  # `diff --exit-code` found differences from the reference
    WRONG_BASE_URL = 12  # the base URL answers, but not as the TofuPilot API does
    DIAGRAM_TOO_LARGE = 13  # a diagram would be unreadable (or over Mermaid's limit): not written
    HANGUP = 129  # SIGHUP (the terminal closed); as Ctrl-C
    INTERRUPTED = 130  # Ctrl-C; what was crawled so far was still written
    TERMINATED = 143  # SIGTERM (a cancelled CI job, `timeout`); as Ctrl-C


class GenealogyError(Exception):
    """Base of every error genealogy reports to the user; carries its exit code."""

    exit_code: ExitCode = ExitCode.INTERNAL


class UsageError(GenealogyError, ValueError):
    """An argument the library cannot use: an unknown format, direction or option."""

    exit_code = ExitCode.USAGE


class AuthError(GenealogyError):
    """The API refused the key: no point in crawling further."""


class MissingApiKey(AuthError):
    exit_code = ExitCode.NO_API_KEY


class KeyRejected(AuthError):
    exit_code = ExitCode.KEY_REJECTED


class Forbidden(AuthError):
    exit_code = ExitCode.FORBIDDEN


class StartNotFound(GenealogyError):
    exit_code = ExitCode.START_NOT_FOUND


class NoGoldenSample(GenealogyError):
    """`diff --golden`: no unit of the part is marked as a golden sample (exit code 4, as a
    start unit that does not exist: there is nothing to compare with)."""

    exit_code = ExitCode.START_NOT_FOUND


class StartUnreachable(GenealogyError):
    exit_code = ExitCode.UNREACHABLE


class WrongBaseUrl(StartUnreachable):
    """The server at the base URL answered, but it is not the TofuPilot API (an HTML page, or
    no route for units): no serial number was looked up, so none is said to be unknown."""

    exit_code = ExitCode.WRONG_BASE_URL


class OutputError(GenealogyError):
    exit_code = ExitCode.OUTPUT_FAILED


class DiagramTooLarge(GenealogyError):
    """A diagram whose text would be too small to read, or a Mermaid source over Mermaid's
    size limit: refused before anything is written (`force=True` draws it anyway)."""

    exit_code = ExitCode.DIAGRAM_TOO_LARGE


KEY_HINT = "set TOFUPILOT_API_KEY or pass the key"
