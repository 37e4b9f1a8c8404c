"""Shared fixtures: an isolated artefact cache per test session, real data when present."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session", autouse=True)
def isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Point $ZEROSHIFT_CACHE at a session temp folder so tests never touch the user's cache."""
    if "ZEROSHIFT_TEST_KEEP_CACHE" not in os.environ:
        os.environ["ZEROSHIFT_CACHE"] = str(tmp_path_factory.mktemp("zeroshift-cache"))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
