"""History import (``make import FILE=...``): past events through capture's ``/v1/import``; see ``importer``."""
