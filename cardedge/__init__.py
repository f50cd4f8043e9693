"""The card edge: APDU and BER-TLV, the PIV client, the PIV card emulator, card transports
(emulated, PC/SC) and the vpcd bridge. Plain Python: nothing here imports Django or an app
(import-linter contract in pyproject.toml, tests/cardedge/test_no_django.py)."""
