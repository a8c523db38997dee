"""Road maps: OpenStreetMap extracts built into OSRM routing graphs, and the one ETAs on this installation use.

Plain Python, no Qt. `build.build_road_map` imports an extract, `library`
says which map is in use, and `osrm_map.OsrmRoadMap` answers the tracker's
`fleet_desk.tracking.roads.RoadMap` questions on it.
"""
