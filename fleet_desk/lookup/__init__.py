"""Customer service lookup: find an order from whatever the caller gives, and say where it is in plain words.

Plain Python, no Qt: the CLI (`fleet-desk lookup`), the app's Lookup window
and the benchmark call the same functions.
"""
