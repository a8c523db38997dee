"""Stand-ins for the world outside: simulated vans and their GPS units, data loggers, a delivery day, the demo
fleet and a demo tracking endpoint. Used by the demo, the tests and the benchmarks; never by the core."""
