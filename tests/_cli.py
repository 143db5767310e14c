"""Running the real command line in-process from tests, asserting its exit code."""

from __future__ import annotations

import pytest

from chaintrail.cli import main


def run(capsys: pytest.CaptureFixture[str], *args: str, code: int = 0) -> str:
    """Run ``chaintrail ARGS``; stdout when it succeeds, stderr when ``code`` is not 0."""
    got = main(list(args))
    out, err = capsys.readouterr()
    assert got == code, f"exit {got} != {code}; stderr: {err}"
    return out if code == 0 else err
