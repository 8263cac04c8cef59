"""Fixtures shared by the real-process node tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.node.network import Network


@contextmanager
def _running_network(tmp: Path) -> Iterator[Network]:
    network = Network(tmp, validators=4)
    try:
        network.start()
        network.wait_until("all nodes answer", lambda: min(map(network.height, range(4))) >= 1)
        yield network
    finally:
        network.close()


@pytest.fixture
def net(tmp_path: Path) -> Iterator[Network]:
    """Four validator processes on 127.0.0.1, each answering at height >= 1; stopped after."""
    with _running_network(tmp_path) as network:
        yield network


@pytest.fixture(scope="module")
def module_net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    """Like ``net``, but one network for the tests of a module that may share it: each leaves
    all four nodes running and agreeing, and checks only what it did itself (its own accounts,
    log lines no other test of the module causes). At most one of them may call
    ``Network.workload``: its setup transactions start at the registrar's nonce 0, so a second
    one is refused. Starting and stopping four nodes costs about 10 s of a loaded 2-core host
    per test that does not need a fresh chain."""
    with _running_network(tmp_path_factory.mktemp("module_net")) as network:
        yield network
