"""Properties over random operation sequences: supply invariants, immutability, determinism."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings

from carbon_ticket.chain import BlockResult, get_batch
from carbon_ticket.chain.crypto import POINTS_FLOAT_ADDRESS
from carbon_ticket.chain.keys import (
    BALANCE,
    BATCH,
    CERTIFICATE,
    EXPORT,
    POINTS,
    POINTS_DAY,
    POINTS_DAY_ACTIVITY,
    POINTS_OPERATOR,
    POINTS_OPERATOR_DAY,
    REDEMPTION_COUNT,
    REPORT,
    account_key,
    balance_prefix,
    decode_u64,
    nonce_key,
)
from carbon_ticket.chain.records import Batch, Certificate, Export, PointsAccount, Report
from carbon_ticket.chain.residents_view import resident_redemptions
from tests.chain.conftest import DAILY_CAP, RESIDENT_PARAMS, Ledger
from tests.chain.strategies import (
    ATTESTED,
    BATCHES,
    LOSS_ATTESTED,
    ops,
    points_ops,
    run_ops,
    run_points_ops,
    setup_ledger,
    setup_points_ledger,
)

ROOT = Path(__file__).resolve().parents[2]
PROPERTY_SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


class Invariants:
    """Checks the supply invariants after every block and remembers what must never change."""

    def __init__(self) -> None:
        self.certificates: dict[bytes, bytes] = {}
        self.retired: dict[str, int] = {}

    def __call__(self, chain: Ledger, result: BlockResult) -> None:
        data = chain.state.data
        balances: dict[str, int] = {}
        for key, value in data.items():
            if key.startswith(BALANCE):
                grams = decode_u64(value)
                assert grams > 0  # zero balances are deleted, never stored
                batch_id = key.rsplit(b"/", 1)[1].decode()
                balances[batch_id] = balances.get(batch_id, 0) + grams
        certified: dict[str, int] = {}
        serials: dict[str, list[tuple[int, int]]] = {}  # batch -> ranges of certificates, exports
        for key, value in data.items():
            if key.startswith(CERTIFICATE):
                # Certificates never change once written.
                assert self.certificates.setdefault(key, value) == value
                cert = Certificate.decode(value)
                certified[cert.batch_id] = certified.get(cert.batch_id, 0) + cert.amount_grams
                serials.setdefault(cert.batch_id, []).append((cert.serial_first, cert.serial_last))
        assert set(self.certificates) == {k for k in data if k.startswith(CERTIFICATE)}
        exported: dict[str, int] = {}
        for key, value in data.items():
            if key.startswith(EXPORT):
                record = Export.decode(value)
                exported[record.batch_id] = exported.get(record.batch_id, 0) + record.amount_grams
                serials.setdefault(record.batch_id, []).append(
                    (record.serial_first, record.serial_last)
                )
        issued_total = 0
        reversed_total = 0
        for key, value in data.items():
            if not key.startswith(BATCH):
                continue
            b = Batch.decode(value)
            parts = (b.tradable, b.escrowed, b.retired, b.cancelled, b.exported, b.buffer)
            assert sum(parts) == b.issued and min(parts) >= 0
            assert balances.get(b.batch_id, 0) == b.tradable
            assert certified.get(b.batch_id, 0) == b.retired
            assert exported.get(b.batch_id, 0) == b.exported
            # The serial ranges of certificates and exports tile 1..retired + exported.
            end = 0
            for first, last in sorted(serials.get(b.batch_id, [])):
                assert first == end + 1 and last >= first
                end = last
            assert end == b.retired + b.exported
            assert b.retired >= self.retired.get(b.batch_id, 0)  # retired grams never come back
            assert b.reversed_grams <= b.cancelled
            self.retired[b.batch_id] = b.retired
            issued_total += b.issued
            reversed_total += b.reversed_grams
        assert set(balances) <= {k[len(BATCH) :].decode() for k in data if k.startswith(BATCH)}
        reports = [Report.decode(v) for k, v in data.items() if k.startswith(REPORT)]
        remaining = sum(r.remaining_grams for r in reports if r.kind != "loss-report")
        assert issued_total + remaining == sum(ATTESTED)  # never issued beyond attestations
        loss_left = sum(r.remaining_grams for r in reports if r.kind == "loss-report")
        assert reversed_total + loss_left == LOSS_ATTESTED  # never reversed beyond the loss
        for receipt in result.receipts:
            assert receipt.ok == (receipt.code == 0) and (receipt.ok or receipt.error_code)


@PROPERTY_SETTINGS
@given(ops)
def test_supply_invariants_hold_for_any_sequence(operations: list[tuple[Any, ...]]) -> None:
    chain = setup_ledger()
    run_ops(chain, operations, Invariants())


@PROPERTY_SETTINGS
@given(ops)
def test_failed_tx_changes_at_most_its_nonce(operations: list[tuple[Any, ...]]) -> None:
    chain = setup_ledger()

    def one_tx_blocks(chain: Ledger, result: BlockResult) -> None:
        # With one tx per block the writes are exactly that tx's writes.
        receipt = result.receipts[0]
        if receipt.ok:
            return
        if receipt.error_code in ("wrong_nonce", "unknown_signer"):
            assert result.writes == {}
        else:
            signer_nonce = [k for k in result.writes if k.startswith(b"nonce/")]
            assert len(result.writes) == 1 and signer_nonce == [nonce_key(receipt.accounts[0])]

    single = [o for op in operations if op[0] != "end_block" for o in (op, ("end_block",))]
    run_ops(chain, single, one_tx_blocks)


_REPLAY = """
import json, sys
sys.path.insert(0, {root!r})
from tests.chain.conftest import Ledger, check_tx, CHAIN_ID, LIMITS
from tests.chain.strategies import setup_ledger
chain = setup_ledger()
for block in json.load(sys.stdin):
    chain.run([bytes.fromhex(raw) for raw in block])
print(chain.app_hash.hex())
"""


def test_state_hash_is_the_same_in_a_fresh_process() -> None:
    # A fixed pseudo-random workload; the child re-applies the same blocks under another hash seed.
    rng = random.Random(20240217)
    operations: list[tuple[Any, ...]] = []
    for _ in range(120):
        kind = rng.choice(
            [
                "issue",
                "transfer",
                "transfer",
                "transfer",
                "retire",
                "cancel",
                "reversal",
                "end_block",
            ]
        )
        if kind == "issue":
            operations.append(
                ("issue", rng.randrange(4), {rng.randrange(3)}, rng.randrange(1, 200_000_000), 0)
            )
        elif kind == "transfer":
            entries = [
                (rng.randrange(4), rng.randrange(2), rng.randrange(1, 50_000_000))
                for _ in range(rng.randint(1, 3))
            ]
            operations.append(("transfer", rng.randrange(4), entries, 0))
        elif kind in ("retire", "cancel"):
            operations.append(
                (kind, rng.randrange(4), rng.randrange(2), rng.randrange(1, 20_000_000), 0)
            )
        elif kind == "reversal":
            operations.append(("reversal", rng.randrange(2), rng.randrange(1, 5_000_000), 0))
        else:
            operations.append(("end_block",))
    chain = setup_ledger()
    setup_blocks = len(chain.blocks)
    run_ops(chain, operations, Invariants())
    assert get_batch(chain.state, BATCHES[0]).issued > 0
    blocks = [[raw.hex() for raw in block] for block in chain.blocks[setup_blocks:]]
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    child = subprocess.run(
        [sys.executable, "-c", _REPLAY.format(root=str(ROOT))],
        input=json.dumps(blocks),
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
        check=True,
    )
    assert child.stdout.strip() == chain.app_hash.hex()


# ---------------------------------------------------------------- residents' points


class PointsInvariants:
    """After every block: points conserve, caps hold, supply holds, the float moves only by
    exchange (and ordinary top-ups)."""

    def __init__(self, chain: Ledger) -> None:
        # Start from the setup's state, then follow the receipts.
        data = chain.state.data
        self.earned: dict[str, int] = {}  # resident -> points of applied awards
        self.burned: dict[str, int] = {}  # resident -> points burned by exchange and redemption
        for key, value in data.items():
            if key.startswith(POINTS):
                account = PointsAccount.decode(value)
                self.earned[key[len(POINTS) :].decode()] = account.awarded
                self.burned[key[len(POINTS) :].decode()] = account.exchanged + account.redeemed
        self.per_day: dict[tuple[str, ...], int] = {
            tuple(key[len(POINTS_DAY) :].decode().split("/")): decode_u64(value)
            for key, value in data.items()
            if key.startswith(POINTS_DAY)
        }
        self.per_activity: dict[tuple[str, ...], int] = {
            tuple(key[len(POINTS_DAY_ACTIVITY) :].decode().split("/")): decode_u64(value)
            for key, value in data.items()
            if key.startswith(POINTS_DAY_ACTIVITY)
        }
        self.float_grams = self.float_total(chain)
        self.exchanges = 0
        # What the queries read: each resident's redemptions in order, each operator's totals
        self.vouchers: dict[str, list[str]] = {
            key[len(REDEMPTION_COUNT) :].decode(): self.listed(
                chain, key[len(REDEMPTION_COUNT) :].decode()
            )
            for key in data
            if key.startswith(REDEMPTION_COUNT)
        }
        self.by_operator: dict[tuple[str, ...], int] = {
            tuple(key[len(POINTS_OPERATOR) :].decode().split("/")): decode_u64(value)
            for key, value in data.items()
            if key.startswith(POINTS_OPERATOR)
        }

    @staticmethod
    def listed(chain: Ledger, resident: str) -> list[str]:
        """The resident's redemptions as ListRedemptions pages them, oldest first."""
        page = resident_redemptions(chain.state, resident, 3)
        refs = [r.voucher_ref for r in page.items]
        while page.before is not None:
            page = resident_redemptions(chain.state, resident, 3, page.before)
            refs += [r.voucher_ref for r in page.items]
        return refs[::-1]

    @staticmethod
    def float_total(chain: Ledger) -> int:
        prefix = balance_prefix(POINTS_FLOAT_ADDRESS)
        return sum(decode_u64(v) for k, v in chain.state.data.items() if k.startswith(prefix))

    def __call__(self, chain: Ledger, result: BlockResult) -> None:
        data = chain.state.data
        float_in = float_out = 0
        for receipt in result.receipts:
            assert receipt.ok == (receipt.code == 0) and (receipt.ok or receipt.error_code)
            if not receipt.ok:
                continue
            exchanged = 0
            from_float = 0
            awarded: list[tuple[str, int]] = []
            for ev in receipt.events:
                attrs = dict(ev.attributes)
                if ev.type == "award_points":  # after the awards: names their operator
                    for activity, pts in awarded:
                        op_key = (attrs["operator"], activity)
                        self.by_operator[op_key] = self.by_operator.get(op_key, 0) + pts
                if ev.type == "award" and attrs["outcome"] == "ok":
                    awarded.append((attrs["activity"], int(attrs["points"])))
                    who, pts = attrs["recipient"], int(attrs["points"])
                    self.earned[who] = self.earned.get(who, 0) + pts
                    day_key = (who, attrs["day"])
                    self.per_day[day_key] = self.per_day.get(day_key, 0) + pts
                    act_key = (who, attrs["day"], attrs["activity"])
                    self.per_activity[act_key] = self.per_activity.get(act_key, 0) + pts
                elif ev.type == "exchange_points":
                    who = attrs["account"]
                    self.burned[who] = self.burned.get(who, 0) + int(attrs["points"])
                    assert (
                        int(attrs["points"])
                        == int(attrs["grams"]) * RESIDENT_PARAMS.points_per_gram
                    )
                    exchanged += int(attrs["grams"])
                    self.exchanges += 1
                elif ev.type == "redeem":
                    who = attrs["resident"]
                    self.vouchers.setdefault(who, []).append(attrs["voucher_ref"])
                    if attrs["payment"] == "points":
                        self.burned[who] = self.burned.get(who, 0) + int(attrs["amount"])
                elif ev.type == "transfer" and attrs["from"] == POINTS_FLOAT_ADDRESS:
                    from_float += int(attrs["amount_grams"])
                elif ev.type == "transfer" and attrs["to"] == POINTS_FLOAT_ADDRESS:
                    float_in += int(attrs["amount_grams"])
            # No gram leaves the float except by an exchange, and exactly the exchanged grams.
            assert from_float == exchanged
            float_out += from_float
        now = self.float_total(chain)
        assert now == self.float_grams + float_in - float_out
        self.float_grams = now
        # Per resident: awarded - exchanged - redeemed = balance >= 0, matching the receipts.
        accounts = {
            k[len(POINTS) :].decode(): PointsAccount.decode(v)
            for k, v in data.items()
            if k.startswith(POINTS)
        }
        for who, account in accounts.items():
            assert account.balance == account.awarded - account.exchanged - account.redeemed >= 0
            assert account.awarded == self.earned.get(who, 0)
            assert account.exchanged + account.redeemed == self.burned.get(who, 0)
            assert data[account_key(who)].startswith(b"A")
        assert set(self.earned) <= set(accounts)
        # The daily cap and the activity caps are never exceeded, by any combination.
        assert all(total <= DAILY_CAP for total in self.per_day.values())
        for (_, _, activity), total in self.per_activity.items():
            cap = RESIDENT_PARAMS.activity_cap(activity)
            assert cap == 0 or total <= cap
        # The batch supply invariant holds.
        balances: dict[str, int] = {}
        for key, value in data.items():
            if key.startswith(BALANCE):
                batch_id = key.rsplit(b"/", 1)[1].decode()
                balances[batch_id] = balances.get(batch_id, 0) + decode_u64(value)
        certified: dict[str, int] = {}
        for key, value in data.items():
            if key.startswith(CERTIFICATE):
                cert = Certificate.decode(value)
                certified[cert.batch_id] = certified.get(cert.batch_id, 0) + cert.amount_grams
        for key, value in data.items():
            if key.startswith(BATCH):
                b = Batch.decode(value)
                assert b.tradable + b.retired + b.cancelled + b.buffer == b.issued
                assert balances.get(b.batch_id, 0) == b.tradable
                assert certified.get(b.batch_id, 0) == b.retired
        # A resident's list holds exactly its applied redemptions, in order; an operator's
        # totals per activity are its applied awards, and its days add up to them.
        for who, refs in self.vouchers.items():
            assert self.listed(chain, who) == refs
        totals = {
            tuple(key[len(POINTS_OPERATOR) :].decode().split("/")): decode_u64(value)
            for key, value in data.items()
            if key.startswith(POINTS_OPERATOR)
        }
        assert totals == self.by_operator
        per_day: dict[tuple[str, ...], int] = {}
        for key, value in data.items():
            if key.startswith(POINTS_OPERATOR_DAY):
                operator, _day, activity = key[len(POINTS_OPERATOR_DAY) :].decode().split("/")
                per_day[operator, activity] = per_day.get((operator, activity), 0) + decode_u64(
                    value
                )
        assert per_day == totals


@PROPERTY_SETTINGS
@given(points_ops)
def test_points_invariants_hold_for_any_sequence(operations: list[tuple[Any, ...]]) -> None:
    chain = setup_points_ledger()
    run_points_ops(chain, operations, PointsInvariants(chain))


def test_points_invariants_see_every_kind_of_outcome() -> None:
    # A fixed workload, so that the property above is known to exercise what it claims.
    rng = random.Random(15)
    operations: list[tuple[Any, ...]] = []
    for _ in range(300):
        kind = rng.choice(
            ["award", "award", "exchange", "redeem", "top_up", "end_block", "next_day"]
        )
        if kind == "award":
            entries = [
                (rng.randrange(4), rng.randrange(1, 700), rng.choice([0, 0, 1, 8, -1]),
                 rng.randrange(1, 8), rng.randrange(60))
                for _ in range(rng.randint(1, 5))
            ]  # fmt: skip
            operations.append(("award", entries))
        elif kind == "exchange":
            operations.append(
                ("exchange", rng.randrange(4), rng.randrange(1, 120), rng.random() < 0.5)
            )
        elif kind == "redeem":
            operations.append(("redeem", rng.randrange(4), rng.randrange(2), rng.randrange(20)))
        elif kind == "top_up":
            operations.append(("top_up", rng.randrange(1, 400)))
        else:
            operations.append((kind,))
    chain = setup_points_ledger()
    invariants = PointsInvariants(chain)
    codes: set[str] = set()

    def collect(chain: Ledger, result: BlockResult) -> None:
        invariants(chain, result)
        for receipt in result.receipts:
            codes.add(receipt.error_code)
            for ev in receipt.events:
                if ev.type == "award":
                    codes.add(dict(ev.attributes)["outcome"])

    run_points_ops(chain, operations, collect)
    assert invariants.exchanges > 0
    expected = {
        "ok",
        "daily_cap_exceeded",
        "day_in_future",
        "day_too_old",
        "duplicate_ref",
        "not_resident",
        "insufficient_points",
        "voucher_used",
        "offer_exhausted",
    }
    assert expected <= codes, expected - codes
