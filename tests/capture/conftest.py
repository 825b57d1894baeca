from __future__ import annotations

import pytest

from casefile.config import Settings


@pytest.fixture
def settings(capture_settings: Settings) -> Settings:
    return capture_settings
