"""Operator and developer commands the Makefile runs: smoke test, staff users, waiting for apt."""
