"""A one-validator devnet shared by the CLI test modules that only read it or add to it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from carbon_ticket.cli.tools.devnet import DevnetInfo
from tests.cli.harness import running_devnet


@pytest.fixture(scope="session")
def shared_devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevnetInfo]:
    """A running devnet; tests using it create their own accounts and ids."""
    with running_devnet(tmp_path_factory.mktemp("shared") / "devnet") as (info, _node):
        yield info
