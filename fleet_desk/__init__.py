"""Fleet Desk: desktop fleet and driver operations for delivery depots."""

__version__ = "0.1.0"
