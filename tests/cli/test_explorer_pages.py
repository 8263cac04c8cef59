"""The explorer's block, transaction and account pages and its search box, against the
in-process devnet after ``carbon-ticket demo``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.cli.explorer_harness import DemoChain, fetch, running_explorer


@pytest.fixture(scope="module")
def url(demo_devnet: DemoChain) -> Iterator[str]:
    with running_explorer(demo_devnet.endpoint, demo_devnet.genesis()) as base:
        yield base


def test_a_validators_height_over_a_uint64_is_a_400_not_a_500(url: str) -> None:
    # 20 digits, but more than the request's uint64 holds: the message refused to be built.
    page = fetch(url + "/validators?height=99999999999999999999")
    assert page.status == 400 and "is not a block height" in page.text
