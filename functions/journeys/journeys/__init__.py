"""Journeys: lifecycle journeys defined as code (``journeys/journey_definitions/*.yaml``), run per customer by
bus events and a due sweep, with surveys that close the loop and a holdout group per journey (``docs/journeys.md``)."""
