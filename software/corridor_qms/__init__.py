"""Corridor's quality tooling: records, trace checks and audit documents.

This is not device software.  It reads the device's metadata and the project's
records (requirements, hazards, risk controls, SOUP, verification scenarios) and
checks and renders the links between them.
"""

__all__: list[str] = []
