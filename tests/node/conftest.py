"""Fixtures shared by the real-process node tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.node.network import Network


@pytest.fixture
def net(tmp_path: Path) -> Iterator[Network]:
    """Four validator processes on 127.0.0.1, each answering at height >= 1; stopped after."""
    network = Network(tmp_path, validators=4)
    try:
        network.start()
        network.wait_until("all nodes answer", lambda: min(map(network.height, range(4))) >= 1)
        yield network
    finally:
        network.close()
