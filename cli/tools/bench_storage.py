"""Storage benchmark: bytes on disk per transfer, commit time per block, reads at scale.

    python -m carbon_ticket.cli.tools.bench_storage [--accounts 1000000] [--transfers N] \\
        [--txs-per-block 1000] [--blocks 20] [--checkpoints 10] [--json] [--dir PATH]

The store is a ``LevelDBStore`` opened exactly as a validator opens it (node.store's LevelDB
options), and every key is the one the node writes: the rules' state keys (``chain.keys``:
balance, account record, nonce) and the block store's own (``LevelDBStore.commit_block``: block,
tx, receipt, tx-id index, account and batch history).

1. Commits ``--blocks`` blocks of realistic signed transfers (``chain.tx.encode_tx``), each
   with what the rules write: two balance updates and a nonce per transfer, a receipt with a
   transfer event, two account-history and one batch-history entry. Prints the commit time per
   block and the bytes on disk per transfer (as written, and after compaction).
2. Fills the store with ``--transfers`` filler transfers (default: accounts / 2, as before) in
   blocks of ``--txs-per-block``, registering accounts along the way until ``--accounts`` exist.
   Filler transfers have dummy signatures of the real size and go between random registered
   accounts (new accounts first receive); one busy account receives one in every block.
   At ``--checkpoints`` points of the fill it prints a row of the growth curve: transfers,
   accounts, data directory bytes, commit ms per block (median and p99 since the last row),
   the process's RSS, and read latencies (p50/p99) of ~1,000 random accounts read the way the
   public API's GetAccount and GetAccountHistory read them.
3. Reopens the store and times the busy account's first reads (cold cache).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from carbon_ticket.chain import keys
from carbon_ticket.chain.block import build_block
from carbon_ticket.chain.crypto import PrivateKey
from carbon_ticket.chain.records import Account
from carbon_ticket.chain.results import BlockResult, Event, TxResult
from carbon_ticket.chain.state import get_account, get_balance, get_balances
from carbon_ticket.chain.tx import encode_tx, tx_hash, tx_id
from carbon_ticket.node.store import LevelDBStore
from carbon_ticket.proto import ledger_pb2

CHAIN_ID = "carbon-bench-1"
BATCH = "CN15-GY-0001-20230101-20231231-001"
TARGET = "ct1" + "t" * 38  # the busy account: it receives a transfer in every filler block
REGISTRAR = "ct1" + "r" * 38  # who registered the filler accounts (named in their records)
ACCOUNT_SAMPLE = 1000  # random accounts read at each checkpoint
HISTORY_SAMPLE = 200  # of which this many also read their history page
BUSY_PAGES = 50  # 100-entry pages of the busy account read at each checkpoint
PAGE = 100  # the API's default history page

Transfer = tuple[str, str, int, int]  # sender, recipient, grams, nonce


def disk_bytes(path: Path) -> int:
    """Total size of the files in the store directory."""
    return sum(entry.stat().st_size for entry in os.scandir(path) if entry.is_file())


def rss_bytes() -> tuple[int, int]:
    """The process's resident set now and its anonymous part (Linux); else the peak, twice.

    The rest is file pages: LevelDB reads tables through mmap, and those pages count as
    resident while the kernel keeps them, though they are page cache it may drop at will.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            fields = dict(line.split(":", 1) for line in status if ":" in line)
        return int(fields["VmRSS"].split()[0]) * 1024, int(fields["RssAnon"].split()[0]) * 1024
    except (OSError, ValueError, KeyError):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        return peak, peak


def filler_address(n: int) -> str:
    """Filler account ``n``: an address of the real length (41 characters) in hash order.

    Real addresses are bech32 of a key hash, so accounts land at random places in the key
    space; sequential names would make every insert an append. Hex digits and no checksum
    (bech32 in Python costs ~20 us, base32 ~15 us): the benchmark reads through the store,
    never through decode_address, and 10 million of these must be cheap.
    """
    return "ct1" + hashlib.sha256(n.to_bytes(8, "big")).hexdigest()[:38]


def registration_writes(addresses: list[str], height: int) -> dict[bytes, bytes | None]:
    """What the rules' register_account writes for each address: its record and nonce (0)."""
    # Records differ only in the address, and every address has the same length: encode one
    # and splice the others in (Account.encode costs ~8 us, 80 s over ten million accounts).
    placeholder = "\x00" * len(TARGET)
    head, tail = (
        Account(placeholder, "resident", "", REGISTRAR, height).encode().split(placeholder.encode())
    )
    writes: dict[bytes, bytes | None] = {}
    zero = keys.encode_u64(0)
    for address in addresses:
        if len(address) != len(placeholder):
            writes[keys.account_key(address)] = Account(
                address, "resident", "", REGISTRAR, height
            ).encode()
        else:
            writes[keys.account_key(address)] = head + address.encode() + tail
        writes[keys.nonce_key(address)] = zero
    return writes


def transfer_writes(sender: str, to: str, amount: int, nonce: int) -> dict[bytes, bytes | None]:
    """What the rules write for a one-entry transfer: two balances and the sender's nonce.

    The values are plausible, not tracked (the benchmark keeps no per-account state, so its RSS
    is the store's); they have the real sizes, u64 each.
    """
    return {
        keys.balance_key(sender, BATCH): keys.encode_u64(10**12 - amount),
        keys.balance_key(to, BATCH): keys.encode_u64(amount * 2),
        keys.nonce_key(sender): keys.encode_u64(nonce + 1),
    }


def transfer_receipt(tx_hash_: bytes, sender: str, to: str, amount: int) -> TxResult:
    """The receipt process_transfer gives: one transfer event, both accounts, the batch."""
    event = Event(
        "transfer",
        (("from", sender), ("to", to), ("batch_id", BATCH), ("amount_grams", str(amount))),
    )
    return TxResult(
        tx_hash=tx_hash_, events=(event,), accounts=tuple(sorted({sender, to})), batches=(BATCH,)
    )


class Chain:
    """Builds blocks on top of a store with synthetic but realistically sized results."""

    def __init__(self, store: LevelDBStore) -> None:
        self.store = store
        self.app = hashlib.sha256(b"genesis").digest()
        self.proposer = hashlib.sha256(b"proposer").digest()

    def commit(
        self,
        txs: list[bytes],
        ids: list[bytes],
        transfers: list[Transfer],
        extra: dict[bytes, bytes | None] | None = None,
    ) -> float:
        """Commit one block of ``txs`` (with their ids and transfers) and ``extra`` state writes
        (registrations); return the seconds ``commit_block`` took."""
        writes: dict[bytes, bytes | None] = dict(extra or {})
        receipts = []
        for tid, (sender, to, amount, nonce) in zip(ids, transfers, strict=True):
            writes.update(transfer_writes(sender, to, amount, nonce))
            receipts.append(transfer_receipt(tid, sender, to, amount))
        self.app = hashlib.sha256(self.app + b"%d" % self.store.height).digest()
        result = BlockResult(writes=writes, receipts=tuple(receipts), app_hash=self.app)
        # As a proposer does: ids and the results root are computed once and reused by the store.
        block = build_block(
            chain_id=CHAIN_ID,
            height=self.store.height + 1,
            time_ms=1_700_000_000_000 + self.store.height * 500,
            prev_hash=self.store.last_hash,
            app_hash=self.app,
            proposer=self.proposer,
            validators_hash=self.proposer,
            txs=txs,
            receipts=receipts,
            tx_ids=ids,
            receipts_root=result.results_root(),
        )
        cert = ledger_pb2.CommitCertificate(height=block.height, block_hash=block.hash)
        for i in range(4):
            cert.precommits.add(
                type=ledger_pb2.VOTE_TYPE_PRECOMMIT,
                height=block.height,
                block_hash=block.hash,
                validator_index=i,
                signature=os.urandom(64),
            )
        start = time.perf_counter()
        self.store.commit_block(block, cert.SerializeToString(deterministic=True), result)
        return time.perf_counter() - start


def signed_transfers(
    keys_: list[PrivateKey], recipients: list[str], nonce: int
) -> tuple[list[bytes], list[Transfer]]:
    """One real signed transfer from each key."""
    txs: list[bytes] = []
    meta: list[Transfer] = []
    for i, key in enumerate(keys_):
        amount = 1_000_000 + i
        body = ledger_pb2.TxBody(chain_id=CHAIN_ID, signer=key.address, nonce=nonce)
        body.transfer.entries.add(to=recipients[i], batch_id=BATCH, amount_grams=amount)
        txs.append(encode_tx(body, [key]))
        meta.append((str(key.address), recipients[i], amount, nonce))
    return txs, meta


def filler_tx(
    sender: str, to: str, amount: int, nonce: int, rng: random.Random
) -> tuple[bytes, bytes]:
    """A transfer envelope of the real size with a dummy key and signature, and its id."""
    body = ledger_pb2.TxBody(chain_id=CHAIN_ID, signer=sender, nonce=nonce)
    body.transfer.entries.add(to=to, batch_id=BATCH, amount_grams=amount)
    body_bytes = body.SerializeToString(deterministic=True)
    envelope = ledger_pb2.TxEnvelope(body=body_bytes)
    envelope.signatures.add(public_key=rng.randbytes(32), signature=rng.randbytes(64))
    return envelope.SerializeToString(deterministic=True), tx_id(CHAIN_ID, body_bytes)


def percentile(samples: list[float], share: float) -> float:
    """The ``share`` quantile (0..1) of ``samples`` by nearest rank; 0 for none."""
    if not samples:
        return 0.0
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def samples(fn: Callable[[], object], repeat: int) -> list[float]:
    """Seconds of each of ``repeat`` calls."""
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def read_account(store: LevelDBStore, address: str) -> None:
    """The store reads of GetAccount (record, roles, nonce, every balance) and of a balance."""
    get_account(store, address)
    get_balances(store, address)
    get_balance(store, address, BATCH)


def read_history(store: LevelDBStore, address: str, limit: int = PAGE) -> int:
    """The store reads of GetAccountHistory: the account, a page, each tx with its block time."""
    get_account(store, address)
    entries = store.account_history(address, limit)
    for entry in entries:
        loc = store.get_tx_at(entry.height, entry.index)
        if loc is not None:
            ledger_pb2.TxEnvelope().ParseFromString(loc.raw)  # tx_to_proto decodes it
        store.get_header(entry.height)
    return len(entries)


def random_reads(
    store: LevelDBStore, registered: int, rng: random.Random
) -> tuple[list[float], list[float]]:
    """Seconds of account reads of random filler accounts, and of history reads of some."""
    sample = [filler_address(rng.randrange(registered)) for _ in range(ACCOUNT_SAMPLE)]
    who = iter(sample)
    account = samples(lambda: read_account(store, next(who)), len(sample))
    who = iter(sample[:HISTORY_SAMPLE])
    history = samples(lambda: read_history(store, next(who)), HISTORY_SAMPLE)
    return account, history


@dataclass(frozen=True, slots=True)
class Row:
    """One point of the growth curve (times in ms, sizes in bytes)."""

    transfers: int
    accounts: int
    height: int
    data_bytes: int
    bytes_per_transfer: float
    commit_ms_p50: float
    commit_ms_p99: float
    rss_bytes: int
    rss_anon_bytes: int  # the process's own memory, without mmapped table pages
    account_ms_p50: float
    account_ms_p99: float
    history_ms_p50: float  # a random account's page (as many entries as it has, up to 100)
    history_ms_p99: float
    busy_page_ms_p50: float  # a full 100-entry page of the busy account
    busy_page_ms_p99: float
    fill_s: float  # seconds since the fill started


def checkpoint(
    store: LevelDBStore,
    path: Path,
    transfers: int,
    accounts: int,
    registered: int,
    commits: list[float],
    fill_s: float,
    rng: random.Random,
) -> Row:
    """Measure one row: ``registered`` filler accounts exist, ``commits`` are the window's."""
    account, history = random_reads(store, registered, rng)
    busy = samples(lambda: read_history(store, TARGET), BUSY_PAGES)
    size = disk_bytes(path)
    rss, anon = rss_bytes()
    return Row(
        transfers=transfers,
        accounts=accounts,
        height=store.height,
        data_bytes=size,
        bytes_per_transfer=round(size / max(1, transfers), 1),
        commit_ms_p50=round(percentile(commits, 0.5) * 1e3, 2),
        commit_ms_p99=round(percentile(commits, 0.99) * 1e3, 2),
        rss_bytes=rss,
        rss_anon_bytes=anon,
        account_ms_p50=round(percentile(account, 0.5) * 1e3, 3),
        account_ms_p99=round(percentile(account, 0.99) * 1e3, 3),
        history_ms_p50=round(percentile(history, 0.5) * 1e3, 3),
        history_ms_p99=round(percentile(history, 0.99) * 1e3, 3),
        busy_page_ms_p50=round(percentile(busy, 0.5) * 1e3, 3),
        busy_page_ms_p99=round(percentile(busy, 0.99) * 1e3, 3),
        fill_s=round(fill_s, 1),
    )


ROW_HEADER = (
    f"{'transfers':>12} {'accounts':>11} {'data MiB':>9} {'B/xfer':>7} {'commit p50/p99 ms':>18} "
    f"{'RSS/anon MiB':>12} {'account p50/p99 ms':>19} {'history p50/p99 ms':>19} "
    f"{'busy 100 p50/p99 ms':>20} {'fill s':>7}"
)


def row_text(row: Row) -> str:
    """A row of the growth curve as one line under ROW_HEADER."""

    def pair(a: float, b: float, digits: int) -> str:
        return f"{a:.{digits}f} / {b:.{digits}f}"

    return (
        f"{row.transfers:>12,} {row.accounts:>11,} {row.data_bytes / 2**20:>9,.0f} "
        f"{row.bytes_per_transfer:>7.0f} {pair(row.commit_ms_p50, row.commit_ms_p99, 1):>18} "
        f"{row.rss_bytes / 2**20:>6.0f}/{row.rss_anon_bytes / 2**20:<5.0f} "
        f"{pair(row.account_ms_p50, row.account_ms_p99, 3):>19} "
        f"{pair(row.history_ms_p50, row.history_ms_p99, 3):>19} "
        f"{pair(row.busy_page_ms_p50, row.busy_page_ms_p99, 2):>20} {row.fill_s:>7.0f}"
    )


@dataclass(frozen=True, slots=True)
class FillPlan:
    """How the fill spreads ``registrations`` new accounts over ``transfers`` transfers."""

    transfers: int
    registrations: int
    per_block: int
    checkpoints: int

    def registered_after(self, done: int) -> int:
        """Accounts registered once ``done`` transfers are committed (front-loaded by one block,
        so every block has senders)."""
        ahead = min(self.transfers, done + self.per_block)
        return min(self.registrations, -(-self.registrations * ahead // max(1, self.transfers)))

    def marks(self) -> list[int]:
        """Transfer counts after which a row is measured (the last one is the end)."""
        n = max(1, self.checkpoints)
        return sorted({max(1, -(-self.transfers * k // n)) for k in range(1, n + 1)})


def fill_blocks(
    plan: FillPlan, rng: random.Random, first_height: int, registered: int = 0
) -> Iterator[tuple[list[bytes], list[bytes], list[Transfer], dict[bytes, bytes | None], int]]:
    """Filler blocks: (txs, ids, transfers, registration writes, accounts registered so far).

    ``registered`` filler accounts exist already (a store the benchmark filled before)."""
    done = 0
    height = first_height
    while done < plan.transfers:
        count = min(plan.per_block, plan.transfers - done)
        target = max(registered, plan.registered_after(done))
        fresh = [filler_address(n) for n in range(registered, target)]
        extra = registration_writes(fresh, height)
        registered = target
        txs, ids, meta = [], [], []
        for i in range(count):
            sender_n = rng.randrange(registered)
            if i == 0:
                to = TARGET
            elif i - 1 < len(fresh):
                to = fresh[i - 1]  # a new account's first grams
            else:
                to = filler_address(
                    (sender_n + 1 + rng.randrange(registered - 1 or 1)) % registered
                )
            sender = filler_address(sender_n)
            amount, nonce = 1_000_000 + (done + i) % 997_331, (done + i) % 100
            raw, tid = filler_tx(sender, to, amount, nonce, rng)
            txs.append(raw)
            ids.append(tid)
            meta.append((sender, to, amount, nonce))
        done += count
        height += 1
        yield txs, ids, meta, extra, registered


def emit(payload: dict[str, object], as_json: bool, text: str) -> None:
    """Print one result: a JSON object per line with ``--json``, else ``text``."""
    print(json.dumps(payload) if as_json else text, flush=True)


def run(
    path: Path,
    accounts: int,
    per_block: int,
    blocks: int,
    transfers: int | None = None,
    checkpoints: int = 10,
    as_json: bool = False,
) -> None:
    """Run all three phases in ``path`` and print the figures."""
    store = LevelDBStore.open(path, chain_id=CHAIN_ID)
    store.init_genesis(CHAIN_ID, b"{}", BlockResult(app_hash=hashlib.sha256(b"genesis").digest()))
    chain = Chain(store)
    existing = signed_phase(chain, path, per_block, blocks, as_json)
    plan = FillPlan(
        transfers=max(1, (accounts - existing + 1) // 2) if transfers is None else transfers,
        registrations=max(2, accounts - existing),
        per_block=per_block,
        checkpoints=checkpoints,
    )
    rng = random.Random(1)
    fill_phase(chain, path, plan, existing, blocks * per_block, rng, as_json)
    store.close()
    reopen_phase(path, plan.registrations, rng, as_json)


def signed_phase(chain: Chain, path: Path, per_block: int, blocks: int, as_json: bool) -> int:
    """Phase 1: ``blocks`` blocks of real signed transfers; returns the accounts registered."""
    base = disk_bytes(path)
    keys_ = [PrivateKey(hashlib.sha256(b"bench-%d" % i).digest()) for i in range(per_block)]
    recipients: list[str] = [keys_[(i + 1) % per_block].address for i in range(per_block)]
    recipients[0] = TARGET
    signers = [str(k.address) for k in keys_]
    genesis_accounts = registration_writes([*signers, TARGET], 1)
    times = []
    for nonce in range(blocks):
        txs, meta = signed_transfers(keys_, recipients, nonce)
        ids = [tx_hash(raw, CHAIN_ID) for raw in txs]
        times.append(chain.commit(txs, ids, meta, genesis_accounts if nonce == 0 else None))
    measured = blocks * per_block
    written = disk_bytes(path) - base
    chain.store.kv.compact()
    compacted = disk_bytes(path) - base
    times.sort()
    envelope = len(txs[0])
    median = statistics.median(times)
    emit(
        {
            "phase": "signed",
            "blocks": blocks,
            "txs_per_block": per_block,
            "envelope_bytes": envelope,
            "commit_ms_p50": round(median * 1e3, 2),
            "commit_ms_max": round(times[-1] * 1e3, 2),
            "bytes_per_transfer_written": round(written / measured),
            "bytes_per_transfer_compacted": round(compacted / measured),
        },
        as_json,
        f"transfer envelope: {envelope} bytes; {blocks} blocks x {per_block} transfers\n"
        f"commit per block: median {median * 1e3:.1f} ms, max {times[-1] * 1e3:.1f} ms "
        f"({median / per_block * 1e6:.1f} us/tx)\n"
        f"disk per transfer: {written / measured:.0f} bytes as written (incl. log), "
        f"{compacted / measured:.0f} bytes after compaction",
    )
    return len(signers) + 1


def fill_phase(
    chain: Chain,
    path: Path,
    plan: FillPlan,
    existing: int,
    measured: int,
    rng: random.Random,
    as_json: bool,
) -> None:
    """Phase 2: the filler blocks, with a row of the growth curve at each of the plan's marks."""
    if not as_json:
        print(
            f"fill: {plan.transfers:,} transfers, {plan.registrations:,} new accounts; "
            "growth curve (latencies over random accounts):\n" + ROW_HEADER,
            flush=True,
        )
    marks = iter(plan.marks())
    mark = next(marks)
    window: list[float] = []
    done = 0
    fill_start = time.perf_counter()
    for txs, ids, meta, extra, registered in fill_blocks(plan, rng, chain.store.height + 1):
        window.append(chain.commit(txs, ids, meta, extra))
        done += len(txs)
        if done < mark:
            continue
        fill_s = time.perf_counter() - fill_start
        row = checkpoint(
            chain.store, path, measured + done, existing + registered, registered, window,
            fill_s, rng,
        )  # fmt: skip
        emit({"phase": "fill", **asdict(row)}, as_json, row_text(row))
        window = []
        mark = next(marks, plan.transfers + 1)


def reopen_phase(path: Path, registered: int, rng: random.Random, as_json: bool) -> None:
    """Phase 3: reopen the store, read the busy account cold, then random accounts."""
    store = LevelDBStore.open(path, chain_id=CHAIN_ID)
    start = time.perf_counter()
    read_account(store, TARGET)
    entries = read_history(store, TARGET)
    cold = time.perf_counter() - start
    # The same reads as a row, with no fill running: what a node between blocks would see.
    account, history = random_reads(store, registered, rng)
    store.close()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    size = disk_bytes(path)
    idle = {
        "account_ms_p50": round(percentile(account, 0.5) * 1e3, 3),
        "account_ms_p99": round(percentile(account, 0.99) * 1e3, 3),
        "history_ms_p50": round(percentile(history, 0.5) * 1e3, 3),
        "history_ms_p99": round(percentile(history, 0.99) * 1e3, 3),
    }
    emit(
        {
            "phase": "reopen",
            "cold_account_and_page_ms": round(cold * 1e3, 2),
            "page_entries": entries,
            **idle,
            "data_bytes": size,
            "peak_rss_bytes": rss,
        },
        as_json,
        f"after reopening: account + {entries}-entry history page {cold * 1e3:.1f} ms (cold); "
        f"then random accounts (no fill running): account p50/p99 {idle['account_ms_p50']:.3f} / "
        f"{idle['account_ms_p99']:.3f} ms, history page p50/p99 {idle['history_ms_p50']:.3f} / "
        f"{idle['history_ms_p99']:.3f} ms\n"
        f"store size {size / 2**20:,.0f} MiB; peak RSS {rss / 2**20:.0f} MiB",
    )


def main(argv: list[str] | None = None) -> int:
    """Parse flags and run the benchmark in a temporary (or given) directory."""
    parser = argparse.ArgumentParser(
        prog="python -m carbon_ticket.cli.tools.bench_storage", description=__doc__
    )
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument(
        "--transfers", type=int, help="filler transfers (history size; default accounts / 2)"
    )
    parser.add_argument("--txs-per-block", type=int, default=1000)
    parser.add_argument("--blocks", type=int, default=20, help="measured blocks of transfers")
    parser.add_argument(
        "--checkpoints", type=int, default=10, help="rows of the growth curve over the fill"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object per line")
    parser.add_argument("--dir", type=Path, help="store directory (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the store afterwards")
    args = parser.parse_args(argv)
    if args.transfers is not None and args.transfers < 1:
        parser.error("--transfers must be at least 1")
    if args.txs_per_block < 2 or args.blocks < 1 or args.checkpoints < 1:
        parser.error("--txs-per-block must be at least 2, --blocks and --checkpoints at least 1")
    if args.dir is not None and args.dir.exists():
        parser.error(f"{args.dir} exists; the benchmark needs a fresh directory")
    # Without --dir: a temporary directory, all of it removed afterwards (not just the store).
    scratch = None if args.dir is not None else Path(tempfile.mkdtemp(prefix="bench-storage-"))
    path = args.dir if scratch is None else scratch / "store"
    try:
        run(
            path,
            args.accounts,
            args.txs_per_block,
            args.blocks,
            args.transfers,
            args.checkpoints,
            args.json,
        )
    finally:
        if not args.keep:
            shutil.rmtree(scratch or path, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
