"""The main window's panels (Qt dock widgets): fleet board, routes, customer lookup, docking a unit.

Each gets what it needs, typed (the `Depot` or its parts), and reports through
signals; the item models behind their tables are in `fleet_desk.ui.models`.
"""
