"""The main window's panels (Qt dock widgets): fleet board, routes, customer lookup, docking, outbox."""
