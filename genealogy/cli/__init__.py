"""The `genealogy` command line: options in, the library does the work, an exit code out.

Commands import the library when they run, never at start-up: `genealogy --help` must not pay
for aiohttp, pydantic and networkx (0.9 s on the 2-core machine when it did).
"""

from genealogy.cli import audit, diff, local, trace, where_used  # register their commands
from genealogy.cli.commands import main

__all__ = ["audit", "diff", "local", "main", "trace", "where_used"]
