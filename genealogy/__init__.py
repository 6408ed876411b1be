"""genealogy: crawl a TofuPilot unit's assembly tree into a networkx graph and export it."""

__version__ = "0.1.0"
