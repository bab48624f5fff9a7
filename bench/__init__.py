"""The benchmark (`python -m bench`): the real bot process, signed requests, figures and ratios."""

import sys
from pathlib import Path

# The Slack stand-in, the signed-request driver and the bot launcher live in tests/ (one copy);
# they import each other as top-level modules, as pytest's `pythonpath = tests` has them.
_TESTS = str(Path(__file__).resolve().parents[1] / "tests")
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)
