"""The KPI domain: no event, HTTP or boto3 in sight."""
