"""aiohttp imported without its default contexts loading the CA store, and only when that is
safe (genealogy/sources/quick_aiohttp.py). Each case imports in a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap


def imported(prelude: str = "") -> dict[str, object]:
    probe = textwrap.dedent(
        f"""
        import json, ssl, threading
        {prelude}
        import genealogy.sources.transport
        import aiohttp.connector as connector
        print(json.dumps({{
            "aiohttp_verified_cas": connector._SSL_CONTEXT_VERIFIED.cert_store_stats()["x509_ca"],
            "aiohttp_verifies": connector._SSL_CONTEXT_VERIFIED.verify_mode == ssl.CERT_REQUIRED,
            "default_cas": ssl.create_default_context().cert_store_stats()["x509_ca"],
            "loader_restored": "set_default_verify_paths" not in vars(ssl.SSLContext),
        }}))
        """
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    result: dict[str, object] = json.loads(done.stdout)
    return result


COMMAND = "import genealogy.process; genealogy.process.command = True"


def test_in_the_commands_own_process_aiohttps_unused_contexts_trust_nothing() -> None:
    found = imported(COMMAND)
    assert found["aiohttp_verified_cas"] == 0
    assert found["aiohttp_verifies"] is True  # fails closed if it were ever used
    assert isinstance(found["default_cas"], int) and found["default_cas"] > 0
    assert found["loader_restored"] is True


def test_with_another_thread_running_aiohttp_is_imported_as_it_is() -> None:
    found = imported(
        COMMAND
        + "; stop = threading.Event(); threading.Thread(target=stop.wait, daemon=True).start()"
    )
    assert found["aiohttp_verified_cas"] == found["default_cas"]
    assert isinstance(found["default_cas"], int) and found["default_cas"] > 0


def test_as_a_library_aiohttp_is_imported_as_it_is() -> None:
    """A program that imports genealogy may use aiohttp's default contexts itself."""
    found = imported()
    assert found["aiohttp_verified_cas"] == found["default_cas"]
    assert isinstance(found["default_cas"], int) and found["default_cas"] > 0


def test_the_console_script_marks_its_process_as_the_commands_own() -> None:
    probe = (
        "import sys; sys.argv = ['genealogy', '--version']; import genealogy.process as p; "
        "import genealogy.cli.entry; print(p.command)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.stdout.strip() == "True"
