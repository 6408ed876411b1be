"""aiohttp, imported without loading the system's CA store twice.

When its connector module is imported, aiohttp (3.10 and later) builds two default TLS
contexts, verified and unverified, each loading every certificate of the system's CA store:
90 ms of every crawling command's start-up on the 2-core machine. genealogy never uses them:
`HttpSource` gives aiohttp its own context for an https:// base URL, and an http:// one needs
none (redirects are not followed).

So the `genealogy` command imports it with those contexts built without the CA store: the
verified one would then trust no certificate, failing closed if anything ever used it (the
unverified one checks none, by design, either way). Only the command does this
(`genealogy.process.command`), and only while the importing thread is the process's only
thread, as the change to `ssl` is process-wide for the duration of the import. A program that
uses genealogy as a library may use aiohttp's defaults itself: there aiohttp is imported as it
is.
"""

from __future__ import annotations

import contextlib
import ssl
import sys
import threading
from collections.abc import Iterator
from typing import Any

from genealogy import process


@contextlib.contextmanager
def _without_ca_store() -> Iterator[None]:
    """While it lasts, default TLS contexts are made without loading the CA store."""
    create = ssl.create_default_context
    own = vars(ssl.SSLContext).get("set_default_verify_paths")  # else inherited from C

    def bare(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies, against no CA at all

    def skip(self: ssl.SSLContext) -> None:
        return None

    ssl.create_default_context = bare
    ssl.SSLContext.set_default_verify_paths = skip  # type: ignore[method-assign]
    try:
        yield
    finally:
        ssl.create_default_context = create
        if own is None:
            del ssl.SSLContext.set_default_verify_paths
        else:
            ssl.SSLContext.set_default_verify_paths = own  # type: ignore[method-assign]


_quick = process.command and "aiohttp" not in sys.modules and threading.active_count() == 1
with _without_ca_store() if _quick else contextlib.nullcontext():
    import aiohttp

__all__ = ["aiohttp"]
