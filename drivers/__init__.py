"""GPS unit drivers: one module per unit family, bytes in, no Qt, no database.

Every family offers the same small interface (`drivers.base.UnitDriver`):
open a port, identify the unit, stream live bytes, download a stored log.
"""
