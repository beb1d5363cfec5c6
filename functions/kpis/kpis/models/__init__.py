"""Pydantic models of the KPI API and its inputs."""
