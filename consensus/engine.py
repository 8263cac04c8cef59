"""The Tendermint state machine: messages and timeouts in, actions out.

Rule numbers (L22, L28, ...) refer to Algorithm 1 of "The latest gossip on BFT consensus"
(Buchman, Kwon, Milosevic, 2018). The engine does no I/O, reads no clock and starts no thread;
the node feeds it verified-or-not peer messages and fired timers and executes what it returns.

Every check uses the validator set in effect at the message's height (`ValidatorSets.at`): the
engine caches the sets of its current and next height in `start`, so a message costs no lookup.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Protocol

from carbon_ticket.consensus.admission import FutureBuffer, RoundWindow
from carbon_ticket.consensus.errors import InvalidValidatorSet
from carbon_ticket.consensus.safety import HeldValues, SafetyStore, SignGuard
from carbon_ticket.consensus.signing import (
    Signer,
    Verifier,
    ed25519_verify,
    proposal_sign_bytes,
    vote_sign_bytes,
)
from carbon_ticket.consensus.state import HeightState, VoteSet
from carbon_ticket.consensus.types import (
    Action,
    Broadcast,
    Commit,
    CommitCertificate,
    DuplicateVoteEvidence,
    EvidenceFound,
    FetchBlock,
    FixedValidatorSets,
    Proposal,
    ScheduleTimeout,
    Step,
    SyncNeeded,
    Timeout,
    TimeoutConfig,
    ValidatorSet,
    ValidatorSets,
    Vote,
    VoteType,
)

__all__ = ["Application", "Engine"]

_MAX_HASH_LEN = 64
_MAX_PROPOSALS_PER_ROUND = 3
_NIL = b""


class Application(Protocol):
    """What consensus needs from the ledger: build a block, bind a payload to its hash, judge it.

    Payloads are opaque bytes here: the engine stores, relays, saves and re-proposes them without
    knowing a block's type, and asks about one payload several times (binding, validity,
    timeliness). An application that decodes or executes a payload keeps the result for the next
    call and for the commit (node.app.LedgerApp keeps it by payload and by block hash), so each
    payload is decoded and executed once per node.
    """

    def propose(self, height: int, round: int) -> tuple[bytes, bytes]:
        """Return (block payload, block hash) of a new block for `height`."""
        ...

    def block_hash(self, height: int, payload: bytes) -> bytes | None:
        """The hash `payload` commits to (decode and hash only, no execution); None if garbage.

        Cheap and called on every incoming proposal before it is stored: a signature covers the
        hash only, so this is what ties a proposal's payload to what its proposer signed.
        """
        ...

    def validate(self, height: int, payload: bytes) -> bytes | None:
        """Return the block hash if `payload` is a valid block for `height`, else None."""
        ...

    def timely(self, height: int, round: int, payload: bytes) -> bool:
        """Whether a fresh proposal of `payload` in `round` arrived in time by the local clock.

        Proposer-based timestamps: asked only before prevoting a fresh proposal (L22). It is
        kept apart from `validate` so that a block found late can still be locked on and
        committed when a quorum prevoted it: timeliness decides a prevote, never validity.
        """
        ...


class Engine:
    """One validator's (or observer's) view of consensus; see docs/consensus.md.

    `validators` is the set at every height (`ValidatorSets`), or one `ValidatorSet` for a
    chain whose set never changes. A node whose key is not in the set of its current height is
    an observer there: it follows and commits but never signs; `start` decides it per height.
    """

    def __init__(
        self,
        chain_id: str,
        validators: ValidatorSets | ValidatorSet,
        signer: Signer | None,
        safety: SafetyStore,
        app: Application,
        timeouts: TimeoutConfig,
        verifier: Verifier = ed25519_verify,
    ) -> None:
        sets = (
            FixedValidatorSets(validators) if isinstance(validators, ValidatorSet) else validators
        )
        # Until the first `start`, the engine describes height 1 (the genesis set).
        first = sets.at(1)
        if first is None:
            raise InvalidValidatorSet("no validator set is known for height 1")
        self.chain_id = chain_id
        self._sets = sets
        self._current = first
        self._next: ValidatorSet | None = None
        self._key = signer.public_key if signer is not None else None
        self._app = app
        self._timeouts = timeouts
        self._verify = verifier
        self._index = self._own_index(first)
        # Per signer key, not per membership: a validator that leaves and comes back (or an
        # observer that joins) must never sign against what it signed before.
        self._guard = SignGuard(signer, safety) if signer is not None else None
        self.height = 0
        self.round = 0
        self.step = Step.PROPOSE
        self.started = False
        self.decided = False
        self.last_commit: CommitCertificate | None = None
        self.dropped: Counter[str] = Counter()
        # Why the last peer message (proposal or vote) was dropped; None when it was taken.
        self.last_drop: str | None = None
        self._hs = HeightState()
        self._window = RoundWindow()
        self._future = FutureBuffer()
        # Highest next height a verified message of the next set was seen at (cleared on start).
        self._ahead = 0
        # Highest height an unverifiable message claimed (its set is not known yet): a hint
        # that someone may be ahead, used for one sync request at most, then forgotten.
        self._hint = 0
        self._marker: tuple[int, int, int] | None = None

    @property
    def validators(self) -> ValidatorSet:
        """The validator set of the current height."""
        return self._current

    @property
    def index(self) -> int | None:
        """This signer's index in the current height's set, or None (an observer at this height)."""
        return self._index

    # ----------------------------------------------------------------- inputs

    def start(self, height: int, last_commit: CommitCertificate | None = None) -> list[Action]:
        """Begin `height` (at startup, and after the previous height's block is applied).

        `last_commit`, the stored certificate of `height - 1`, lets the engine re-send those
        precommits to peers still deciding it (useful after a restart or a block sync).
        """
        if self.started and height <= self.height:
            return []
        # Verify the set of this height is known before anything changes.
        current = self._sets.at(height)
        if current is None:
            raise InvalidValidatorSet(f"no validator set is known for height {height}")
        if last_commit is not None and last_commit.height == height - 1:
            self.last_commit = last_commit
        actions: list[Action] = []
        self._current = current
        self._next = self._sets.at(height + 1)
        self._index = self._own_index(current)
        self.started = True
        self.height = height
        self.decided = False
        self._hs = HeightState()
        self._window.reset()
        self._marker = None
        self._ahead = 0
        self._hint = self._hint if self._hint > height else 0
        first_round = 0
        last = self._guard.last if self._guard is not None else None
        # Only a member signs at a height, so a record of this height means we are one now.
        resuming = last is not None and last.height == height and self._index is not None
        if last is not None and resuming:
            # Restarted mid-height: resume in the round we last signed in, with our lock, our
            # valid value and their blocks, so neither outlives every copy of its block.
            first_round = last.round
            self._restore(last.locked_round, last.locked_hash, last.lock_votes,
                          last.valid_round, last.valid_hash, last.valid_votes)  # fmt: skip
        self._schedule(actions, Timeout(height, 0, Step.REBROADCAST), self._timeouts.rebroadcast_ms)
        for vote in (*self._hs.lock_votes, *self._hs.valid_votes):
            # The polkas of our lock and valid value: peers may have lost them too.
            if vote.height == height:
                self._add_vote(vote, actions)
                actions.append(Broadcast(vote))
        self._start_round(first_round, actions)
        if last is not None and resuming:
            self._resume(last.step, last.votes, actions)
        for msg in self._future.take(height):
            self._window.admit(_sender(msg), msg.round)
            if isinstance(msg, Proposal):
                self._add_proposal(msg)
            else:
                self._add_vote(msg, actions)
        self._progress(actions)
        return actions

    def _own_index(self, validators: ValidatorSet) -> int | None:
        """Our index in `validators`: None makes us an observer at that height."""
        return validators.index_of(self._key) if self._key is not None else None

    def on_proposal(self, p: Proposal) -> list[Action]:
        """Handle a proposal from a peer; invalid or useless ones are dropped silently."""
        self.last_drop = None
        # Verify the static shape before spending a signature check on it.
        if not self._proposal_shape_ok(p):
            self._drop("malformed")
            return []
        if not self._relevant(p.height):
            return []
        vset = self._set_for(p.height)
        if vset is None:
            return []
        if p.proposer_index != vset.proposer(p.height, p.round):
            self._drop("malformed")
            return []
        current = p.height == self.height
        if current and not self._window.allows(p.proposer_index, p.round):
            self._drop("far_round")
            return []
        known = self._hs.proposals.get(p.round, {}).get(p.block_hash)
        if known is not None and current and known.signature == p.signature:
            self._drop("duplicate")
            return []
        key = vset.validators[p.proposer_index].public_key
        if not self._verify(key, proposal_sign_bytes(self.chain_id, p), p.signature):
            self._drop("bad_signature")
            return []
        # Verify the payload is the block that was signed, before it can take any slot: a
        # copy with the proposer's signature and another payload is a forgery, not a proposal.
        if not self._payload_bound(p):
            self._drop("payload_mismatch")
            return []
        if not current:
            self._buffer(p, ("p", p.round, p.block_hash), p.proposer_index)
            return []
        actions: list[Action] = []
        self._window.admit(p.proposer_index, p.round)
        self._add_proposal(p)
        self._progress(actions)
        return actions

    def on_vote(self, v: Vote) -> list[Action]:
        """Handle a vote from a peer; conflicting second votes become evidence."""
        self.last_drop = None
        # Verify the static shape before spending a signature check on it.
        if not self._vote_shape_ok(v):
            self._drop("malformed")
            return []
        if not self._relevant(v.height):
            return []
        vset = self._set_for(v.height)
        if vset is None:
            return []
        if v.validator_index >= vset.size:
            self._drop("malformed")
            return []
        if v.height == self.height and not self._window.allows(v.validator_index, v.round):
            self._drop("far_round")
            return []
        known = self._known_vote(v)
        if known is not None and known.signature == v.signature:
            self._drop("duplicate")
            return []
        key = vset.validators[v.validator_index].public_key
        if not self._verify(key, vote_sign_bytes(self.chain_id, v), v.signature):
            self._drop("bad_signature")
            return []
        if v.height > self.height:
            self._buffer(
                v, ("v", int(v.type), v.round, v.validator_index, v.block_hash), v.validator_index
            )
            return []
        actions: list[Action] = []
        self._window.admit(v.validator_index, v.round)
        self._add_vote(v, actions)
        self._progress(actions)
        return actions

    def on_block(self, height: int, payload: bytes) -> list[Action]:
        """Handle a block fetched by hash (after `FetchBlock`); kept only if it is wanted."""
        if not self.started or height != self.height or self.decided:
            self._drop("stale_block")
            return []
        hs = self._hs
        block_hash = self._app.block_hash(height, payload)
        # Verify the payload is a block a quorum or our lock names; anything else is noise.
        if block_hash is None or block_hash not in hs.wanted():
            self._drop("unwanted_block")
            return []
        if block_hash in hs.payloads:
            return []
        hs.payloads[block_hash] = payload
        actions: list[Action] = []
        self._progress(actions)
        return actions

    def on_timeout(self, t: Timeout) -> list[Action]:
        """Handle a timer scheduled earlier; stale timers are ignored."""
        if not self.started or self.decided or t.height != self.height:
            return []
        actions: list[Action] = []
        if t.step == Step.REBROADCAST:
            self._on_tick(actions)
            return actions
        if t.round != self.round:
            return []
        if t.step == Step.PROPOSE and self.step == Step.PROPOSE:  # L57
            self._cast(VoteType.PREVOTE, _NIL, actions)
        elif t.step == Step.PREVOTE and self.step == Step.PREVOTE:  # L61
            self._cast(VoteType.PRECOMMIT, _NIL, actions)
        elif t.step == Step.PRECOMMIT:  # L65
            self._start_round(self.round + 1, actions)
        self._progress(actions)
        return actions

    # ------------------------------------------------------------ admission

    def _drop(self, reason: str) -> None:
        # Counted for operators (`dropped`) and told to the caller of this step (`last_drop`).
        self.dropped[reason] += 1
        self.last_drop = reason

    def _proposal_shape_ok(self, p: Proposal) -> bool:
        return (
            p.height >= 1
            and p.round >= 0
            and -1 <= p.pol_round < p.round
            and 0 < len(p.block_hash) <= _MAX_HASH_LEN
            and p.proposer_index >= 0
        )

    def _vote_shape_ok(self, v: Vote) -> bool:
        return (
            v.type in (VoteType.PREVOTE, VoteType.PRECOMMIT)
            and v.height >= 1
            and v.round >= 0
            and v.validator_index >= 0
            and len(v.block_hash) <= _MAX_HASH_LEN
        )

    def _relevant(self, height: int) -> bool:
        if not self.started:
            self._drop("not_started")
            return False
        if height < self.height or (height == self.height and self.decided):
            self._drop("old_height")
            return False
        return True

    def _set_for(self, height: int) -> ValidatorSet | None:
        """The set to verify a message of `height` with (current or next); None drops it.

        Beyond the next height the set is not known yet (a change decided at the height we are
        deciding may take effect there), and a signer's index may name another key: such a
        message proves nothing, so it is only a hint that someone may be ahead.
        """
        if height == self.height:
            return self._current
        if height == self.height + 1 and self._next is not None:
            return self._next
        self._hint = max(self._hint, height)
        self._drop("far_future" if height > self.height + 1 else "unknown_set")
        return None

    def _known_vote(self, v: Vote) -> Vote | None:
        if v.height != self.height:
            return None
        sets = self._hs.prevotes if v.type == VoteType.PREVOTE else self._hs.precommits
        vs = sets.get(v.round)
        return vs.votes.get(v.validator_index) if vs is not None else None

    def _payload_bound(self, p: Proposal) -> bool:
        """Whether the proposal's payload hashes to the block hash its proposer signed."""
        if p.height == self.height and self._hs.payloads.get(p.block_hash) == p.block:
            return True
        return self._app.block_hash(p.height, p.block) == p.block_hash

    def _buffer(self, msg: Proposal | Vote, key: tuple[object, ...], sender: int) -> None:
        # Only next-height messages get here, verified against the next height's set.
        self._ahead = msg.height
        if key not in self._future and not self._future.add(key, msg, sender):
            self._drop("future_quota")

    def _add_proposal(self, p: Proposal) -> None:
        hs = self._hs
        by_hash = hs.proposals.setdefault(p.round, {})
        if p.block_hash in by_hash:
            return
        # One proposal per round is taken; a proposer's second, different proposal only when a
        # quorum names its block (then we need it), so an equivocator cannot make us store or
        # execute many blocks.
        if by_hash and (
            p.block_hash not in hs.wanted() or len(by_hash) >= _MAX_PROPOSALS_PER_ROUND
        ):
            self._drop("extra_proposal")
            return
        by_hash[p.block_hash] = p
        hs.payloads.setdefault(p.block_hash, p.block)
        self._note_sender(p.round, p.proposer_index)

    def _is_valid(self, block_hash: bytes) -> bool:
        """valid(v) of the paper: ask the application once per bound payload, when needed.

        Only blocks the rules look at get executed: the proposal of the current round and blocks
        a quorum or our lock names, so stored old-round proposals cost no execution.
        """
        hs = self._hs
        if block_hash in hs.valid_blocks:
            return True
        payload = hs.payloads.get(block_hash)
        if payload is None or block_hash in hs.invalid:
            return False
        if self._app.validate(self.height, payload) == block_hash:
            hs.valid_blocks[block_hash] = payload
            return True
        hs.invalid.add(block_hash)
        return False

    def _add_vote(self, v: Vote, actions: list[Action]) -> None:
        hs = self._hs
        sets = hs.prevotes if v.type == VoteType.PREVOTE else hs.precommits
        vs = sets.get(v.round)
        if vs is None:
            vs = sets[v.round] = VoteSet()
        # A conflicting vote still counts for its value if that value is nil or a block we hold
        # (bound to its hash; validated or not, as validation is lazy), which bounds what an
        # equivocator can make us store.
        count_conflict = not v.block_hash or v.block_hash in hs.payloads
        earlier = vs.add(v, self._current.power_of(v.validator_index), count_conflict)
        if earlier is not None:
            key = (v.validator_index, v.round, int(v.type))
            if key not in hs.evidence_keys:
                hs.evidence_keys.add(key)
                actions.append(EvidenceFound(DuplicateVoteEvidence(earlier, v)))
        self._note_sender(v.round, v.validator_index)
        if v.block_hash and vs.power.get(v.block_hash, 0) >= self._current.quorum:
            if v.type == VoteType.PRECOMMIT:
                hs.commit_candidates.setdefault(v.block_hash, v.round)
            else:
                hs.polkas.setdefault(v.round, v.block_hash)

    def _note_sender(self, round: int, index: int) -> None:
        if round <= self.round:
            return
        hs = self._hs
        senders = hs.senders.setdefault(round, set())
        if index in senders:
            return
        senders.add(index)
        power = hs.sender_power.get(round, 0) + self._current.power_of(index)
        hs.sender_power[round] = power
        if power >= self._current.one_honest and round > hs.skip_to:
            hs.skip_to = round

    # ---------------------------------------------------------------- rules

    def _progress(self, actions: list[Action]) -> None:
        while not self.decided and self._apply_one_rule(actions):
            pass
        if not self.decided:
            self._fetch_missing(actions)

    def _fetch_missing(self, actions: list[Action]) -> None:
        """Ask for blocks a quorum or our lock names but nobody has shown us (once per tick)."""
        hs = self._hs
        for block_hash in sorted(hs.wanted() - hs.payloads.keys() - hs.fetching):
            hs.fetching.add(block_hash)
            actions.append(FetchBlock(self.height, block_hash))

    def _apply_one_rule(self, actions: list[Action]) -> bool:
        """Apply the first enabled rule; return whether anything changed."""
        hs = self._hs
        quorum = self._current.quorum
        for block_hash, rnd in hs.commit_candidates.items():  # L49
            if self._is_valid(block_hash):
                self._decide(block_hash, rnd, actions)
                return True
        if hs.skip_to > self.round:  # L55
            self._start_round(hs.skip_to, actions)
            return True
        if self._take_newer_valid_value():
            return True
        r = self.round
        if self.step == Step.PROPOSE:
            p = hs.first_proposal(r)
            if p is None:
                return False
            v = p.block_hash
            if p.pol_round == -1:  # L22, with the block time judged on arrival
                ok = (
                    self._is_valid(v)
                    and self._accepts_new(v)
                    and self._app.timely(p.height, r, hs.valid_blocks[v])
                )
            else:  # L28
                pol = hs.prevotes.get(p.pol_round)
                if pol is None or pol.power.get(v, 0) < quorum:
                    return False
                ok = self._is_valid(v) and self._accepts_pol(v, p.pol_round)
            self._cast(VoteType.PREVOTE, v if ok else _NIL, actions)
            return True
        pv = hs.prevotes.get(r)
        if pv is not None and pv.total >= quorum:
            if self.step == Step.PREVOTE and r not in hs.prevote_timeout_rounds:  # L34
                hs.prevote_timeout_rounds.add(r)
                self._schedule(
                    actions, Timeout(self.height, r, Step.PREVOTE), self._timeouts.prevote(r)
                )
                return True
            if r not in hs.polka_rounds:  # L36
                polka = pv.quorum_hash(quorum)
                if polka is not None and hs.has_proposal(r, polka) and self._is_valid(polka):
                    hs.polka_rounds.add(r)
                    # Valid value first, so the precommit's saved state carries it too.
                    hs.valid_round, hs.valid_hash = r, polka
                    if self.step == Step.PREVOTE:
                        hs.locked_round, hs.locked_hash = r, polka
                        hs.lock_votes = tuple(pv.for_block(polka))
                        self._cast(VoteType.PRECOMMIT, polka, actions)
                    return True
            if self.step == Step.PREVOTE and pv.power.get(_NIL, 0) >= quorum:  # L44
                self._cast(VoteType.PRECOMMIT, _NIL, actions)
                return True
        pc = hs.precommits.get(r)
        if pc is not None and pc.total >= quorum and r not in hs.precommit_timeout_rounds:  # L47
            hs.precommit_timeout_rounds.add(r)
            self._schedule(
                actions, Timeout(self.height, r, Step.PRECOMMIT), self._timeouts.precommit(r)
            )
            return True
        return False

    def _take_newer_valid_value(self) -> bool:
        """Make the newest polka of an earlier round for a block we hold the valid value.

        Beyond the paper (which looks at the current round only, L36): any newer polka for a
        block we hold becomes the valid value, so a value some node is locked on gets
        re-proposed with its POL. Proposing a value with a genuine POL is always safe.
        """
        hs = self._hs
        for rnd, block_hash in hs.polkas.items():
            if rnd > hs.valid_round and rnd < self.round and self._is_valid(block_hash):
                hs.valid_round, hs.valid_hash = rnd, block_hash
                return True
        return False

    def _accepts_new(self, block_hash: bytes) -> bool:
        """L22 lock check: prevote a fresh proposal only if unlocked or locked on it."""
        hs = self._hs
        return hs.locked_round == -1 or hs.locked_hash == block_hash

    def _accepts_pol(self, block_hash: bytes, pol_round: int) -> bool:
        """L28 lock check: a polka newer than (or equal to) our lock may override it."""
        hs = self._hs
        return hs.locked_round <= pol_round or hs.locked_hash == block_hash

    # --------------------------------------------------------------- effects

    def _start_round(self, round: int, actions: list[Action]) -> None:
        """StartRound of the paper: enter `round` and propose if it is our turn."""
        hs = self._hs
        self.round = round
        self.step = Step.PROPOSE
        self._window.enter(round)
        # Sender tallies of rounds we have now reached are no longer needed.
        for r in [r for r in hs.senders if r <= round]:
            del hs.senders[r]
            hs.sender_power.pop(r, None)
        h = self.height
        index = self._index
        if (
            self._guard is not None
            and index is not None
            and self._current.proposer(h, round) == index
        ):
            while self._take_newer_valid_value():
                pass
            if hs.valid_hash and self._is_valid(hs.valid_hash):
                block_hash, pol_round = hs.valid_hash, hs.valid_round
                payload = hs.valid_blocks[block_hash]
            else:
                # Without its payload a valid value cannot be re-proposed; a fresh block is safe
                # (locked validators refuse it) and the round still moves on.
                payload, block_hash = self._app.propose(h, round)
                pol_round = -1
                hs.payloads[block_hash] = payload
                hs.valid_blocks[block_hash] = payload
            p = Proposal(h, round, pol_round, block_hash, payload, index)
            sig = self._guard.sign_held(
                h, round, Step.PROPOSE, proposal_sign_bytes(self.chain_id, p), self._held()
            )
            if sig is not None:
                p = replace(p, signature=sig)
                self._add_proposal(p)
                actions.append(Broadcast(p))
                self._send_pol(p, actions)
        # Also armed for the proposer, so a refused or lost proposal cannot stall it.
        self._schedule(actions, Timeout(h, round, Step.PROPOSE), self._timeouts.propose(round))

    def _restore(
        self,
        locked_round: int,
        locked_hash: bytes,
        lock_votes: tuple[Vote, ...],
        valid_round: int,
        valid_hash: bytes,
        valid_votes: tuple[Vote, ...],
    ) -> None:
        """After a restart: take back the lock, the valid value, their polkas and their blocks."""
        hs = self._hs
        if locked_round >= 0:
            hs.locked_round, hs.locked_hash, hs.lock_votes = locked_round, locked_hash, lock_votes
        if valid_round < locked_round:
            # A version-1 record has no valid value; the lock's polka is one.
            valid_round, valid_hash, valid_votes = locked_round, locked_hash, lock_votes
        if valid_round >= 0:
            hs.valid_round, hs.valid_hash = valid_round, valid_hash
            hs.valid_votes = valid_votes
        for block_hash, payload in self._saved_blocks().items():
            # Verify the saved payload is still the block it was saved as (a damaged file
            # must not become a value we propose).
            if self._app.block_hash(self.height, payload) == block_hash:
                hs.payloads[block_hash] = payload

    def _saved_blocks(self) -> dict[bytes, bytes]:
        assert self._guard is not None
        return self._guard.saved_blocks(self.height)

    def _held(self) -> HeldValues:
        """The lock and valid value (with their polkas and blocks) a signature is given under."""
        hs = self._hs
        valid_votes: tuple[Vote, ...] = ()
        if hs.valid_round >= 0:
            vs = hs.prevotes.get(hs.valid_round)
            valid_votes = tuple(vs.for_block(hs.valid_hash)) if vs is not None else hs.valid_votes
        blocks = tuple(
            (h, hs.valid_blocks[h])
            for h in dict.fromkeys((hs.locked_hash, hs.valid_hash))
            if h and h in hs.valid_blocks
        )
        return HeldValues(
            hs.locked_round,
            hs.locked_hash,
            hs.lock_votes,
            hs.valid_round,
            hs.valid_hash,
            valid_votes,
            blocks,
        )

    def _resume(self, step: Step, votes: tuple[Vote, ...], actions: list[Action]) -> None:
        """After a restart: re-enter the step we last signed in and re-send our recent votes."""
        if step != Step.PROPOSE:
            self.step = step
        for vote in votes:
            if vote.height == self.height and vote.validator_index == self._index:
                self._add_vote(vote, actions)
                actions.append(Broadcast(vote))

    def _cast(self, vtype: VoteType, block_hash: bytes, actions: list[Action]) -> None:
        """Move to the vote's step and, if a validator and the safety store agrees, sign it."""
        self.step = Step.PREVOTE if vtype == VoteType.PREVOTE else Step.PRECOMMIT
        if self._guard is None or self._index is None:
            return
        vote = Vote(vtype, self.height, self.round, block_hash, self._index)
        sig = self._guard.sign_held(
            self.height, self.round, self.step, vote_sign_bytes(self.chain_id, vote),
            self._held(), vote,
        )  # fmt: skip
        if sig is None:
            return
        vote = replace(vote, signature=sig)
        self._add_vote(vote, actions)
        actions.append(Broadcast(vote))

    def _decide(self, block_hash: bytes, round: int, actions: list[Action]) -> None:
        precommits = tuple(self._hs.precommits[round].for_block(block_hash))
        cert = CommitCertificate(self.height, round, block_hash, precommits)
        self.decided = True
        self.last_commit = cert
        actions.append(Commit(self.height, self._hs.valid_blocks[block_hash], cert))

    def _schedule(self, actions: list[Action], timeout: Timeout, delay_ms: int) -> None:
        actions.append(ScheduleTimeout(timeout, delay_ms))

    def _on_tick(self, actions: list[Action]) -> None:
        """Retransmission timer: if nothing moved since the last tick, re-send what we hold."""
        marker = (self.round, int(self.step), len(self._hs.proposals))
        if marker == self._marker:
            self._rebroadcast(actions)
            ahead = max(self._ahead, self._hint)
            # Stalled while someone signs at a later height, or a quorum decided a block we do
            # not hold: ask the node to sync (which verifies certificates, so a Byzantine sender
            # can cost a fetch but never a wrong block). An unverifiable hint is used once: to
            # cost us another fetch a sender has to send again.
            self._hint = 0
            if ahead > self.height or self._hs.commit_candidates:
                actions.append(SyncNeeded(self.height, max(self.height, ahead)))
            self._hs.fetching.clear()
            self._fetch_missing(actions)
        self._marker = marker
        self._schedule(
            actions,
            Timeout(self.height, self.round, Step.REBROADCAST),
            self._timeouts.rebroadcast_ms,
        )

    def _rebroadcast(self, actions: list[Action]) -> None:
        """Gossip substitute: relay proposals and votes of this and the previous round."""
        hs = self._hs
        if self.last_commit is not None and self.last_commit.height == self.height - 1:
            actions.extend(Broadcast(v) for v in self.last_commit.precommits)
        actions.extend(Broadcast(v) for v in hs.lock_votes)
        pol = hs.prevotes.get(hs.valid_round)
        if pol is not None and hs.valid_round < self.round - 1:
            actions.extend(Broadcast(v) for v in pol.for_block(hs.valid_hash))
        for r in (self.round - 1, self.round):
            for p in hs.proposals.get(r, {}).values():
                actions.append(Broadcast(p))
                self._send_pol(p, actions)
            for sets in (hs.prevotes, hs.precommits):
                vs = sets.get(r)
                if vs is not None:
                    actions.extend(Broadcast(v) for v in vs.all_votes())

    def _send_pol(self, p: Proposal, actions: list[Action]) -> None:
        """Send the prevotes justifying a re-proposal, so peers that missed them can apply L28."""
        if p.pol_round < 0:
            return
        vs = self._hs.prevotes.get(p.pol_round)
        if vs is not None:
            actions.extend(Broadcast(v) for v in vs.for_block(p.block_hash))

    # ---------------------------------------------------------------- queries

    @property
    def lock(self) -> tuple[int, bytes]:
        """(locked round, locked block hash) at the current height; (-1, b"") when unlocked."""
        return self._hs.locked_round, self._hs.locked_hash

    def block_for(self, height: int, block_hash: bytes) -> bytes | None:
        """A block of the current height we hold by hash (to answer a peer's fetch), else None."""
        if height != self.height:
            return None
        hs = self._hs
        return hs.valid_blocks.get(block_hash) or hs.payloads.get(block_hash)

    def next_height_ready(self) -> bool:
        """Whether height + 1 has begun: its round-0 proposal, or signers with f+1 power, seen.

        One validator alone cannot make a waiting node start early (which would defeat the
        node's empty-block interval).
        """
        if self._next is None:
            return False
        return self._future.started(self.height + 1, self._next)

    def holdings(self) -> tuple[int, int]:
        """(vote sets, stored proposals) held for the current height: what a flood can grow."""
        hs = self._hs
        vote_sets = len(hs.prevotes) + len(hs.precommits)
        return vote_sets, sum(len(by_hash) for by_hash in hs.proposals.values())


def _sender(msg: Proposal | Vote) -> int:
    return msg.proposer_index if isinstance(msg, Proposal) else msg.validator_index
