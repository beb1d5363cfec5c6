"""The journeys domain: definitions in force, the engine, contact rules, surveys, lift (no boto3, no HTTP)."""
