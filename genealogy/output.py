"""Writing a rendered export to a file, a device, a pipe or stdout, as a careful Unix tool does.

* `-`, `/dev/stdout`, `/dev/stderr`, `/dev/fd/N` and `/proc/self/fd/N` write to that open
  descriptor (at its offset, with its flags: a `>>` log is appended to, never truncated);
* a character device (`/dev/null`, a terminal), a FIFO or a Unix socket is written into as it
  is: a temporary file renamed over it would leave a regular file in its place;
* a symbolic link is followed, and its target written as below: the link stays a link;
* a regular file is replaced whole or not at all (a temporary file next to it, synced, then
  renamed over it), keeping its permission bits and, where allowed, its owner and group. A file
  with other hard links is refused: the rename would detach it from them, silently;
* a missing parent folder is created.
"""

from __future__ import annotations

import os
import re
import socket
import stat
import sys
import tempfile
from pathlib import Path

from genealogy.errors import OutputError
from genealogy.text import printable

_DESCRIPTOR = re.compile(
    r"/dev/std(?P<std>in|out|err)|/(?:dev|proc/self|proc/thread-self)/fd/(?P<fd>\d+)"
)
_STD = {"in": 0, "out": 1, "err": 2}
_MAX_LINKS = 40
"""Symbolic links followed before giving up, as Linux does (ELOOP)."""


def encode(content: str | bytes) -> bytes:
    """UTF-8; a lone surrogate from the data becomes a `\\udxxx` escape instead of a crash."""
    return content if isinstance(content, bytes) else content.encode("utf-8", "backslashreplace")


def write(content: str | bytes, path: str) -> None:
    """Write to `path` (see the module docstring); `-` is stdout."""
    data = encode(content)
    descriptor = 1 if path == "-" else _descriptor(path)
    if descriptor == 1:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    try:
        if descriptor is not None:
            _write_descriptor(descriptor, data)
            return
        existing = _stat(path)
        if existing is None or stat.S_ISREG(existing.st_mode):
            _replace(path, Path(os.path.realpath(path)), data, existing)
        elif stat.S_ISSOCK(existing.st_mode):
            _send(path, data)
        else:
            _write_in_place(path, data)
    except OSError as exc:
        raise OutputError(
            f"Cannot write {printable(path)}: {exc.strerror or exc}. Choose another output path."
        ) from exc


def _descriptor(path: str) -> int | None:
    """The descriptor `path` names, following symbolic links to it (`out -> /dev/stdout`).

    Reopening such a path would start a new file description: at offset 0, and truncating a
    regular file that the shell opened for appending.
    """
    for _ in range(_MAX_LINKS):
        match = _DESCRIPTOR.fullmatch(os.path.normpath(path))
        if match:
            return _STD[match["std"]] if match["std"] else int(match["fd"])
        try:
            path = os.path.join(os.path.dirname(path), os.readlink(path))
        except OSError:  # not a link (or gone): what is there, os.stat tells
            return None
    return None  # a loop: os.stat reports it


def _write_descriptor(descriptor: int, data: bytes) -> None:
    """All of `data` to an open descriptor, after what Python still buffers for stdout/stderr."""
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    _write_all(descriptor, data)


def _stat(path: str) -> os.stat_result | None:
    """What `path` (its links followed) is now; None if nothing is there yet."""
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None


def _write_in_place(path: str, data: bytes) -> None:
    """Into a device or FIFO as it is: opened without creating or truncating anything."""
    descriptor = os.open(path, os.O_WRONLY | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        _write_all(descriptor, data)
    finally:
        os.close(descriptor)


def _send(path: str, data: bytes) -> None:
    """Into a Unix stream socket, the way `nc -U` would: the only way to write into one."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as peer:
        peer.connect(path)
        peer.sendall(data)


def _write_all(descriptor: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(descriptor, view) :]


def _replace(path: str, target: Path, data: bytes, existing: os.stat_result | None) -> None:
    """`target` replaced atomically by a file holding `data`, with `existing`'s mode and owner."""
    if existing is not None and existing.st_nlink > 1:
        raise OutputError(
            f"Cannot write {printable(path)}: the file has {existing.st_nlink - 1} other hard "
            "link(s), and replacing it would detach them (they would keep the old content). "
            "Write elsewhere, or remove the other links first."
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor, tmp = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
        )
    except OSError as exc:
        raise OutputError(
            f"Cannot write {printable(path)}: cannot create a file in "
            f"{printable(str(target.parent))} ({exc.strerror or exc}); the file is replaced via "
            "a temporary file next to it, so its folder must be writable: choose another path."
        ) from exc
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            _take_over(file.fileno(), existing)
            os.fsync(file.fileno())  # the rename must never expose an empty file after a crash
        os.replace(tmp, target)
    except BaseException:  # Ctrl-C or a signal handler's SystemExit included
        Path(tmp).unlink(missing_ok=True)
        raise


def _take_over(descriptor: int, existing: os.stat_result | None) -> None:
    """Give the new file the owner and permission bits of the one it replaces.

    A new file gets 0666 less the umask (mkstemp's 0600 is for secrets; an export is not).
    Set-user/group-ID bits are dropped, as the kernel drops them when a file is written.
    """
    if existing is None:
        os.fchmod(descriptor, 0o666 & ~_umask())
        return
    for uid, gid in ((existing.st_uid, existing.st_gid), (-1, existing.st_gid)):
        try:
            os.fchown(descriptor, uid, gid)  # root may; others only to a group of theirs
            break
        except PermissionError:
            continue
    os.fchmod(descriptor, stat.S_IMODE(existing.st_mode) & ~(stat.S_ISUID | stat.S_ISGID))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
