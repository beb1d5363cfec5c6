"""The journeys function's entry points, named for what triggers them: ``bus_batch`` (bus events),
``schedule_waits`` (the minute schedule), ``api`` (staff HTTP API) and ``survey_link`` (one-click answers)."""
