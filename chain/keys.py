"""The state key layout: every key the ledger rules read or write (see docs/ledger.md).

Keys are ASCII prefixes followed by the object's id; ids never contain ``/`` except where noted,
so one prefix scan lists exactly one kind of object. Integers are stored as 8-byte big-endian.
"""

from __future__ import annotations

__all__ = [
    "ACCOUNT",
    "ATTESTED",
    "BALANCE",
    "BATCH",
    "BATCH_SEQ",
    "CERTIFICATE",
    "EXPORT_ALL",
    "FROZEN",
    "FROZEN_COUNT",
    "GENESIS_HASH",
    "NEXT_PARAMS",
    "NEXT_PROPOSAL_ID",
    "NONCE",
    "PARAMS",
    "PROJECT",
    "PROPOSAL",
    "PROPOSAL_DEADLINE",
    "PROPOSAL_VOTE",
    "REPORT",
    "ROLE",
    "VALIDATOR_SET",
    "account_key",
    "attested_key",
    "attested_prefix",
    "balance_key",
    "balance_prefix",
    "batch_key",
    "batch_seq_key",
    "batch_serial_key",
    "certificate_key",
    "decode_u64",
    "encode_u64",
    "exchange_day_key",
    "export_account_key",
    "export_account_prefix",
    "export_all_key",
    "export_batch_key",
    "export_batch_prefix",
    "export_key",
    "frozen_key",
    "import_key",
    "nonce_key",
    "offer_key",
    "offer_prefix",
    "points_activity_key",
    "points_day_key",
    "points_key",
    "points_operator_day_key",
    "points_operator_day_prefix",
    "points_operator_key",
    "points_operator_prefix",
    "points_ref_key",
    "prefix_end",
    "project_external_id_key",
    "project_key",
    "project_parcel_key",
    "proposal_deadline_key",
    "proposal_deadline_prefix",
    "proposal_key",
    "proposal_vote_key",
    "proposal_vote_prefix",
    "redemption_count_key",
    "report_key",
    "resident_redemption_key",
    "role_key",
    "settlement_day_key",
    "settlement_key",
    "validator_set_key",
    "voucher_key",
    "voucher_prefix",
]

GENESIS_HASH = b"genesis"  # sha256 of the canonical genesis document
PARAMS = b"params"  # Params record
# + effective height (8 bytes, big-endian) -> ValidatorSet record: the set in effect from that
# height on, until the next entry. Genesis writes height 1; a change decided at H writes H + 2.
VALIDATOR_SET = b"valset/"
ACCOUNT = b"acct/"  # + address -> Account record
NONCE = b"nonce/"  # + address -> u64 next nonce; present exactly for registered accounts
ROLE = b"role/"  # + role name + "/" + address -> b"\x01"
BALANCE = b"bal/"  # + address + "/" + batch id -> u64 tradable grams (absent when zero)
PROJECT = b"proj/"  # + project id -> Project record
REPORT = b"report/"  # + 32-byte data hash -> Report record
BATCH = b"batch/"  # + batch id -> Batch record (with its supply counters)
BATCH_SEQ = b"batchseq/"  # + project id + "/" + start + "-" + end -> u64 batches issued
CERTIFICATE = b"cert/"  # + certificate id -> Certificate record
# + project id + "/" + start + "-" + end -> 32-byte data hash of the attested (non-loss) report
# covering that period; a project's attested periods never overlap, so a prefix scan lists them.
ATTESTED = b"attested/"
# + offender address + "/" + height (8 bytes) + round (4) + vote type (1) -> Evidence record
EVIDENCE = b"evidence/"
# Residents' points (chain/rules/points.py): days are chain-local YYYYMMDD (genesis time zone).
POINTS = b"pts/"  # + address -> PointsAccount record (balance, awarded, exchanged, redeemed)
POINTS_DAY = b"ptsday/"  # + address + "/" + day -> u64 points awarded for that day
# + address + "/" + day + "/" + activity -> u64 points awarded for that day and activity
POINTS_DAY_ACTIVITY = b"ptsact/"
POINTS_REF = b"ptsref/"  # + operator + "/" + external ref -> u64 height of the award (forever)
POINTS_OPERATOR = b"ptsop/"  # + operator + "/" + activity -> u64 points the operator awarded
# + operator + "/" + day + "/" + activity -> u64 points the operator awarded for that (award) day
POINTS_OPERATOR_DAY = b"ptsopday/"
EXCHANGE_DAY = b"xchday/"  # + address + "/" + day -> u64 grams received by exchange that day
OFFER = b"offer/"  # + merchant + "/" + offer id -> Offer record
VOUCHER = b"voucher/"  # + merchant + "/" + voucher ref -> Redemption record
# + resident + "/" + sequence (8 bytes) -> merchant + "/" + voucher ref of the resident's
# redemption number ``sequence`` (0 first): a resident's redemptions in order, read newest first
# by point reads from the count down, so a page costs the same however many there are.
RESIDENT_REDEMPTION = b"redeemed/"
REDEMPTION_COUNT = b"redeemcount/"  # + resident -> u64 redemptions the resident made
SETTLEMENT = b"settle/"  # + merchant -> Settlement record (all time)
SETTLEMENT_DAY = b"settleday/"  # + merchant + "/" + day -> Settlement record for that day
# Governance (chain/rules/proposals.py, chain/rules/gov_actions.py).
NEXT_PROPOSAL_ID = b"govnextid"  # -> u64 id of the next proposal (absent = 1)
PROPOSAL = b"prop/"  # + proposal id (8 bytes) -> Proposal record
PROPOSAL_VOTE = b"propvote/"  # + proposal id (8 bytes) + operator address -> ProposalVote record
# + deadline height (8 bytes) + proposal id (8 bytes) -> b"\x01" while the proposal is voting:
# the end of block ``deadline`` expires exactly the proposals listed under it.
PROPOSAL_DEADLINE = b"propdl/"
NEXT_PARAMS = b"nextparams"  # -> Params record decided in this block, in force from the next
FROZEN = b"frozen/"  # + address -> Freeze record while the account is frozen
FROZEN_COUNT = b"frozencount"  # -> u64 number of frozen accounts (0 skips the per-tx lookup)

# Registries (issue 17: chain/rules/registry.py).
PROJECT_EXTERNAL_ID = b"projext/"  # + external id -> project id holding it
PROJECT_PARCEL = b"projparcel/"  # + parcel id -> project id covering it
# + batch id -> u64 grams of the batch's serial sequence consumed so far (by retirements and
# exports); the next range starts at this value + 1, so ranges never overlap.
BATCH_SERIAL = b"serial/"
EXPORT = b"export/"  # + export id -> Export record
# Export indexes, newest last: + sequence (8 bytes) or + batch/account + "/" + sequence,
# -> export id. The sequence is the number of exports before it (all registries).
EXPORT_ALL = b"exportseq/"
EXPORT_BATCH = b"exportbatch/"
EXPORT_ACCOUNT = b"exportacct/"
EXPORT_COUNT = b"exportcount"  # -> u64 number of exports so far
IMPORT = b"import/"  # + origin registry + "/" + origin id -> Import record

_U64 = 8


def prefix_end(prefix: bytes) -> bytes:
    """The smallest key greater than every key that starts with ``prefix`` (the stop of a
    range read of the prefix)."""
    stripped = prefix.rstrip(b"\xff")
    if not stripped:
        raise ValueError("prefix has no upper bound")
    return stripped[:-1] + bytes([stripped[-1] + 1])


def encode_u64(value: int) -> bytes:
    """A non-negative integer below 2**64 as 8 big-endian bytes."""
    return value.to_bytes(_U64, "big")


def decode_u64(data: bytes) -> int:
    """Inverse of ``encode_u64``."""
    return int.from_bytes(data, "big")


def validator_set_key(effective_height: int) -> bytes:
    """Key of the validator set in effect from ``effective_height`` on."""
    return VALIDATOR_SET + encode_u64(effective_height)


def account_key(address: str) -> bytes:
    """Key of an account record."""
    return ACCOUNT + address.encode()


def nonce_key(address: str) -> bytes:
    """Key of an account's next nonce."""
    return NONCE + address.encode()


def role_key(role: str, address: str) -> bytes:
    """Key marking that ``address`` holds ``role`` (a role name such as ``"issuer"``)."""
    return ROLE + role.encode() + b"/" + address.encode()


def balance_key(address: str, batch_id: str) -> bytes:
    """Key of an account's tradable grams of one batch."""
    return BALANCE + address.encode() + b"/" + batch_id.encode()


def balance_prefix(address: str) -> bytes:
    """Prefix of every balance an account holds."""
    return BALANCE + address.encode() + b"/"


def project_key(project_id: str) -> bytes:
    """Key of a project record."""
    return PROJECT + project_id.encode()


def report_key(data_hash: bytes) -> bytes:
    """Key of an anchored report (and its attestation) by data hash."""
    return REPORT + data_hash


def batch_key(batch_id: str) -> bytes:
    """Key of a batch record."""
    return BATCH + batch_id.encode()


def batch_seq_key(project_id: str, start_date: int, end_date: int) -> bytes:
    """Key of the count of batches issued for a project and vintage."""
    return BATCH_SEQ + f"{project_id}/{start_date:08d}-{end_date:08d}".encode()


def certificate_key(certificate_id: str) -> bytes:
    """Key of a retirement certificate."""
    return CERTIFICATE + certificate_id.encode()


def attested_prefix(project_id: str) -> bytes:
    """Prefix of a project's attested (non-loss) report periods."""
    return ATTESTED + project_id.encode() + b"/"


def attested_key(project_id: str, start_date: int, end_date: int) -> bytes:
    """Key recording that a project's report was attested for ``start_date``-``end_date``."""
    return attested_prefix(project_id) + f"{start_date:08d}-{end_date:08d}".encode()


def evidence_key(offender: str, height: int, round: int, vote_type: int) -> bytes:
    """Key of the evidence that ``offender`` signed two conflicting votes at this position."""
    position = height.to_bytes(8, "big") + round.to_bytes(4, "big") + bytes([vote_type])
    return EVIDENCE + offender.encode() + b"/" + position


def evidence_prefix(offender: str) -> bytes:
    """Prefix of every evidence record against one validator."""
    return EVIDENCE + offender.encode() + b"/"


def points_key(address: str) -> bytes:
    """Key of a resident's points account."""
    return POINTS + address.encode()


def points_day_key(address: str, day: int) -> bytes:
    """Key of the points a resident was awarded for one chain-local day."""
    return POINTS_DAY + f"{address}/{day:08d}".encode()


def points_activity_key(address: str, day: int, activity: str) -> bytes:
    """Key of the points a resident was awarded for one day and activity."""
    return POINTS_DAY_ACTIVITY + f"{address}/{day:08d}/{activity}".encode()


def points_ref_key(operator: str, external_ref: str) -> bytes:
    """Key marking that ``operator`` used ``external_ref`` (may contain ``/``: it is last)."""
    return POINTS_REF + operator.encode() + b"/" + external_ref.encode()


def points_operator_key(operator: str, activity: str) -> bytes:
    """Key of the points an operator awarded for one activity."""
    return POINTS_OPERATOR + f"{operator}/{activity}".encode()


def points_operator_prefix(operator: str = "") -> bytes:
    """Prefix of an operator's all-time totals per activity (every operator's when empty)."""
    return POINTS_OPERATOR + (operator.encode() + b"/" if operator else b"")


def points_operator_day_prefix(operator: str, day: int) -> bytes:
    """Prefix of an operator's totals per activity for one (award) day."""
    return POINTS_OPERATOR_DAY + f"{operator}/{day:08d}/".encode()


def points_operator_day_key(operator: str, day: int, activity: str) -> bytes:
    """Key of the points an operator awarded for one activity and (award) day."""
    return points_operator_day_prefix(operator, day) + activity.encode()


def exchange_day_key(address: str, day: int) -> bytes:
    """Key of the grams a resident received by exchange on one chain-local day."""
    return EXCHANGE_DAY + f"{address}/{day:08d}".encode()


def offer_prefix(merchant: str) -> bytes:
    """Prefix of every offer of a merchant."""
    return OFFER + merchant.encode() + b"/"


def offer_key(merchant: str, offer_id: str) -> bytes:
    """Key of a merchant's offer."""
    return offer_prefix(merchant) + offer_id.encode()


def voucher_prefix(merchant: str) -> bytes:
    """Prefix of every redemption at a merchant, in voucher reference order."""
    return VOUCHER + merchant.encode() + b"/"


def voucher_key(merchant: str, voucher_ref: str) -> bytes:
    """Key of the redemption with a merchant's voucher reference (unique per merchant)."""
    return voucher_prefix(merchant) + voucher_ref.encode()


def resident_redemption_key(resident: str, sequence: int) -> bytes:
    """Key of a resident's redemption number ``sequence`` (0 is the first)."""
    return RESIDENT_REDEMPTION + resident.encode() + b"/" + encode_u64(sequence)


def redemption_count_key(resident: str) -> bytes:
    """Key of how many redemptions a resident made (the next sequence number)."""
    return REDEMPTION_COUNT + resident.encode()


def settlement_key(merchant: str) -> bytes:
    """Key of a merchant's all-time settlement totals."""
    return SETTLEMENT + merchant.encode()


def settlement_day_key(merchant: str, day: int) -> bytes:
    """Key of a merchant's settlement totals for one chain-local day."""
    return SETTLEMENT_DAY + f"{merchant}/{day:08d}".encode()


def proposal_key(proposal_id: int) -> bytes:
    """Key of a governance proposal."""
    return PROPOSAL + encode_u64(proposal_id)


def proposal_vote_prefix(proposal_id: int) -> bytes:
    """Prefix of every vote on one proposal."""
    return PROPOSAL_VOTE + encode_u64(proposal_id)


def proposal_vote_key(proposal_id: int, operator: str) -> bytes:
    """Key of one operator's vote on a proposal."""
    return proposal_vote_prefix(proposal_id) + operator.encode()


def proposal_deadline_prefix(deadline_height: int) -> bytes:
    """Prefix of the voting proposals whose deadline is ``deadline_height``."""
    return PROPOSAL_DEADLINE + encode_u64(deadline_height)


def proposal_deadline_key(deadline_height: int, proposal_id: int) -> bytes:
    """Key listing a voting proposal under its deadline height."""
    return proposal_deadline_prefix(deadline_height) + encode_u64(proposal_id)


def frozen_key(address: str) -> bytes:
    """Key of an account's freeze record (present while frozen)."""
    return FROZEN + address.encode()


# ---------------------------------------------------------------- market (issue 17)
# chain/rules/market.py. Order and trade ids are sequence numbers from 1, stored as 8 bytes, so
# a prefix scan lists them oldest first and a page reads newest first from any id down.
NEXT_ORDER_ID = b"mktnextorder"  # -> u64 id of the next sell order (absent = 1)
NEXT_TRADE_ID = b"mktnexttrade"  # -> u64 id of the next trade (absent = 1)
ORDER = b"order/"  # + order id (8 bytes) -> Order record
TRADE = b"trade/"  # + trade id (8 bytes) -> Trade record
# + height (8 bytes) + b"o" + order id (8) -> b"\x01": the order expires at the end of that block;
# + height (8 bytes) + b"t" + trade id (8) -> b"\x01": the pending trade times out then.
MARKET_DUE = b"mktdue/"
# + project id + "/" + vintage start-end + "/" + trade id (8 bytes) -> b"\x01" for each settled
# trade: the public price history of a project and vintage.
TRADE_PRICE = b"mktprice/"


def order_key(order_id: int) -> bytes:
    """Key of a sell order."""
    return ORDER + encode_u64(order_id)


def trade_key(trade_id: int) -> bytes:
    """Key of a trade."""
    return TRADE + encode_u64(trade_id)


def market_due_prefix(height: int) -> bytes:
    """Prefix of the order expiries and trade timeouts that fall due at the end of ``height``."""
    return MARKET_DUE + encode_u64(height)


def order_due_key(height: int, order_id: int) -> bytes:
    """Key listing an open order under the height it expires at."""
    return market_due_prefix(height) + b"o" + encode_u64(order_id)


def trade_due_key(height: int, trade_id: int) -> bytes:
    """Key listing a pending trade under the height it times out at."""
    return market_due_prefix(height) + b"t" + encode_u64(trade_id)


def trade_price_prefix(project_id: str, start_date: int = 0, end_date: int = 0) -> bytes:
    """Prefix of a project's settled trades (of one vintage when the dates are given)."""
    prefix = TRADE_PRICE + project_id.encode() + b"/"
    if start_date:
        prefix += f"{start_date:08d}-{end_date:08d}/".encode()
    return prefix


def trade_price_key(project_id: str, start_date: int, end_date: int, trade_id: int) -> bytes:
    """Key listing a settled trade in the price history of its project and vintage."""
    return trade_price_prefix(project_id, start_date, end_date) + encode_u64(trade_id)


def project_external_id_key(external_id: str) -> bytes:
    """Key naming the project that holds an external id (e.g. a CCER project number)."""
    return PROJECT_EXTERNAL_ID + external_id.encode()


def project_parcel_key(parcel_id: str) -> bytes:
    """Key naming the project that covers a land parcel."""
    return PROJECT_PARCEL + parcel_id.encode()


def batch_serial_key(batch_id: str) -> bytes:
    """Key of the grams of a batch's serial sequence consumed so far."""
    return BATCH_SERIAL + batch_id.encode()


def export_key(export_id: str) -> bytes:
    """Key of an export record."""
    return EXPORT + export_id.encode()


def export_all_key(sequence: int) -> bytes:
    """Key of export number ``sequence`` (0 first) over all batches."""
    return EXPORT_ALL + encode_u64(sequence)


def export_batch_prefix(batch_id: str) -> bytes:
    """Prefix of a batch's exports, in order."""
    return EXPORT_BATCH + batch_id.encode() + b"/"


def export_batch_key(batch_id: str, sequence: int) -> bytes:
    """Key of a batch's export with the global sequence number ``sequence``."""
    return export_batch_prefix(batch_id) + encode_u64(sequence)


def export_account_prefix(account: str) -> bytes:
    """Prefix of an account's exports, in order."""
    return EXPORT_ACCOUNT + account.encode() + b"/"


def export_account_key(account: str, sequence: int) -> bytes:
    """Key of an account's export with the global sequence number ``sequence``."""
    return export_account_prefix(account) + encode_u64(sequence)


def import_key(origin_registry: str, origin_id: str) -> bytes:
    """Key of an import by origin; registry names hold no ``/``, the origin id is last."""
    return IMPORT + origin_registry.encode() + b"/" + origin_id.encode()
