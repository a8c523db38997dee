"""The live map: the Leaflet page (`page`) and the view that loads it once and pushes batched state (`view`)."""
