"""The fleet as a dispatcher sees it: each vehicle's state (`vehicles`) and the watch that reads what changed
(`watch`)."""
