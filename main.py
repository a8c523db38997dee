"""Fleet Desk entry point: ``python main.py`` is the same as ``fleet-desk``."""

import sys

from fleet_desk.cli import main

if __name__ == "__main__":
    sys.exit(main())
