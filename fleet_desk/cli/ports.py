"""``ports``: the serial ports this computer has, with the USB details that recognise a unit."""

from __future__ import annotations

import argparse

from fleet_desk.cli.options import Commands


def add_ports(commands: Commands) -> None:
    """The `ports` command: serial ports with their USB details."""
    commands.add("ports", cmd_ports, database=False, help="list serial ports with USB details")


def cmd_ports(_args: argparse.Namespace) -> int:
    """List the serial ports this machine has; returns the exit code."""
    from drivers.base import list_ports

    ports = list_ports()
    if not ports:
        print("no serial ports found")
    for p in ports:
        usb = f"USB {p.vid_pid}" if p.vid_pid else "no USB details"
        serial_no = f" serial {p.serial_number}" if p.serial_number else ""
        print(f"{p.device}\t{usb}{serial_no}\t{p.description}")
    return 0
