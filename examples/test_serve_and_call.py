"""The serving example, run as a test: the SDK gets answers, then a 401 after the revoke.

Run: .venv/bin/python -m pytest examples/test_serve_and_call.py
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).with_name("serve_and_call.py")


@pytest.mark.integration
def test_the_sdk_is_served_until_the_key_is_revoked() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=120, check=True
    )
    answer, streamed, revoked = done.stdout.splitlines()
    assert answer.startswith("answer: '")
    assert answer != "answer: ''"
    assert streamed.startswith("streamed in ")
    assert revoked.startswith("after revoke: 401")
    assert "revoked_api_key" in revoked
