"""gRPC servicer of the public ledger API (thin: decode, one call into the core, encode).

Submissions go to a ``TxSubmitter`` (the node); reads go straight to the block store through
the ledger's read helpers. The store is only ever written by synchronous commits on this same
event loop, so a handler that reads without awaiting sees one height throughout and needs no
snapshot. Errors are mapped in ``node.errors``.
"""

from __future__ import annotations

import asyncio
import itertools
import unicodedata
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

import grpc
from google.protobuf.message import DecodeError

from carbon_ticket.chain import (
    get_account,
    get_balance,
    get_balances,
    get_batch,
    get_certificate,
    get_project,
    get_report,
    get_validators,
)
from carbon_ticket.chain.block import receipt_proof
from carbon_ticket.chain.errors import (
    AlreadyExists,
    InvalidRequest,
    InvalidTransaction,
    LedgerError,
    NotFound,
    PreconditionFailed,
)
from carbon_ticket.chain.governance_view import (
    list_proposals,
    proposal_view,
    validator_set_view,
)
from carbon_ticket.chain.kvstore import TxLocation
from carbon_ticket.chain.params import param_values
from carbon_ticket.chain.records import Redemption
from carbon_ticket.chain.records import Validator as ValidatorRecord
from carbon_ticket.chain.residents_view import (
    chain_today,
    merchant_view,
    merchant_vouchers,
    points_totals,
    points_view,
    query_period,
    require_resident,
    resident_redemptions,
)
from carbon_ticket.chain.results import TxResult
from carbon_ticket.chain.state import get_params, get_redemption
from carbon_ticket.chain.store import StoreView
from carbon_ticket.chain.tx import tx_hash as compute_tx_hash
from carbon_ticket.node.api_codec import (
    account_to_proto,
    batch_to_proto,
    certificate_to_proto,
    decode_address,
    decode_hash,
    decode_page,
    decode_sequence_page,
    decode_voucher_page,
    offer_to_proto,
    operator_points_to_proto,
    page_token,
    project_to_proto,
    proposal_to_proto,
    receipt_to_proto,
    redemption_to_proto,
    report_to_proto,
    require_id,
    require_number,
    retirement_query,
    settlement_to_proto,
    tx_proof_to_proto,
    tx_to_proto,
    validator_set_to_proto,
    voucher_page_token,
)
from carbon_ticket.node.block_events import BlockEvents
from carbon_ticket.node.errors import (
    HEIGHT_KEY,
    TX_HASH_KEY,
    abort_with,
    batch_message_limit,
    clipped,
    error_of_receipt,
    stream_errors,
)
from carbon_ticket.node.errors import unary_errors as errors
from carbon_ticket.node.history import HistoryPages
from carbon_ticket.node.market_api import MarketApi
from carbon_ticket.node.ports import (
    CommittedEvent,
    NodeInfo,
    PendingTxs,
    Simulator,
    TxSubmitter,
)
from carbon_ticket.node.registry_api import RegistryApi
from carbon_ticket.node.streams import BlockFanout, check_from_height
from carbon_ticket.proto import ledger_pb2, services_pb2, services_pb2_grpc

if TYPE_CHECKING:
    from google.protobuf.internal.containers import RepeatedCompositeFieldContainer

__all__ = ["MAX_SUBMIT_BATCH", "LedgerServicer", "account_info", "receipt_to_proto"]

_DEFAULT_WAIT_S = 30.0
# A waiting SubmitTx answers this long before the call's deadline: the answer must reach the
# client before it gives up, and gRPC sends a deadline rounded *up* to 2-3 digits of its unit
# (grpc-timeout: 10.6 s arrived as 10.8 s), so the server's time_remaining() overshoots by up
# to about 2 % of it, far more than the round trip.
_DEADLINE_MARGIN_S = 0.05
_DEADLINE_MARGIN_SHARE = 0.03
_FRESH_BLOCKS = 4  # committed blocks whose receipts are kept as executed (an award block's: ~2 MB)
# Event types the ledger emits (one per transaction kind that succeeded).
EVENT_TYPES = frozenset({
    "register_account", "register_project", "anchor_data", "attest_report", "issue",
    "transfer", "retire", "cancel", "reversal", "grant_role", "revoke_role", "evidence",
    "appoint_issuer",
    # governance (issue 16): proposals and votes, and what a passed proposal executed
    "submit_proposal", "cast_vote", "proposal_passed", "proposal_failed", "proposal_rejected",
    "add_validator", "remove_validator", "set_validator_power", "set_validator_address",
    "rotate_validator_key", "validator_set_scheduled", "change_params", "freeze_account",
    "unfreeze_account",
    # residents' points and merchants (issue 15): one "award" event per award of a batch
    "award_points", "award", "exchange_points", "register_offer", "redeem",
    # the market (issue 17)
    "sell", "buy", "confirm_payment", "cancel_order",
    # registries (issue 17)
    "export", "import_batch",
})  # fmt: skip
MAX_SUBMIT_BATCH = 10_000
_MAX_SIGNING_BATCHES = 256  # balances one GetSigningInfo call may ask for


def account_info(store: StoreView, pending: PendingTxs, address: str) -> services_pb2.AccountInfo:
    """GetAccount's answer: the record, roles, nonce and pending-aware next nonce, balances.

    The committed nonce is read once and handed to the mempool: each read of a random account
    is a LevelDB lookup through every level (~30 us), and a query that runs longer is more
    often cut by the scheduler on a busy host, which is what set its p99 (docs/storage.md).
    """
    view = get_account(store, address)  # NotFound for an unregistered account
    balances = get_balances(store, address)
    return account_to_proto(view, balances, pending.next_nonce(address, committed=view.nonce))


def _wait_budget(remaining: float | None) -> float:
    """How long a waiting SubmitTx may wait for the commit, given the call's time_remaining()."""
    if remaining is None:
        return _DEFAULT_WAIT_S
    margin = _DEADLINE_MARGIN_S + _DEADLINE_MARGIN_SHARE * remaining
    return max(remaining - margin, 0.0)


def _id_or_empty(raw: bytes, chain_id: str) -> bytes:
    """The id of a refused envelope, as its signers computed it: over the chain id its body names
    (another network's, for a wrong_chain_id), else ``chain_id``. An envelope that does not even
    parse has no id."""
    try:
        envelope = ledger_pb2.TxEnvelope.FromString(raw)
        named = ledger_pb2.TxBody.FromString(envelope.body).chain_id
    except DecodeError:
        named = ""
    try:
        return compute_tx_hash(raw, named or chain_id)
    except InvalidTransaction:
        return b""


def _add_validator(
    into: RepeatedCompositeFieldContainer[services_pb2.ValidatorInfo], v: ValidatorRecord
) -> None:
    into.add(name=v.name, public_key=v.public_key, address=v.address, power=v.power,
             operator=v.operator_address, network_address=v.network_address)  # fmt: skip


def _proof_validator(v: ValidatorRecord) -> services_pb2.ProofValidator:
    return services_pb2.ProofValidator(name=v.name, public_key=v.public_key, power=v.power)


class LedgerServicer(MarketApi, RegistryApi, services_pb2_grpc.LedgerServiceServicer):
    """The public API: submit transactions, read ledger records and history, follow blocks."""

    def __init__(
        self,
        submitter: TxSubmitter,
        store: StoreView,
        pending: PendingTxs,
        info: NodeInfo,
        *,
        simulator: Simulator | None = None,
        stream_queue_blocks: int = 64,
    ) -> None:
        self._node = submitter  # the node, seen only as what submits and follows commits
        self._store = store
        self._pending = pending
        self._info = info
        self._simulator = simulator
        # SubscribeBlocks streams share one encoding of each block (node.streams).
        self.blocks = BlockFanout(self._encoded_block, lambda: store.height, stream_queue_blocks)
        # History items are encoded once and kept: many residents' pages share award txs.
        self._history = HistoryPages(store, self._block_time)
        self._events = BlockEvents(self._receipts, self._block_time)  # streams share it
        # The receipts of the last blocks this node committed, as executed: encoding them for
        # SubscribeBlocks and SubscribeEvents skips decoding them back from the store.
        self._fresh: OrderedDict[int, tuple[TxResult, ...]] = OrderedDict()
        submitter.subscribe(self._on_commit)

    def _on_commit(self, event: CommittedEvent) -> None:
        self._fresh[event.height] = event.executed.receipts
        if len(self._fresh) > _FRESH_BLOCKS:
            self._fresh.popitem(last=False)
        self.blocks.on_commit(event.height)

    def _receipts(self, height: int) -> Iterator[TxResult]:
        """The receipts of committed ``height`` in block order: kept from its commit, or read."""
        fresh = self._fresh.get(height)
        if fresh is not None:
            yield from fresh
            return
        header = self._store.get_header(height)
        for index in range(header.tx_count if header is not None else 0):
            loc = self._store.get_tx_at(height, index)
            if loc is None:  # pragma: no cover - a committed block has every tx
                return
            yield loc.result

    # ------------------------------------------------------------------ transactions

    @errors
    async def SubmitTx(
        self, request: services_pb2.SubmitTxRequest, context: grpc.aio.ServicerContext
    ) -> services_pb2.SubmitTxResponse:
        fresh = True
        try:
            tx_hash = self._node.admit(request.tx).tx_hash
        except (AlreadyExists, PreconditionFailed) as exc:
            # Retrying a submission is safe: a tx that is pending or committed already is
            # answered as if it had just been admitted (and waited for, when asked).
            tx_hash = compute_tx_hash(request.tx, self._info.chain_id)
            known = exc.code == "duplicate_tx" or self._store.get_tx(tx_hash) is not None
            if not known:
                raise
            fresh = False
        response = services_pb2.SubmitTxResponse(tx_hash=tx_hash)
        # A re-submitted tx that is committed already is answered with its outcome, waiting or
        # not; a freshly admitted one cannot be committed yet.
        location = None if fresh else self._store.get_tx(tx_hash)
        if location is not None:
            result, height = location.result, location.height
        else:
            if not request.wait_for_commit:
                return response
            timeout = _wait_budget(context.time_remaining())
            try:
                # The receipt comes from the executed block in memory, not from the store.
                committed = await asyncio.wait_for(self._node.wait_for_commit(tx_hash), timeout)
            except TimeoutError:
                return response
            result, height = committed.result, committed.height
        if not result.ok:
            # Committed (its nonce is used) but refused by the rules: an error, not a success.
            extra = ((TX_HASH_KEY, tx_hash.hex()), (HEIGHT_KEY, str(height)))
            await abort_with(context, error_of_receipt(result), extra)
        response.receipt.CopyFrom(receipt_to_proto(result))
        response.committed = True
        response.height = height
        return response

    @errors
    async def SubmitTxs(
        self, request: services_pb2.SubmitTxsRequest, context: grpc.aio.ServicerContext
    ) -> services_pb2.SubmitTxsResponse:
        if len(request.txs) > MAX_SUBMIT_BATCH:
            raise InvalidRequest(
                f"{len(request.txs)} transactions in one call, the limit is {MAX_SUBMIT_BATCH}",
                "too_many_txs",
            )
        response = services_pb2.SubmitTxsResponse()
        raws = list(request.txs)
        message_limit = batch_message_limit(len(raws))
        for raw, outcome in zip(raws, await self._node.admit_many(raws), strict=True):
            known = self._known_tx(raw, outcome) if isinstance(outcome, LedgerError) else None
            if known is not None:
                # Retrying a batch is safe, as with SubmitTx: a tx already pending or committed
                # is reported accepted under its id.
                response.results.add(tx_hash=known, accepted=True)
            elif isinstance(outcome, LedgerError):
                response.results.add(
                    tx_hash=_id_or_empty(raw, self._info.chain_id),
                    accepted=False,
                    error_code=outcome.code,
                    message=clipped(outcome.message, message_limit),
                )
            else:
                response.results.add(tx_hash=outcome.tx_hash, accepted=True)
        return response

    @errors
    async def SimulateTx(
        self, request: services_pb2.SimulateTxRequest, context: grpc.aio.ServicerContext
    ) -> services_pb2.SimulateTxResponse:
        """The receipt the transaction would get, from a throw-away execution (docs/api.md)."""
        simulator = self._simulator
        if simulator is None:
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, "this node does not simulate")
            return services_pb2.SimulateTxResponse()  # pragma: no cover - abort raises
        outcome = simulator.simulate(request.tx)
        response = services_pb2.SimulateTxResponse(
            receipt=receipt_to_proto(outcome.result),
            chain_id=outcome.chain_id,
            nonce=outcome.nonce,
            signatures_verified=outcome.signatures_verified,
            height=outcome.height,
        )
        for v in get_validators(self._store):
            response.signing_validators.add(
                name=v.name,
                public_key=v.public_key,
                address=v.address,
                operator=v.operator_address,
                power=v.power,
            )
        return response

    def _known_tx(self, raw: bytes, error: LedgerError) -> bytes | None:
        """The id of ``raw`` when ``error`` only says it is pending or committed already."""
        if not isinstance(error, AlreadyExists | PreconditionFailed):
            return None
        tx_hash = compute_tx_hash(raw, self._info.chain_id)
        if error.code == "duplicate_tx" or self._store.get_tx(tx_hash) is not None:
            return tx_hash
        return None

    # ------------------------------------------------------------------ status and records

    @errors
    async def GetGenesis(
        self, request: services_pb2.GetGenesisRequest, context: grpc.aio.ServicerContext
    ) -> services_pb2.GenesisInfo:
        genesis = self._info.genesis
        return services_pb2.GenesisInfo(
            chain_id=genesis.chain_id, genesis_json=genesis.to_json(), genesis_hash=genesis.hash()
        )

    @errors
    async def GetStatus(
        self, request: services_pb2.StatusRequest, context: grpc.aio.ServicerContext
    ) -> services_pb2.StatusResponse:
        info, store = self._info, self._store
        last = store.last_header()
        response = services_pb2.StatusResponse(
            chain_id=info.chain_id,
            height=store.height,
            app_hash=store.app_hash,
            node_name=info.name,
            mempool_size=len(self._pending),
        )
        if last is not None:
            response.last_block_hash = last.hash()
            response.last_block_time_ms = last.time_ms
        # The validators in effect at the next height: those that sign it.
        for v in info.validator_sets.records_at(store.height + 1) or ():
            _add_validator(response.validators, v)
        return response

    @errors
    async def GetAccount(
        self, request: services_pb2.GetAccountRequest, context: grpc.aio.ServicerContext
    ) -> services_pb2.AccountInfo:
        return account_info(self._store, self._pending, decode_address(request.address))

    @errors
    async def GetSigningInfo(
        self, request: services_pb2.GetSigningInfoRequest, context: grpc.aio.ServicerContext
    ) -> services_pb2.SigningInfo:
        """Chain id, the pending-aware next nonce, and the balances and validator set a wallet
        checks before it signs: everything in one round trip, with no scan of all balances."""
        address = decode_address(request.address)
        if len(request.batch_ids) > _MAX_SIGNING_BATCHES:
            raise InvalidRequest(
                f"{len(request.batch_ids)} batch ids in one call, the limit is "
                f"{_MAX_SIGNING_BATCHES}",
                "too_many_batch_ids",
            )
        # Each named by its position: "batch_ids is required" did not say which one was empty.
        batch_ids = [
            require_id(b, f"batch_ids[{i}]", self._store) for i, b in enumerate(request.batch_ids)
        ]
        response = services_pb2.SigningInfo(
            chain_id=self._info.chain_id,
            next_nonce=self._pending.next_nonce(address),  # NotFound for an unregistered account
            height=self._store.height,
        )
        for batch_id in batch_ids:
            response.balances.add(
                batch_id=batch_id, amount_grams=get_balance(self._store, address, batch_id)
            )
        # The set of the next block: the one its governance co-signatures are counted against.
        for v in self._info.validator_sets.records_at(self._store.height + 1) or ():
            _add_validator(response.signing_validators, v)
        return response

    @errors
    async def GetProject(
        self, request: services_pb2.GetProjectRequest, context: grpc.aio.ServicerContext
    ) -> services_pb2.ProjectInfo:
        return project_to_proto(
            get_project(self._store, require_id(request.project_id, "project_id", self._store))
        )

    @errors
    async def GetBatch(
        self, request: services_pb2.GetBatchRequest, context: grpc.aio.ServicerContext
    ) -> services_pb2.BatchInfo:
        return batch_to_proto(
            get_batch(self._store, require_id(request.batch_id, "batch_id", self._store))
        )

    @errors
    async def GetReport(
        self, request: services_pb2.GetReportRequest, context: grpc.aio.ServicerContext
    ) -> services_pb2.ReportInfo:
        return report_to_proto(get_report(self._store, decode_hash(request.data_hash, "data_hash")))

    @errors
    async def GetCertificate(
        self, request: services_pb2.GetCertificateRequest, context: grpc.aio.ServicerContext
    ) -> services_pb2.RetirementCertificate:
        return certificate_to_proto(
            get_certificate(
                self._store, require_id(request.certificate_id, "certificate_id", self._store)
            )
        )

    @errors
    async def GetTx(
        self, request: services_pb2.GetTxRequest, context: grpc.aio.ServicerContext
    ) -> services_pb2.TxInfo:
        loc = self._committed_tx(decode_hash(request.tx_hash, "tx_hash"))
        return tx_to_proto(loc, self._block_time(loc.height))

    # ------------------------------------------------------------------ proofs

    @errors
    async def GetTxProof(
        self, request: services_pb2.GetTxProofRequest, context: grpc.aio.ServicerContext
    ) -> services_pb2.TxProof:
        return self._tx_proof(self._committed_tx(decode_hash(request.tx_hash, "tx_hash")))

    @errors
    async def GetCertificateProof(
        self, request: services_pb2.GetCertificateProofRequest, context: grpc.aio.ServicerContext
    ) -> services_pb2.CertificateProof:
        info, store = self._info, self._store
        certificate = get_certificate(
            store, require_id(request.certificate_id, "certificate_id", store)
        )
        loc = self._committed_tx(certificate.tx_hash)
        commit = store.get_certificate(loc.height)
        if commit is None:  # pragma: no cover - every committed block has its certificate
            raise NotFound(f"no commit certificate at height {loc.height}", "unknown_block")
        reply = services_pb2.CertificateProof(
            certificate=certificate_to_proto(certificate),
            tx=self._tx_proof(loc),
            chain_id=info.chain_id,
            genesis_hash=info.genesis.hash(),
            # The set in effect at that height.
            validators=[
                _proof_validator(v) for v in info.validator_sets.records_at(loc.height) or ()
            ],
            set_changes=self._set_changes(loc.height),
        )
        reply.commit.ParseFromString(commit)
        return reply

    def _set_changes(self, height: int) -> list[services_pb2.ValidatorSetChange]:
        """The chain of consensus set changes from genesis to the set in effect at ``height``.

        For each change, the header of the height before it takes effect (it names the new set
        as its next), signed by the set before it: what an offline verifier follows.
        """
        changes = []
        history = self._info.validator_sets.history()
        for before, entry in itertools.pairwise(history):
            if entry.effective_height > height or entry.hash == before.hash:
                continue  # not in effect yet, or an address change only (no new consensus set)
            last = entry.effective_height - 1
            header, commit = self._store.get_header(last), self._store.get_certificate(last)
            if header is None or commit is None:  # pragma: no cover - committed blocks have both
                raise NotFound(f"no header or certificate at height {last}", "unknown_block")
            change = services_pb2.ValidatorSetChange(
                header=header.to_proto(),
                validators=[_proof_validator(v) for v in entry.records],
            )
            change.commit.ParseFromString(commit)
            changes.append(change)
        return changes

    @errors
    async def GetBlock(
        self, request: services_pb2.GetBlockRequest, context: grpc.aio.ServicerContext
    ) -> services_pb2.BlockInfo:
        store = self._store
        if request.block_hash and request.height:
            raise InvalidRequest("give a height or a block hash, not both", "ambiguous_request")
        if request.block_hash:
            found = store.get_block_height(decode_hash(request.block_hash, "block_hash"))
            if found is None:
                raise NotFound(f"no block has hash {request.block_hash.hex()}", "unknown_block")
            height = found
        else:
            height = request.height or store.height
        # Encoded once and shared with SubscribeBlocks (a dashboard polls the latest block; an
        # award block's receipts take ~200 ms to build)
        encoded = self.blocks.encoded(height, not request.without_receipts)
        return services_pb2.BlockInfo.FromString(encoded)

    # ------------------------------------------------------------------ history

    @errors
    async def GetAccountHistory(
        self, request: services_pb2.GetAccountHistoryRequest, context: grpc.aio.ServicerContext
    ) -> services_pb2.HistoryPage:
        address = decode_address(request.address)
        size, before = decode_page(request.page_size, request.page_token)
        get_account(self._store, address)  # NotFound for an unregistered account
        entries = self._store.account_history(address, size, before)
        return await self._history.page(
            entries, size, lambda last: bool(self._store.account_history(address, 1, last))
        )

    @errors
    async def GetBatchHistory(
        self, request: services_pb2.GetBatchHistoryRequest, context: grpc.aio.ServicerContext
    ) -> services_pb2.HistoryPage:
        size, before = decode_page(request.page_size, request.page_token)
        batch_id = require_id(request.batch_id, "batch_id", self._store)
        get_batch(self._store, batch_id)  # NotFound if unknown
        entries = self._store.batch_history(batch_id, size, before)
        return await self._history.page(
            entries, size, lambda last: bool(self._store.batch_history(batch_id, 1, last))
        )

    @errors
    async def ListRetirements(
        self, request: services_pb2.ListRetirementsRequest, context: grpc.aio.ServicerContext
    ) -> services_pb2.RetirementPage:
        size, before = decode_page(request.page_size, request.page_token)
        query = retirement_query(request)
        found = self._store.list_retirements(query, size, before)
        page = services_pb2.RetirementPage(
            items=[certificate_to_proto(entry.certificate) for entry in found.entries]
        )
        if found.cursor is not None:
            page.next_page_token = page_token(*found.cursor)
        return page

    # ------------------------------------------------------------------ streams

    @stream_errors
    async def SubscribeBlocks(
        self, request: services_pb2.SubscribeBlocksRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[bytes]:
        # Encoded BlockInfo messages, the same bytes for every stream; the server sends bytes
        # as they are (node.streams.pass_encoded, installed by node.api_guard).
        follow = self.blocks.follow(request.from_height, not request.without_receipts)
        async for encoded in follow:
            yield encoded

    @stream_errors
    async def SubscribeEvents(
        self, request: services_pb2.SubscribeEventsRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[services_pb2.LedgerEvent]:
        types = frozenset(request.types)
        unknown = sorted(types - EVENT_TYPES)
        if unknown:
            raise InvalidRequest(
                f"unknown event types {unknown[:5]}; known: {', '.join(sorted(EVENT_TYPES))}",
                "unknown_event_type",
            )
        account = decode_address(request.account, "account") if request.account else ""
        async for height in self._follow(request.from_height):
            decoded = await self._events.of(height)  # once per height for every stream
            for event in decoded.matching(types, account):
                yield event

    async def _follow(self, from_height: int) -> AsyncIterator[int]:
        """Every committed height from ``from_height`` on (0 = the next one), in order, forever.

        Past heights come from the store; the subscription only wakes the loop, and every height
        is read from the store too, so a block committed while we catch up is neither skipped nor
        sent twice.
        """
        store = self._store
        check_from_height(from_height, store.height)
        wake = asyncio.Event()
        unsubscribe = self._node.subscribe(lambda _event: wake.set())
        try:
            next_height = from_height or store.height + 1
            while True:
                wake.clear()
                while next_height <= store.height:
                    yield next_height
                    next_height += 1
                    wake.clear()
                    if next_height <= store.height:  # not per live block: node.streams
                        await asyncio.sleep(0)  # let consensus run between heights of a catch-up
                await wake.wait()
        finally:
            unsubscribe()

    # ------------------------------------------------------------------ helpers

    def _committed_tx(self, digest: bytes) -> TxLocation:
        loc = self._store.get_tx(digest)
        if loc is None:
            if digest in self._pending:
                raise NotFound(f"transaction {digest.hex()} is pending, not committed yet",
                               "tx_pending")  # fmt: skip
            raise NotFound(f"no committed transaction has hash {digest.hex()}", "unknown_tx")
        return loc

    def _tx_proof(self, loc: TxLocation) -> services_pb2.TxProof:
        block = self._store.get_block(loc.height)
        receipts = self._store.get_receipts(loc.height)
        if block is None or receipts is None:  # pragma: no cover - the tx's block is stored
            raise NotFound(f"no block at height {loc.height}", "unknown_block")
        return tx_proof_to_proto(
            loc, block.header, block.tx_proof(loc.index), receipt_proof(receipts, loc.index)
        )

    def _chain_today(self) -> int:
        """The chain's day: the last committed block's, in the chain's time zone."""
        last = self._store.last_header()
        return chain_today(get_params(self._store), last.time_ms if last is not None else 0)

    @errors
    async def GetPoints(
        self, request: services_pb2.GetPointsRequest, context: grpc.aio.ServicerContext
    ) -> services_pb2.PointsInfo:
        address = decode_address(request.address)
        require_resident(self._store, address, "address")  # only residents hold points
        view = points_view(self._store, address, self._chain_today(), request.history_days or 7)
        account = view.account
        return services_pb2.PointsInfo(
            address=address,
            balance=account.balance,
            awarded=account.awarded,
            exchanged=account.exchanged,
            redeemed=account.redeemed,
            today=view.today,
            earned_today=view.earned_today,
            daily_cap=view.daily_cap,
            remaining_today=view.remaining_today or 0,
            history=[services_pb2.PointsDay(day=d, points=p) for d, p in view.history],
            height=self._store.height,
            points_per_gram=get_params(self._store).residents.points_per_gram,
        )

    @errors
    async def ListOffers(
        self, request: services_pb2.ListOffersRequest, context: grpc.aio.ServicerContext
    ) -> services_pb2.OfferList:
        merchant = decode_address(request.merchant, "merchant")
        get_account(self._store, merchant)  # NotFound for an unregistered account
        view = merchant_view(self._store, merchant, 0, 0)
        return services_pb2.OfferList(offers=[offer_to_proto(o) for o in view.offers])

    @errors
    async def GetMerchant(
        self, request: services_pb2.GetMerchantRequest, context: grpc.aio.ServicerContext
    ) -> services_pb2.MerchantInfo:
        merchant = decode_address(request.merchant, "merchant")
        get_account(self._store, merchant)  # NotFound for an unregistered account
        from_day, to_day = query_period(request.from_day, request.to_day, self._chain_today())
        view = merchant_view(self._store, merchant, from_day, to_day)
        return services_pb2.MerchantInfo(
            merchant=merchant,
            offers=[offer_to_proto(o) for o in view.offers],
            total=settlement_to_proto(view.total),
            from_day=from_day,
            to_day=to_day,
            period=settlement_to_proto(view.period),
            days=[
                services_pb2.SettlementDay(day=d, totals=settlement_to_proto(s))
                for d, s in view.days
            ],
            height=self._store.height,
        )

    @errors
    async def ListRedemptions(
        self, request: services_pb2.ListRedemptionsRequest, context: grpc.aio.ServicerContext
    ) -> services_pb2.RedemptionPage:
        resident = decode_address(request.resident, "resident")
        size, before = decode_sequence_page(request.page_size, request.page_token)
        require_resident(self._store, resident, "resident")  # only residents redeem
        found = resident_redemptions(self._store, resident, size, before)
        token = "" if found.before is None else str(found.before)
        return self._redemption_page(found.items, token, found.count)

    @errors
    async def GetVoucher(
        self, request: services_pb2.GetVoucherRequest, context: grpc.aio.ServicerContext
    ) -> services_pb2.RedemptionInfo:
        merchant = decode_address(request.merchant, "merchant")
        # Stored references are NFC (the ledger refuses others), so a client's NFD text finds
        # the voucher a resident's wallet normalised before signing.
        voucher_ref = unicodedata.normalize(
            "NFC", require_id(request.voucher_ref, "voucher_ref", self._store)
        )
        get_account(self._store, merchant)  # NotFound for an unregistered account
        return redemption_to_proto(get_redemption(self._store, merchant, voucher_ref))

    @errors
    async def ListVouchers(
        self, request: services_pb2.ListVouchersRequest, context: grpc.aio.ServicerContext
    ) -> services_pb2.RedemptionPage:
        merchant = decode_address(request.merchant, "merchant")
        size, start = decode_voucher_page(request.page_size, request.page_token)
        get_account(self._store, merchant)  # NotFound for an unregistered account
        found = merchant_vouchers(self._store, merchant, size, start)
        token = "" if found.next_ref is None else voucher_page_token(found.next_ref)
        return self._redemption_page(found.items, token, found.count)

    def _redemption_page(
        self, items: tuple[Redemption, ...], token: str, count: int
    ) -> services_pb2.RedemptionPage:
        """A page of redemptions (a resident's, or the vouchers at a merchant) as the API
        answers it, with the committed height read."""
        return services_pb2.RedemptionPage(
            items=[redemption_to_proto(r) for r in items],
            next_page_token=token,
            count=count,
            height=self._store.height,
        )

    @errors
    async def GetPointsTotals(
        self, request: services_pb2.GetPointsTotalsRequest, context: grpc.aio.ServicerContext
    ) -> services_pb2.PointsTotals:
        operator = ""
        if request.operator:
            operator = decode_address(request.operator, "operator")
            get_account(self._store, operator)  # NotFound for an unregistered account
        from_day, to_day = query_period(request.from_day, request.to_day, self._chain_today())
        found = points_totals(self._store, operator, from_day, to_day)
        return services_pb2.PointsTotals(
            operators=[operator_points_to_proto(o) for o in found],
            from_day=from_day,
            to_day=to_day,
            height=self._store.height,
        )

    # ------------------------------------------------------------------ governance

    @errors
    async def ListProposals(
        self, request: services_pb2.ListProposalsRequest, context: grpc.aio.ServicerContext
    ) -> services_pb2.ProposalPage:
        size, before = decode_sequence_page(request.page_size, request.page_token)
        found = list_proposals(self._store, request.status, size, before)
        page = services_pb2.ProposalPage(
            items=[proposal_to_proto(p, height=self._store.height) for p in found.proposals]
        )
        if found.next_before is not None:
            page.next_page_token = str(found.next_before)
        return page

    @errors
    async def GetProposal(
        self, request: services_pb2.GetProposalRequest, context: grpc.aio.ServicerContext
    ) -> services_pb2.ProposalInfo:
        view = proposal_view(self._store, require_number(request.proposal_id, "proposal_id"))
        return proposal_to_proto(view.proposal, view.votes, self._store.height)

    @errors
    async def GetValidators(
        self, request: services_pb2.GetValidatorsRequest, context: grpc.aio.ServicerContext
    ) -> services_pb2.ValidatorSetInfo:
        committed = self._store.height
        view = validator_set_view(self._store, request.height, committed)
        return validator_set_to_proto(view, committed)

    @errors
    async def GetParams(
        self, request: services_pb2.GetParamsRequest, context: grpc.aio.ServicerContext
    ) -> services_pb2.ParamsInfo:
        height = self._store.height
        genesis = dict(param_values(self._info.genesis.params))
        return services_pb2.ParamsInfo(
            params=[
                services_pb2.Param(name=name, value=str(value), genesis_value=str(genesis[name]))
                for name, value in param_values(get_params(self._store))
            ],
            height=height,
            chain_id=self._info.chain_id,
        )

    def _block_time(self, height: int) -> int:
        header = self._store.get_header(height)
        return header.time_ms if header is not None else 0

    def _encoded_block(self, height: int, receipts: bool) -> bytes:
        return self._block_info(height, receipts).SerializeToString()

    def _block_info(self, height: int, receipts: bool = True) -> services_pb2.BlockInfo:
        store = self._store
        block = store.get_block(height) if height > 0 else None
        certificate = store.get_certificate(height)
        if block is None or certificate is None:
            raise NotFound(
                f"no block at height {height}; the chain is at height {store.height}",
                "unknown_block",
            )
        info = services_pb2.BlockInfo(
            block_hash=block.hash, committed=ledger_pb2.CommittedBlock(block=block.to_proto())
        )
        info.committed.certificate.ParseFromString(certificate)
        if receipts:
            info.receipts.extend(receipt_to_proto(receipt) for receipt in self._receipts(height))
        return info
