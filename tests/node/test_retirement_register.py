"""The public retirement register: indexes written at commit, queried by field, height and page.

Runs on the in-memory and the LevelDB store (whose reverse iterator once dropped a range holding
a single key equal to its start: the ``to height`` and ``one height`` rows).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from carbon_ticket.chain import BlockContext, apply_block, check_tx, init_chain
from carbon_ticket.chain.block import build_block
from carbon_ticket.chain.kvstore import RetirementQuery
from carbon_ticket.chain.store import BlockStore, MemoryStore
from carbon_ticket.chain.tx import encode_tx
from carbon_ticket.node.store import LevelDBStore
from tests.chain.conftest import (
    BATCH_ID,
    CHAIN_ID,
    COMPANY,
    GENESIS_TIME_MS,
    ISSUER,
    LIMITS,
    OWNER,
    REGISTRAR,
    VERIFIER,
    T,
    anchor_data,
    attest_report,
    body_of,
    issue_batch,
    make_genesis,
    register_account,
    register_project,
    retire,
    transfer,
)

GAMES = "14th National Winter Games"
OTHER_PROJECT = "CN15-GY-0002"


class StoreChain:
    """Blocks applied and committed into a MemoryStore, as a node does."""

    def __init__(self, store: BlockStore) -> None:
        genesis = make_genesis()
        self.store = store
        self.store.init_genesis(CHAIN_ID, genesis.to_json().encode(), init_chain(genesis))
        self.nonces: dict[str, int] = {}

    def block(self, *txs: tuple[Any, Any]) -> None:
        raws = []
        for signer, msg in txs:
            nonce = self.nonces.get(signer.address, 0)
            self.nonces[signer.address] = nonce + 1
            raws.append(encode_tx(body_of(signer, msg, nonce), [signer]))
        height = self.store.height + 1
        time_ms = GENESIS_TIME_MS + height * 1000
        ctx = BlockContext(CHAIN_ID, height, time_ms, self.store.app_hash)
        result = apply_block(self.store, ctx, [check_tx(r, CHAIN_ID, LIMITS) for r in raws])
        block = build_block(
            chain_id=CHAIN_ID, height=height, time_ms=time_ms, prev_hash=self.store.last_hash,
            app_hash=result.app_hash, proposer=b"\x00" * 32, validators_hash=b"\x00" * 32,
            txs=raws, receipts=result.receipts,
        )  # fmt: skip
        self.store.commit_block(block, b"certificate", result)


@pytest.fixture(scope="module", params=["memory", "leveldb"])
def chain(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[StoreChain]:
    """Two projects' batches; five retirements at heights 6-9, one failed retirement at 10."""
    store: BlockStore = (
        MemoryStore()
        if request.param == "memory"
        else LevelDBStore.open(Path(tmp_path_factory.mktemp("register")) / "db")
    )
    c = StoreChain(store)
    c.block((REGISTRAR, register_account(COMPANY)), (REGISTRAR, register_account(OWNER)))
    c.block((ISSUER, register_project()), (ISSUER, register_project(project_id=OTHER_PROJECT)))
    other_report = b"\x02" * 32
    c.block(
        (ISSUER, anchor_data()),
        (ISSUER, anchor_data(project_id=OTHER_PROJECT, data_hash=other_report)),
    )
    c.block((VERIFIER, attest_report()), (VERIFIER, attest_report(data_hash=other_report)))
    c.block(
        (ISSUER, issue_batch()),
        (ISSUER, issue_batch(project_id=OTHER_PROJECT, report_hashes=[other_report])),
    )
    other_batch = f"{OTHER_PROJECT}-20230101-20231231-001"
    c.block(
        (ISSUER, transfer((COMPANY, BATCH_ID, 100 * T), (COMPANY, other_batch, 100 * T))),
        (ISSUER, retire(beneficiary="Bureau", event="")),  # height 6, index 1
    )
    c.block((COMPANY, retire(amount_grams=T, beneficiary="Zhejiang Co", event=GAMES)))  # 7
    c.block(
        (COMPANY, retire(amount_grams=T, beneficiary="Zhejiang Co", event="Asian Games")),
        (OWNER, register_account(OWNER)),  # a failed tx in between (not a registrar)
        (COMPANY, retire(batch_id=other_batch, amount_grams=T, beneficiary="Hohhot", event=GAMES)),
    )  # 8: indexes 0 and 2
    c.block((COMPANY, retire(amount_grams=2 * T, beneficiary="Zhejiang Co", event=GAMES)))  # 9
    c.block((COMPANY, retire(amount_grams=10_000 * T, beneficiary="Zhejiang Co", event=GAMES)))
    yield c
    store.close()


def positions(chain: StoreChain, query: RetirementQuery, **kwargs: Any) -> list[tuple[int, int]]:
    page = chain.store.list_retirements(query, **kwargs)
    return [(e.height, e.index) for e in page.entries]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (RetirementQuery(), [(9, 0), (8, 2), (8, 0), (7, 0), (6, 1)]),
        (RetirementQuery(event=GAMES), [(9, 0), (8, 2), (7, 0)]),
        (RetirementQuery(beneficiary="Zhejiang Co"), [(9, 0), (8, 0), (7, 0)]),
        (RetirementQuery(beneficiary="Zhejiang Co", event=GAMES), [(9, 0), (7, 0)]),
        (RetirementQuery(batch_id=f"{OTHER_PROJECT}-20230101-20231231-001"), [(8, 2)]),
        (RetirementQuery(project_id=OTHER_PROJECT), [(8, 2)]),
        (RetirementQuery(event=GAMES, project_id="CN15-GY-0001"), [(9, 0), (7, 0)]),
        (RetirementQuery(from_height=7, to_height=8), [(8, 2), (8, 0), (7, 0)]),
        (RetirementQuery(event=GAMES, from_height=8), [(9, 0), (8, 2)]),
        (RetirementQuery(to_height=6), [(6, 1)]),
        (RetirementQuery(from_height=9, to_height=9), [(9, 0)]),  # one key, equal to the start
        (RetirementQuery(from_height=7, to_height=7), [(7, 0)]),
        (RetirementQuery(beneficiary="Hohhot", from_height=8), [(8, 2)]),
        (RetirementQuery(event="Unknown Games"), []),
        (RetirementQuery(from_height=10), []),  # the failed retirement is not in the register
        (RetirementQuery(from_height=9, to_height=7), []),
    ],
    ids=[
        "all", "event", "beneficiary", "beneficiary and event", "batch", "project",
        "event and project", "height range", "event from height", "to height", "one height",
        "one height inside", "single match from its height", "no match", "failed retirement",
        "empty range",
    ],
)  # fmt: skip
def test_register_lists_matching_retirements_newest_first(
    chain: StoreChain, query: RetirementQuery, expected: list[tuple[int, int]]
) -> None:
    assert positions(chain, query) == expected


def test_register_entries_carry_the_certificate(chain: StoreChain) -> None:
    (entry,) = chain.store.list_retirements(RetirementQuery(beneficiary="Hohhot")).entries
    cert = entry.certificate
    assert (cert.beneficiary, cert.event, cert.amount_grams, cert.height) == ("Hohhot", GAMES, T, 8)
    assert cert.project_id == OTHER_PROJECT and cert.account == COMPANY.address


def test_register_pages_with_a_cursor(chain: StoreChain) -> None:
    seen: list[tuple[int, int]] = []
    before = None
    while True:
        page = chain.store.list_retirements(RetirementQuery(), limit=2, before=before)
        seen += [(e.height, e.index) for e in page.entries]
        if page.cursor is None:
            break
        before = page.cursor
    assert seen == [(9, 0), (8, 2), (8, 0), (7, 0), (6, 1)]
    # A cursor inside a height range keeps the range.
    query = RetirementQuery(from_height=7, to_height=8)
    assert positions(chain, query, limit=10, before=(8, 2)) == [(8, 0), (7, 0)]


def test_a_full_last_page_has_no_cursor(chain: StoreChain) -> None:
    # A page as long as what was left sent the client on to an empty page.
    assert chain.store.list_retirements(RetirementQuery(), limit=5).cursor is None
    page = chain.store.list_retirements(RetirementQuery(event=GAMES), limit=2)
    assert [(e.height, e.index) for e in page.entries] == [(9, 0), (8, 2)]
    assert page.cursor == (8, 2)  # (7, 0) follows
    rest = chain.store.list_retirements(RetirementQuery(event=GAMES), limit=1, before=page.cursor)
    assert [(e.height, e.index) for e in rest.entries] == [(7, 0)] and rest.cursor is None


def test_a_rare_filter_ends_the_page_early_with_a_cursor(
    chain: StoreChain, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("carbon_ticket.chain.kvstore.MAX_RETIREMENT_SCAN", 2)
    # Scans the beneficiary index (9.0, 8.0, 7.0) and filters by event.
    query = RetirementQuery(event=GAMES, beneficiary="Zhejiang Co")
    first = chain.store.list_retirements(query)
    assert [(e.height, e.index) for e in first.entries] == [(9, 0)]
    assert first.cursor == (8, 0)  # the budget of two index entries ran out
    second = chain.store.list_retirements(query, before=first.cursor)
    assert [(e.height, e.index) for e in second.entries] == [(7, 0)]
    assert second.cursor is None
