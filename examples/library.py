"""genealogy as a library: the public API only, against the bundled demo server.

Run it with `.venv/bin/python examples/library.py`; CI runs it too. With your own account,
drop `local_server` and set TOFUPILOT_API_KEY (and TOFUPILOT_URL when self-hosted).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import genealogy


def main() -> None:
    with genealogy.local_server() as server:  # 127.0.0.1, the demo factory
        os.environ["TOFUPILOT_URL"] = server.url
        os.environ["TOFUPILOT_API_KEY"] = server.api_key
        graph = genealogy.crawl("cell-21700-c-0142")  # serials match in any case
        compared = genealogy.diff("ESS-R48-0007", golden=True)  # built like its golden sample?

    print(f"{graph.number_of_nodes()} units around {graph.graph['start']}")

    # Job 2: which products contain this failed cell?
    found = genealogy.trace(graph, "CELL-21700-C-0142")
    for path in found.paths:
        print("  in " + " -> ".join(path.serials[1:]))

    # Job 3: audit findings, worst first, as data
    report = genealogy.audit(graph)
    errors = [f for f in report.findings if f.severity == "error"]
    print(f"{len(report.findings)} findings, {len(errors)} errors:")
    for finding in errors:
        print(f"  {finding.code}: {finding.message}")

    # Built like the reference? What differs, and where
    print(f"Differences from {compared.reference.serial_number}: {len(compared.differences)}")
    for difference in compared.differences:
        where = " > ".join(str(part) for part in difference.path)
        print(f"  {difference.kind} {difference.part_number} at {where}: {difference.serials}")

    # Job 1: diagrams and data files
    with tempfile.TemporaryDirectory() as folder:
        for name in ("rack.json", "rack.html", "rack.dot"):
            genealogy.write(graph, Path(folder) / name)
        reloaded = genealogy.load(Path(folder) / "rack.json")
        assert sorted(reloaded) == sorted(graph)
    print(genealogy.render(graph, "text", depth=1, charset="ascii"), end="")
    print(genealogy.summary(graph).to_dict()["by_outcome"])


if __name__ == "__main__":
    main()
