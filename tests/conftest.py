from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.server import LocalServer

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("PLEDGEWATCH_SHARED", ROOT.parent / "shared"))


def shared_path(*parts: str) -> Path:
    """A path under ../shared; skips the test (or fails, in CI) where it is absent."""
    p = SHARED.joinpath(*parts)
    if not p.exists():
        if os.environ.get("PLEDGEWATCH_REQUIRE_SHARED") == "1":
            pytest.fail(f"{p} is required (PLEDGEWATCH_REQUIRE_SHARED=1) but absent")
        pytest.skip(f"{p} is absent: these tests read ../shared (publishers' text is not copied into the repo)")
    return p


@pytest.fixture
def http_server():
    """A real HTTP server on 127.0.0.1 (see tests/server.py)."""
    with LocalServer() as srv:
        yield srv
