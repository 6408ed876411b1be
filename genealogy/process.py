"""Whether genealogy runs as its own command or inside someone else's program.

The `genealogy` command owns its process, so it may change process-wide state for its own
speed (`genealogy.sources.quick_aiohttp`); a library must not. `command` is False unless the
command's entry point (`genealogy.cli.entry`) sets it, before anything else is imported.
"""

command = False
