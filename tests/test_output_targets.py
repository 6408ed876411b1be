"""`-o` into whatever the path names: devices, FIFOs, sockets and descriptors are written into
as they are; links are followed; a regular file is replaced whole, keeping its mode and owner;
a hard-linked file is refused; no temporary file survives a failure or an interrupt."""

from __future__ import annotations

import os
import socket
import stat
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from genealogy.errors import ExitCode, OutputError
from genealogy.output import write

CONTENT = '{"units": ["A\u00fc"]}\n'
DATA = CONTENT.encode()


def _system(path: object) -> bool:
    text = os.fsdecode(path) if isinstance(path, str | bytes | os.PathLike) else ""
    return any(
        candidate == root or candidate.startswith(root + "/")
        for candidate in (os.path.normpath(text), os.path.realpath(text))
        for root in ("/dev", "/proc")
    )


@pytest.fixture(autouse=True)
def never_replace_system_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests may run as root: a regression must fail them, not turn the machine's
    /dev/null or /dev/stdout into a regular file. No temporary file or rename under /dev."""
    real_mkstemp, real_replace = tempfile.mkstemp, os.replace

    def mkstemp(*args: Any, **kwargs: Any) -> tuple[int, str]:
        assert not _system(kwargs.get("dir")), f"temporary file in {kwargs.get('dir')}"
        return real_mkstemp(*args, **kwargs)

    def replace(source: Any, target: Any, **kwargs: Any) -> None:
        assert not _system(target), f"rename over {target}"
        real_replace(source, target, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    monkeypatch.setattr(os, "replace", replace)


def names(folder: Path) -> list[str]:
    """Every entry of `folder`, hidden temporary files included."""
    return sorted(entry.name for entry in folder.iterdir())


def in_thread(work: Callable[[], None]) -> threading.Thread:
    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


# --- written into as they are -------------------------------------------------------------------


def test_fifo_is_written_into_and_stays_a_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []

    def read() -> None:
        with open(fifo, "rb") as reader:
            received.append(reader.read())

    reader = in_thread(read)
    write(CONTENT, str(fifo))
    reader.join(10)
    assert received == [DATA]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert names(tmp_path) == ["pipe"]


def test_dev_null_stays_a_character_device() -> None:
    before = os.stat("/dev/null")
    write(CONTENT, "/dev/null")
    after = os.lstat("/dev/null")
    assert stat.S_ISCHR(after.st_mode)
    assert (after.st_ino, after.st_rdev) == (before.st_ino, before.st_rdev)


def test_unix_socket_is_sent_the_content(tmp_path: Path) -> None:
    path = tmp_path / "sock"
    received: list[bytes] = []
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(path))
        server.listen(1)
        server.settimeout(10)

        def serve() -> None:
            connection, _ = server.accept()
            with connection:
                received.append(b"".join(iter(lambda: connection.recv(65536), b"")))

        thread = in_thread(serve)
        write(CONTENT, str(path))
        thread.join(10)
    assert received == [DATA]
    assert stat.S_ISSOCK(os.lstat(path).st_mode)


def test_dev_stdout_is_stdout(capfd: pytest.CaptureFixture[str]) -> None:
    write(CONTENT, "/dev/stdout")
    write(CONTENT, "-")
    assert capfd.readouterr().out == CONTENT * 2
    assert os.path.islink("/dev/stdout")


def test_link_to_dev_stdout_writes_stdout(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    link = tmp_path / "out.json"
    link.symlink_to("/dev/stdout")
    write(CONTENT, str(link))
    assert capfd.readouterr().out == CONTENT
    assert os.readlink(link) == "/dev/stdout"


@pytest.mark.parametrize("prefix", ["/dev/fd", "/proc/self/fd"])
def test_descriptor_path_writes_the_open_descriptor(prefix: str) -> None:
    read_end, write_end = os.pipe()
    try:
        write(CONTENT, f"{prefix}/{write_end}")
        os.close(write_end)
        assert os.read(read_end, 1 << 16) == DATA
    finally:
        os.close(read_end)


@pytest.mark.parametrize("prefix", ["/dev/fd", "/proc/self/fd"])
def test_descriptor_opened_for_appending_is_appended_to(tmp_path: Path, prefix: str) -> None:
    """`genealogy export -o /dev/fd/3 3>>log`: the log keeps what it held."""
    log = tmp_path / "log"
    log.write_bytes(b"earlier line\n")
    descriptor = os.open(log, os.O_WRONLY | os.O_APPEND)
    try:
        write(CONTENT, f"{prefix}/{descriptor}")
        write(CONTENT, f"{prefix}/{descriptor}")
    finally:
        os.close(descriptor)
    assert log.read_bytes() == b"earlier line\n" + DATA * 2
    assert names(tmp_path) == ["log"]


def test_closed_descriptor_is_an_output_error() -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)
    os.close(write_end)
    with pytest.raises(OutputError, match="Bad file descriptor"):
        write(CONTENT, f"/dev/fd/{write_end}")


# --- links ------------------------------------------------------------------------------------


def test_symlink_is_followed_and_stays_a_link(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "links").mkdir()
    target = tmp_path / "real" / "target.json"
    target.write_text("old")
    link = tmp_path / "links" / "out.json"
    link.symlink_to("../real/target.json")
    write(CONTENT, str(link))
    assert os.readlink(link) == "../real/target.json"
    assert target.read_bytes() == DATA
    assert names(tmp_path / "real") == ["target.json"]
    assert names(tmp_path / "links") == ["out.json"]


def test_dangling_symlink_creates_its_target(tmp_path: Path) -> None:
    link = tmp_path / "out.json"
    link.symlink_to("made.json")
    write(CONTENT, str(link))
    assert link.is_symlink()
    assert (tmp_path / "made.json").read_bytes() == DATA


def test_symlink_loop_is_an_output_error(tmp_path: Path) -> None:
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    with pytest.raises(OutputError, match="symbolic links"):
        write(CONTENT, str(tmp_path / "a"))


def test_hard_linked_file_is_refused_and_left_intact(tmp_path: Path) -> None:
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    first.write_text("old")
    os.link(first, second)
    with pytest.raises(OutputError, match="other hard link") as caught:
        write(CONTENT, str(first))
    assert "Write elsewhere, or remove the other links" in str(caught.value)
    assert caught.value.exit_code is ExitCode.OUTPUT_FAILED
    assert first.read_text() == second.read_text() == "old"
    assert os.stat(first).st_ino == os.stat(second).st_ino
    assert names(tmp_path) == ["first.json", "second.json"]


# --- regular files ------------------------------------------------------------------------------


def test_existing_file_is_replaced_keeping_its_mode(tmp_path: Path) -> None:
    target = tmp_path / "secret.json"
    target.write_text("old")
    target.chmod(0o600)
    before = os.stat(target).st_ino
    write(CONTENT, str(target))
    assert target.read_bytes() == DATA
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    assert os.stat(target).st_ino != before  # replaced whole, not rewritten in place
    assert names(tmp_path) == ["secret.json"]


def test_set_id_bits_are_dropped(tmp_path: Path) -> None:
    target = tmp_path / "tool"
    target.write_text("old")
    target.chmod(0o6750)
    write(CONTENT, str(target))
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o750


def test_new_file_mode_follows_the_umask(tmp_path: Path) -> None:
    previous = os.umask(0o027)
    try:
        write(CONTENT, str(tmp_path / "new.json"))
    finally:
        os.umask(previous)
    assert stat.S_IMODE(os.stat(tmp_path / "new.json").st_mode) == 0o640


@pytest.mark.skipif(os.geteuid() != 0, reason="only root may give a file to another user")
def test_owner_is_kept_when_root(tmp_path: Path) -> None:
    target = tmp_path / "theirs.json"
    target.write_text("old")
    os.chown(target, 4321, 4322)
    write(CONTENT, str(target))
    assert (os.stat(target).st_uid, os.stat(target).st_gid) == (4321, 4322)


def test_missing_parent_folders_are_created(tmp_path: Path) -> None:
    write(CONTENT, str(tmp_path / "a" / "b" / "out.json"))
    assert (tmp_path / "a" / "b" / "out.json").read_bytes() == DATA


def test_path_under_a_regular_file_is_an_output_error(tmp_path: Path) -> None:
    """Fails for root too, unlike a read-only folder."""
    (tmp_path / "file").write_text("data")
    with pytest.raises(OutputError, match=r"Cannot write .*file/x\.json: Not a directory"):
        write(CONTENT, str(tmp_path / "file" / "x.json"))
    assert (tmp_path / "file").read_text() == "data"


def test_read_only_folder_is_an_output_error(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("this user (root) may write into a read-only folder")
        with pytest.raises(OutputError, match="its folder must be writable"):
            write(CONTENT, str(folder / "x.json"))
        assert names(folder) == []
    finally:
        folder.chmod(0o755)


def test_folder_as_target_is_an_output_error(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="Is a directory"):
        write(CONTENT, str(tmp_path))


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt, SystemExit])
def test_interrupted_replace_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, interrupt: type[BaseException]
) -> None:
    target = tmp_path / "out.json"
    target.write_text("old")

    def interrupted(*args: Any, **kwargs: Any) -> None:
        raise interrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(interrupt):
        write(CONTENT, str(target))
    assert names(tmp_path) == ["out.json"]
    assert target.read_text() == "old"


def test_failed_write_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The content reaches the disk at fsync: that is where a full disk or an I/O error shows."""

    def full(*args: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OutputError, match="No space left on device"):
        write(CONTENT, str(tmp_path / "out.json"))
    assert names(tmp_path) == []


def test_folder_refusing_new_files_is_explained(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a read-only folder gives any user but root (EACCES from creating the file)."""

    def denied(*args: Any, **kwargs: Any) -> tuple[int, str]:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", denied)
    with pytest.raises(OutputError, match=r"Permission denied\); .* its folder must be writable"):
        write(CONTENT, str(tmp_path / "x.json"))
