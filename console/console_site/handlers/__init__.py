"""Entry points of the console function (site: the static files on GET /console)."""
