"""The desktop app: the main window, its panels (`panels`), dialogs (`dialogs`), item models (`models`) and map.

Everything under here observes the core (the `fleet_desk.depot.Depot` it is
handed, the fleet watch, live units) through signals and owns no business rule.
"""
