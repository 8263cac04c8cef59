"""Bounds on what one validator can make the engine hold: rounds it may open, messages it may park.

Within a height, rounds up to the current round + 1 are open to everyone. Beyond that, each
validator may open at most `PEER_CATCHUP_ROUNDS` rounds of its own choosing (the rounds honest
validators ahead of us are in; f+1 of them move us there by the skip rule). So a validator that
signs votes for 50,000 distinct rounds creates at most two vote sets, not 50,000. The idea is
CometBFT's HeightVoteSet "peer catch-up rounds".

Messages for the next height wait in a buffer with a quota per signer, so one validator cannot
crowd out the others; the buffer also answers whether the next height has really begun (a
proposal from its first proposer, or messages from validators holding f+1 power). Everything in
the buffer was verified against the next height's validator set, and signer indexes are
positions in that set, so it is that set that `started` weighs them with.
"""

from __future__ import annotations

from collections import Counter

from carbon_ticket.consensus.types import Proposal, ValidatorSet, Vote

__all__ = ["FUTURE_QUOTA", "PEER_CATCHUP_ROUNDS", "FutureBuffer", "RoundWindow"]

PEER_CATCHUP_ROUNDS = 2
# Next-height messages parked per signer: a proposal and both votes of about three rounds.
FUTURE_QUOTA = 8


class RoundWindow:
    """Which rounds of the current height a validator's messages may create state for."""

    def __init__(self) -> None:
        self.round = 0
        self._catchup: dict[int, set[int]] = {}

    def reset(self) -> None:
        """A new height: no catch-up rounds used."""
        self.round = 0
        self._catchup.clear()

    def allows(self, index: int, round: int) -> bool:
        """Whether a message of validator `index` for `round` may be admitted (no change)."""
        if round <= self.round + 1:
            return True
        used = self._catchup.get(index)
        return used is None or round in used or len(used) < PEER_CATCHUP_ROUNDS

    def admit(self, index: int, round: int) -> None:
        """Record an admitted (signature-checked) message; call only after `allows`."""
        if round > self.round + 1:
            self._catchup.setdefault(index, set()).add(round)

    def enter(self, round: int) -> None:
        """We reached `round`: rounds up to it + 1 no longer count against anyone's quota."""
        self.round = round
        for used in self._catchup.values():
            used.difference_update([r for r in used if r <= round + 1])


class FutureBuffer:
    """Verified messages for the next height, at most `FUTURE_QUOTA` per signer."""

    def __init__(self) -> None:
        self._messages: dict[tuple[object, ...], Proposal | Vote] = {}
        self._per_signer: Counter[int] = Counter()

    def __len__(self) -> int:
        return len(self._messages)

    def __contains__(self, key: object) -> bool:
        return key in self._messages

    def add(self, key: tuple[object, ...], msg: Proposal | Vote, signer: int) -> bool:
        """Park `msg`; False if already parked or the signer's quota is used up."""
        if key in self._messages or self._per_signer[signer] >= FUTURE_QUOTA:
            return False
        self._messages[key] = msg
        self._per_signer[signer] += 1
        return True

    def take(self, height: int) -> list[Proposal | Vote]:
        """Remove and return the messages for `height`; drop those for lower heights."""
        taken = [m for m in self._messages.values() if m.height == height]
        self._messages = {k: m for k, m in self._messages.items() if m.height > height}
        self._per_signer = Counter(_signer(m) for m in self._messages.values())
        return taken

    def started(self, height: int, validators: ValidatorSet) -> bool:
        """Whether `height` has begun elsewhere: its round-0 proposal or f+1 power of signers.

        `validators` is the set in effect at `height` (the one the messages were verified with).
        """
        signers: set[int] = set()
        for msg in self._messages.values():
            if msg.height != height:
                continue
            if isinstance(msg, Proposal) and msg.round == 0:
                return True
            signers.add(_signer(msg))
        power = sum(validators.power_of(i) for i in signers)
        return power >= validators.one_honest


def _signer(msg: Proposal | Vote) -> int:
    return msg.proposer_index if isinstance(msg, Proposal) else msg.validator_index
