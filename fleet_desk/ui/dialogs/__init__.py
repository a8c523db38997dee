"""The window's dialogs: import a log or a manifest, settings, GPS units, register a unit, the crash report."""
