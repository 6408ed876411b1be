"""JSON bound for a terminal: the same value, with no invisible, bidi or C1 character raw."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from genealogy.text import _UNSAFE, terminal_json
from tests.conftest import API_KEY
from tests.records import unit


@settings(max_examples=200, deadline=None)
@given(st.recursive(st.text(), lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner)))
@pytest.mark.slow
def test_terminal_json_is_the_same_value_with_nothing_unsafe(value: Any) -> None:
    text = json.dumps(value, ensure_ascii=False, indent=2)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return  # a lone surrogate: no JSON text carries one raw
    shown = terminal_json(text)
    assert json.loads(shown) == value
    assert not [c for c in shown if _UNSAFE.match(c) and c not in "\t\n\r"]


@pytest.mark.slow
def test_json_on_a_terminal_shows_escapes_and_in_a_pipe_stays_raw(make_server: Any) -> None:
    name = "BIDI-\u202eevil\u202c-\x85-\u00ad"
    server = make_server([unit("TOP", children=[name]), unit(name, parent="TOP")])
    command = [sys.executable, "-m", "genealogy", "export", "TOP", "-f", "json", "--no-cache"]
    environment = {**os.environ, "TOFUPILOT_URL": server.url, "TOFUPILOT_API_KEY": API_KEY}
    primary, secondary = pty.openpty()
    try:
        process = subprocess.run(command, env=environment, stdout=secondary, stderr=subprocess.PIPE)
        os.close(secondary)
        chunks = []
        while True:
            try:
                chunk = os.read(primary, 65536)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(primary)
    assert process.returncode == 0, process.stderr
    on_terminal = b"".join(chunks).decode("utf-8").replace("\r\n", "\n")
    assert "\u202e" not in on_terminal and "\\u202e" in on_terminal
    assert name in {n["id"] for n in json.loads(on_terminal)["nodes"]}
    piped = subprocess.run(command, env=environment, capture_output=True, text=True)
    assert "\u202e" in piped.stdout  # files and pipes get the data as it is
