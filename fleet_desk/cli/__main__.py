"""``python -m fleet_desk.cli``: the same as the ``fleet-desk`` command."""

import sys

from fleet_desk.cli import main

sys.exit(main())
