"""Persistence: JourneysTable (DynamoDB, and an in-memory twin), the profiles table (read-only), the definition
files and the survey-link key."""
