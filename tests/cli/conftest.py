"""A one-validator devnet shared by the CLI test modules that only read it or add to it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from carbon_ticket.cli.tools.devnet import DevnetInfo
from tests.cli.explorer_harness import DemoChain, demo_chain
from tests.cli.harness import reserved_address, running_devnet

# Package scope, not session: each node makes a block every 200 ms in this process, so kept for
# the session they went on through every test after tests/cli (about 4 % slower), and their
# fsyncs were counted by tests that record fsyncs (tests/node/test_backup.py).


@pytest.fixture(scope="package")
def shared_devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevnetInfo]:
    """A running devnet; tests using it create their own accounts and ids."""
    with running_devnet(tmp_path_factory.mktemp("shared") / "devnet") as (info, _node):
        yield info


@pytest.fixture(scope="package")
def demo_devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoChain]:
    """A running devnet after ``carbon-ticket demo``: the explorer's tests read it."""
    with demo_chain(tmp_path_factory.mktemp("demo") / "devnet") as chain:
        yield chain


@pytest.fixture
def dead_address() -> Iterator[str]:
    """An address on 127.0.0.1 where nothing listens, for the whole test (see reserved_address)."""
    with reserved_address() as address:
        yield address
