"""Make the shared layer and the function folders importable, as on Lambda (/opt/python and /var/task)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The layers (shared code; the journey definitions, as /opt/python holds them on Lambda), the functions, the root.
LAYERS = (ROOT / "shared", ROOT / "journeys")
for folder in (*LAYERS, *sorted(path for path in (ROOT / "functions").iterdir() if path.is_dir()), ROOT):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-1")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Omnichannel")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
# botocore routes DynamoDB Streams calls to account-id endpoints, which moto does not know.
os.environ.setdefault("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")
