"""Event capture: every touchpoint lands as one validated, de-duplicated, canonical event on the bus."""
