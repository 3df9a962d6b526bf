"""The app shell's shared helpers, importable by every app of the project.

common sits under every app (the ledger included) and imports none of them: the
layering test (tests/test_app_layering.py) holds it to that.
"""
