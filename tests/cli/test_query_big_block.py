"""The wallet reads replies as large as a node sends (its [api] max_message_bytes, 64 MiB by
default), not only gRPC's default 4 MiB.

Reproduction: `carbon-ticket query block H` of a block over 4 MiB (thousands of transactions
with their receipts) failed with RESOURCE_EXHAUSTED ("received message larger than max"), though
the node had sent it; the explorer had the same limit until it raised it.
"""

from __future__ import annotations

import json

from click.testing import CliRunner

from carbon_ticket.cli.main import cli
from tests.cli.huge_block import HugeBlockNode, serving


def test_query_block_reads_a_block_over_four_mib() -> None:
    node = HugeBlockNode()
    with serving(node) as address:
        result = CliRunner().invoke(cli, ["query", "block", "7", "--node", address, "-o", "json"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["header"]["height"] == 7
    assert len(shown["receipts"]) == len(node.block.receipts) == 6000
