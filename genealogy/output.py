"""Writing a rendered export to a file (atomically) or to stdout."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from genealogy.errors import OutputError


def encode(content: str | bytes) -> bytes:
    """UTF-8; a lone surrogate from the data becomes a `\\udxxx` escape instead of a crash."""
    return content if isinstance(content, bytes) else content.encode("utf-8", "backslashreplace")


def write(content: str | bytes, path: str) -> None:
    """Write to `path`, or to stdout for `-`. A file is replaced whole or not at all."""
    data = encode(content)
    if path == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp's 0600 is for secrets; this is not
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise OutputError(
            f"Cannot write {path}: {exc.strerror or exc}. Choose another -o path."
        ) from exc


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
