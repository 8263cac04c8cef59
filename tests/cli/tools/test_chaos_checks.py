"""The chaos checks on fabricated node views: a lost tx, a divergent header and a stall are each
reported, and a healthy run reports nothing."""

from __future__ import annotations

from carbon_ticket.cli.tools.chaos_checks import (
    BlockRecord,
    CommittedTx,
    NodeView,
    Sample,
    check_all,
    find_divergent,
    find_lost,
    find_stalls,
    has_quorum,
)


def _hash(n: int) -> bytes:
    return n.to_bytes(32, "big")


def _view(name: str, height: int, txs: dict[bytes, tuple[int, bytes]] | None = None) -> NodeView:
    blocks = {h: BlockRecord(_hash(1000 + h), _hash(2000 + h)) for h in range(1, height + 1)}
    return NodeView(name, height, blocks, dict(txs or {}))


TX_A = CommittedTx(_hash(1), 3, b"receipt-a", "transfer")
TX_B = CommittedTx(_hash(2), 5, b"receipt-b", "retire")
HELD = {TX_A.tx_hash: (3, b"receipt-a"), TX_B.tx_hash: (5, b"receipt-b")}


def test_a_healthy_cluster_reports_nothing() -> None:
    views = [_view(f"node{i}", 6, HELD) for i in range(4)]
    samples = [Sample(t, 4, 4, t) for t in range(10)]
    report = check_all([TX_A, TX_B], views, samples, stall_limit_s=5.0, min_stall_s=1.0)
    assert report.ok
    assert (report.lost_count, report.divergent_heights, report.stalls_over_limit) == (0, 0, 0)


def test_a_tx_missing_from_one_node_is_lost() -> None:
    views = [_view(f"node{i}", 6, HELD) for i in range(3)]
    views.append(_view("node3", 6, {TX_A.tx_hash: HELD[TX_A.tx_hash]}))
    lost = find_lost([TX_A, TX_B], views)
    assert [(item.tx_hash, item.node, item.reason) for item in lost] == [
        (TX_B.tx_hash, "node3", "missing")
    ]
    report = check_all([TX_A, TX_B], views, [], stall_limit_s=5.0)
    assert report.lost_count == 1 and not report.ok


def test_a_different_receipt_or_height_is_lost_too() -> None:
    other_receipt = _view("node1", 6, {**HELD, TX_A.tx_hash: (3, b"receipt-other")})
    other_height = _view("node2", 6, {**HELD, TX_B.tx_hash: (4, b"receipt-b")})
    lost = find_lost([TX_A, TX_B], [_view("node0", 6, HELD), other_receipt, other_height])
    assert {(item.node, item.reason) for item in lost} == {
        ("node1", "different receipt"),
        ("node2", "at height 4 not 5"),
    }


def test_a_node_below_the_tx_height_is_lagging_not_losing() -> None:
    behind = _view("node3", 4, {TX_A.tx_hash: HELD[TX_A.tx_hash]})
    assert find_lost([TX_A, TX_B], [_view("node0", 6, HELD), behind]) == []


def test_a_divergent_header_is_reported_at_its_height() -> None:
    views = [_view(f"node{i}", 6) for i in range(4)]
    views[2].blocks[4] = BlockRecord(_hash(99), views[2].blocks[4].app_hash)
    views[3].blocks[5] = BlockRecord(views[3].blocks[5].block_hash, _hash(98))
    found = find_divergent(views)
    assert [(d.height, d.what) for d in found] == [(4, "block hash"), (5, "app hash")]
    assert found[0].values["node2"] == _hash(99).hex()
    assert found[0].values["node0"] == _hash(1004).hex()
    assert check_all([], views, [], stall_limit_s=5.0).divergent_heights == 2


def test_heights_only_one_node_holds_cannot_diverge() -> None:
    views = [_view("node0", 8), _view("node1", 5)]
    views[0].blocks[7] = BlockRecord(_hash(97), _hash(96))
    assert find_divergent(views) == []


def test_quorum_is_more_than_two_thirds() -> None:
    assert has_quorum(3, 4) and not has_quorum(2, 4)
    assert has_quorum(7, 10) and not has_quorum(2, 3)


def test_a_stall_with_a_quorum_up_is_reported() -> None:
    # Heights grow each second, then stand still at 5 from t=5 to t=20 with all four up.
    samples = [Sample(float(t), 4, 4, min(t, 5)) for t in range(0, 21)]
    samples.append(Sample(21.0, 4, 4, 6))
    stalls = find_stalls(samples, min_seconds=1.0)
    assert [(s.start, s.end, s.height) for s in stalls] == [(5.0, 21.0, 5)]
    report = check_all([], [], samples, stall_limit_s=10.0, min_stall_s=1.0)
    assert report.longest_stall_s == 16.0
    assert report.stalls_over_limit == 1 and not report.ok


def test_no_progress_without_a_quorum_is_not_a_stall() -> None:
    # Two of four down from t=3 to t=15: the chain may stand still; it grows once they are back.
    samples = [Sample(float(t), 4 if t < 3 or t >= 15 else 2, 4, min(t, 3) + max(0, t - 15))
               for t in range(0, 20)]  # fmt: skip
    stalls = find_stalls(samples, min_seconds=1.0)
    assert stalls == []
    assert check_all([], [], samples, stall_limit_s=5.0).ok


def test_a_stall_that_lasts_to_the_end_is_reported() -> None:
    samples = [Sample(float(t), 3, 4, 7) for t in range(0, 9)]
    stalls = find_stalls(samples, min_seconds=1.0)
    assert [(s.start, s.end) for s in stalls] == [(0.0, 8.0)]
