"""The ``fleet-desk`` command line: a thin layer over the same core as the app, one module per command group.

`main` (in `entry`) builds the parser from each group's ``add_...`` functions and runs the command; each
command builds what it needs (the bare database, or the one `fleet_desk.depot.Depot`) when it runs, so
``--help`` stays quick.
"""

from fleet_desk.cli.entry import main

__all__ = ["main"]
