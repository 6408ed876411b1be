"""Keeping the API key out of every message: servers may echo it back, errors may carry it."""

from __future__ import annotations

from urllib.parse import quote

MASK = "***"


def secret_forms(api_key: str | None) -> tuple[str, ...]:
    """The key as it may show up in text: as sent, and percent-encoded; longest first."""
    if not api_key:
        return ()
    forms = {
        api_key,
        quote(api_key, safe=""),
        quote(api_key),
        repr(api_key)[1:-1],  # as quoted inside another object's repr
        repr(api_key.encode("utf-8", "backslashreplace"))[2:-1],
    }
    return tuple(sorted(forms, key=len, reverse=True))


def redact(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        text = text.replace(secret, MASK)
    return text
