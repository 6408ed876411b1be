"""The console script's exit: the command's exit code, everything written, exit handlers run,
and no interpreter teardown (genealogy/cli/entry.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest


def script(body: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(body)]


@pytest.mark.parametrize(("status", "code"), [(None, 0), (0, 0), (3, 3), (13, 13), (-1, 255)])
def test_the_exit_code_is_the_commands(status: int | None, code: int) -> None:
    done = subprocess.run(script(f"from genealogy.cli.entry import end; end({status})"))
    assert done.returncode == code


def test_a_message_goes_to_stderr_with_status_1() -> None:
    done = subprocess.run(
        script("from genealogy.cli.entry import end; end('cannot go on')"),
        capture_output=True,
        text=True,
    )
    assert (done.returncode, done.stderr) == (1, "cannot go on\n")


def test_buffered_output_and_exit_handlers_are_not_lost(tmp_path: Path) -> None:
    marker = tmp_path / "handler-ran"
    done = subprocess.run(
        script(
            f"""
            import atexit, logging, sys
            from genealogy.cli.entry import end
            atexit.register(lambda: open({str(marker)!r}, "w").write("yes"))
            sys.stdout.write("x" * 1_000_000)  # more than any buffer holds
            logging.getLogger("t").addHandler(logging.StreamHandler(sys.stderr))
            logging.getLogger("t").warning("said")
            end(0)
            """
        ),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0
    assert len(done.stdout) == 1_000_000
    assert done.stderr == "said\n"
    assert marker.read_text() == "yes"


def test_stdout_closed_by_the_reader_is_reported_as_python_does() -> None:
    # The child writes only once its stdin ends, which the test closes after closing the
    # child's stdout: the reader has closed the pipe by then, however busy the machine (a
    # 0.3 s sleep in the child assumed the test got to close it within that time).
    command = script(
        """
        import sys
        from genealogy.cli.entry import end
        sys.stdin.read()  # until the reader has closed the pipe
        sys.stdout.write("x" * 100)
        end(0)
        """
    )
    buffered = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    with subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=buffered,
    ) as child:
        assert child.stdin is not None and child.stdout is not None
        child.stdout.close()
        child.stdin.close()
        assert child.wait(10) == 120


def test_the_console_script_and_python_m_exit_with_the_commands_code() -> None:
    genealogy = Path(sys.executable).with_name("genealogy")
    for command in ([str(genealogy)], [sys.executable, "-m", "genealogy"]):
        assert subprocess.run([*command, "--version"], capture_output=True).returncode == 0
        bad = subprocess.run([*command, "--no-such-option"], capture_output=True, text=True)
        assert bad.returncode == 2
        assert "No such option" in bad.stderr


def test_a_command_started_with_stdout_or_stderr_closed_still_exits_with_its_code() -> None:
    genealogy = Path(sys.executable).with_name("genealogy")
    for descriptor in (1, 2):
        done = subprocess.run(
            [str(genealogy), "--version"],
            preexec_fn=lambda descriptor=descriptor: os.close(descriptor),  # type: ignore[misc]
            capture_output=False,
        )
        assert done.returncode == 0, descriptor


def test_importing_the_main_module_runs_nothing() -> None:
    """Tools that import every submodule (documentation generators) must not be ended."""
    done = subprocess.run(
        script("import genealogy.__main__; print('still here')"), capture_output=True, text=True
    )
    assert (done.returncode, done.stdout) == (0, "still here\n")


def test_the_command_does_not_import_httpxs_command_line() -> None:
    """httpx's `main` needs click, pygments and rich: with them installed it imports them all
    (pygments is, with the tests), though the command never calls it. httpx still works."""
    done = subprocess.run(
        script(
            """
            import sys
            import genealogy.cli.entry
            import httpx
            print(sys.modules.get("httpx._main"), "pygments" in sys.modules, callable(httpx.main))
            print(httpx.URL("http://127.0.0.1/v2/units/A").path)
            """
        ),
        capture_output=True,
        text=True,
    )
    assert done.stdout.split("\n")[:2] == ["None False True", "/v2/units/A"], done.stderr
