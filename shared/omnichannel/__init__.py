"""Code two or more functions share: the event contract, identifier normalisation, the bus publisher,
DynamoDB helpers, auth and observability. On Lambda this folder is the shared layer (/opt/python)."""
