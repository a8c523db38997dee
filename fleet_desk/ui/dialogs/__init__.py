"""The window's dialogs: import a log or a manifest, export positions, settings, GPS units, register a unit, the
outbox monitor, the crash report."""
