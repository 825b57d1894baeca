from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from casefile.config import Settings

from local_servers import LocalTSA, TestSite


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestSite]:
    served = TestSite(tmp_path_factory.mktemp("site"))
    yield served
    served.close()


@pytest.fixture(scope="session")
def tsa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalTSA]:
    authority = LocalTSA(tmp_path_factory.mktemp("tsa"))
    yield authority
    authority.close()


@pytest.fixture
def settings(settings: Settings, site: TestSite, tsa: LocalTSA) -> Settings:
    """Captures may reach the test site on loopback (and judge its chain against its own CA); one local TSA."""
    return settings.with_overrides(
        capture_allow_networks=("127.0.0.0/8", "::1/128"),
        capture_ca_file=site.ca_file,
        capture_timeout_seconds=30.0,
        tsa_urls=(tsa.url,),
        tsa_ca_file=tsa.root_file,
    )


def tool(name: str) -> str:
    """A console script installed beside the interpreter running the tests (wacz, …)."""
    import sys

    return str(Path(sys.executable).parent / name)
