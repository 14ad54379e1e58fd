"""Shared test helpers live beside this file (tests/ is on sys.path for every test)."""
