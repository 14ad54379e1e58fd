"""The application's version: the one place it is written (pyproject.toml reads it from here).

It lives in the core because the core's file writers stamp it into the files they write.
"""
__version__ = "0.1.0"
