"""The retailer's journey definitions: one YAML file per journey version, shipped as the JourneyDefinitionsLayer
(``/opt/python/journey_definitions`` on Lambda). See ``journeys/README.md`` and ``docs/journeys.md``."""
