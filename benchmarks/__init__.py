"""Benchmarks: one command per scenario, each printing a table and writing a JSON result."""
