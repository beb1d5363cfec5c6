"""Provider payloads → canonical events, one module per provider. No HTTP here: the routes verify signatures and
parse bodies, these modules only map (and are unit-tested with plain dictionaries)."""
