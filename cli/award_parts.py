"""``tx award-points`` with more awards than one transaction holds: the awards go out as several
transactions, the *parts*, one after another (cli/residents_cmds.py calls ``plan_parts`` and,
for more than one part, ``send_parts``).

A part holds as many awards, in the order they were written, as one signed transaction of the
chain may carry: ``limits.max_tx_bytes`` of envelope (signatures, chain id and the longest
nonce counted, so that the same file splits the same way on every run) and ``limits.max_awards``
awards. The wallet reads the limits from the node's genesis (``GetGenesis``): the node serves no
other copy, and the wallet never guesses them. Governance may have lowered a limit since: the
first part's draft is simulated before the password is asked, and when the node refuses it as
too large (or a later part, should the limit change during the run), simulations of fewer
awards find how many it takes and the parts are cut again to that (``_Planner.node_bounds``).

Parts are sent as a single transaction is (simulated, signed, submitted and waited for), with
the keys loaded once (one password) and consecutive nonces (``--nonce N``: N, N+1, ...). A part
whose simulation fails with every award's reference already used (``duplicate_ref``) is
*already applied*, by an earlier run of the same file: nothing is signed and the run goes on,
so running a file again after a partial failure is safe. Any other refusal stops the run: no
later part is signed or sent, and the command exits as the one transaction's path would.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import click
import grpc

from carbon_ticket.chain.check import check_message
from carbon_ticket.chain.limits import Limits
from carbon_ticket.cli.client import LedgerClient, draft_envelope, make_body
from carbon_ticket.cli.common import (
    EXIT_LEDGER,
    EXIT_USAGE,
    CliError,
    chosen_output,
    connect,
    emit,
    ledger_code,
    rpc_error,
)
from carbon_ticket.cli.submit import (
    SIZE_LIMIT_CODES,
    TxOptions,
    load_keys,
    not_committed,
    refuse_failed_simulation,
    sign_tx,
    simulate_draft,
    submission,
    tx_signer,
)
from carbon_ticket.proto import ledger_pb2, services_pb2

__all__ = ["Part", "Plan", "plan_parts", "send_parts", "split_awards"]

# A part's size is measured with the longest nonce (a 10-byte varint), so that where a file
# splits does not depend on the signer's nonce: a rerun meets the same parts.
_LONGEST_NONCE = 2**64 - 1
# What a signature adds to the envelope: an Ed25519 public key and signature of fixed lengths.
_PUBLIC_KEY_BYTES, _SIGNATURE_BYTES = 32, 64
# The node's refusals of a part as too large (not of one field in it): a smaller part may fit.
_PART_SIZE_CODES = SIZE_LIMIT_CODES & {"tx_too_large", "too_many_entries"}


@dataclass(frozen=True, slots=True)
class Part:
    """Awards ``start`` to ``stop - 1`` of the run (their indexes among all awards)."""

    start: int
    stop: int

    @property
    def count(self) -> int:
        return self.stop - self.start


def _signed_size(
    awards: Sequence[ledger_pb2.Award], chain_id: str, signer: str, memo: str, signatures: int
) -> int:
    """Bytes of the signed envelope carrying ``awards`` (the nonce at its longest)."""
    body = ledger_pb2.TxBody(
        chain_id=chain_id,
        signer=signer,
        nonce=_LONGEST_NONCE,
        memo=memo,
        award_points=ledger_pb2.AwardPoints(awards=awards),
    )
    placeholder = ledger_pb2.Signature(
        public_key=bytes(_PUBLIC_KEY_BYTES), signature=bytes(_SIGNATURE_BYTES)
    )
    envelope = ledger_pb2.TxEnvelope(
        body=body.SerializeToString(deterministic=True), signatures=[placeholder] * signatures
    )
    return envelope.ByteSize()


def split_awards(
    awards: Sequence[ledger_pb2.Award],
    fits: Callable[[Sequence[ledger_pb2.Award]], bool],
    most: int,
) -> list[Part]:
    """``awards`` cut, in order, into as few parts as ``fits`` (a part of at most ``most``
    awards); an award that does not fit even alone is a part of its own, for the node to
    refuse with its size code."""
    parts: list[Part] = []
    start = 0
    while start < len(awards):
        fit, over = start + 1, min(len(awards), start + max(1, most))
        if fits(awards[start:over]):
            fit = over
        while over - fit > 1:  # awards[start:fit] fits (or is one award), awards[start:over] not
            middle = (fit + over) // 2
            if fits(awards[start:middle]):
                fit = middle
            else:
                over = middle
        parts.append(Part(start, fit))
        start = fit
    return parts


def _genesis_limits(client: LedgerClient) -> tuple[str, Limits]:
    """The chain id and the size limits of the node's genesis."""
    from carbon_ticket.chain.genesis import Genesis

    reply = client.stub.GetGenesis(services_pb2.GetGenesisRequest(), timeout=10)
    genesis = Genesis.from_json(reply.genesis_json)
    return genesis.chain_id, genesis.params.limits


@dataclass(frozen=True, slots=True)
class _Planner:
    """Cuts awards into parts: by the genesis limits, then as the node's refusals say."""

    opts: TxOptions
    signer: str
    chain_id: str
    limits: Limits

    def parts(
        self, awards: Sequence[ledger_pb2.Award], offset: int = 0, most: int = 0, bytes_: int = 0
    ) -> list[Part]:
        """``awards`` (the run's from index ``offset``) in parts of at most ``most`` awards and
        ``bytes_`` signed bytes, when given, within the genesis limits."""
        opts, limits = self.opts, self.limits
        memo, signatures = unicodedata.normalize("NFC", opts.memo), len(set(opts.key))
        chain_id = opts.chain_id or self.chain_id
        bound = min(bytes_ or limits.max_tx_bytes, limits.max_tx_bytes)

        def fits(part: Sequence[ledger_pb2.Award]) -> bool:
            return _signed_size(part, chain_id, self.signer, memo, signatures) <= bound

        cut = split_awards(awards, fits, min(most or limits.max_awards, limits.max_awards))
        return [Part(p.start + offset, p.stop + offset) for p in cut]

    def node_bounds(
        self, client: LedgerClient, awards: Sequence[ledger_pb2.Award], count: int
    ) -> tuple[int, int]:
        """``(most, bytes)`` for parts the node takes, from simulations of the first ``count``
        awards of ``awards`` and fewer; ``(count, 0)`` when it takes them. Only when the node's
        limits are below the genesis', which governance may do: a draft over them is refused
        at once, before any state is read."""
        if self._size_refusal(client, awards[:count]) is None:
            return count, 0
        fit, over, codes = 1, count, set[str]()
        while over - fit > 1:
            middle = (fit + over) // 2
            code = self._size_refusal(client, awards[:middle])
            if code is None:
                fit = middle
            else:
                over, codes = middle, codes | {code}
        if "tx_too_large" not in codes:
            return fit, 0
        # The node took a draft of this size; the signed part may not be larger
        memo = unicodedata.normalize("NFC", self.opts.memo)
        body = make_body("", self.signer, 0, ledger_pb2.AwardPoints(awards=awards[:fit]), memo)
        return fit, len(draft_envelope(body))

    def _size_refusal(self, client: LedgerClient, awards: Sequence[ledger_pb2.Award]) -> str | None:
        """The node's code when it refuses the draft of ``awards`` as too large, else None."""
        try:
            simulate_draft(client, self.opts, self.signer, ledger_pb2.AwardPoints(awards=awards))
        except CliError as exc:
            cause = exc.__cause__
            code = ledger_code(cause) if isinstance(cause, grpc.RpcError) else ""
            if code in _PART_SIZE_CODES:
                return code
            raise
        return None


@dataclass(frozen=True, slots=True)
class Plan:
    """The parts a run's awards go out in, and how to cut them again (None: never)."""

    parts: list[Part]
    planner: _Planner | None


def plan_parts(opts: TxOptions, msg: ledger_pb2.AwardPoints) -> Plan:
    """The parts ``msg``'s awards go out in; one part, without asking the node, when the command
    sends without asking it (``--no-simulate`` with ``--chain-id`` and ``--nonce``)."""
    if opts.no_simulate and opts.chain_id is not None and opts.nonce is not None:
        return Plan([Part(0, len(msg.awards))], None)
    with connect(opts.node) as stub:
        client = LedgerClient(stub, timeout=opts.timeout, chain_id=opts.chain_id)
        planner = _planner(client, opts, msg)
        parts = planner.parts(msg.awards)
        if opts.no_simulate or parts[0].count == 1:
            return Plan(parts, planner)
        most, bytes_ = planner.node_bounds(client, msg.awards, parts[0].count)
    if most < parts[0].count:
        parts = planner.parts(msg.awards, 0, most, bytes_)
    return Plan(parts, planner)


def _planner(client: LedgerClient, opts: TxOptions, msg: ledger_pb2.AwardPoints) -> _Planner:
    """The planner of ``msg``'s parts, after refusing a field over its limit in the genesis (a
    reference longer than ``max_id_bytes``): bad input before anything is sent, as the node
    refuses it in one transaction."""
    chain_id, limits = _genesis_limits(client)
    signer = tx_signer(opts)
    whole = replace(limits, max_awards=max(limits.max_awards, len(msg.awards)))
    check_message(make_body(chain_id, signer, 0, msg, opts.memo), whole)
    return _Planner(opts, signer, chain_id, limits)


def _all_already_applied(receipt: ledger_pb2.Receipt, count: int) -> bool:
    """Whether a failed receipt of ``count`` awards says every one's reference is used.

    A transaction none of whose awards applies fails with its first award's code; its message
    (chain/rules/points.py ``_Refusals``) counts the refusals by reason when there are several,
    and names the first award when all share one: only that form, with ``duplicate_ref``, says
    every award was applied before (tests/cli/test_award_parts.py holds the ledger to it)."""
    if receipt.code == 0 or receipt.error_code != "duplicate_ref":
        return False
    return count == 1 or receipt.message.startswith(f"none of the {count} awards applied; award ")


@dataclass(slots=True)
class _Run:
    """The parts of one run and what became of each (``outcomes``, in part order)."""

    opts: TxOptions
    awards: Sequence[ledger_pb2.Award]
    wheres: list[str]
    parts: list[Part]
    planner: _Planner | None
    outcomes: list[dict[str, Any]] = field(default_factory=list)

    def outcome(self, part: Part, status: str, **fields: Any) -> dict[str, Any]:
        entry = {"part": len(self.outcomes) + 1, "first_award": part.start,
                 "awards": part.count, "status": status, **fields}  # fmt: skip
        self.outcomes.append(entry)
        return entry

    def label(self, number: int) -> str:
        return f"part {number} of {len(self.parts)}"


def send_parts(opts: TxOptions, msg: ledger_pb2.AwardPoints, plan: Plan, wheres: list[str]) -> None:
    """Send the parts of ``plan`` (more than one) of ``msg``'s awards as the module says; print
    one JSON document or a line per part and the totals; raise the refusal that stopped the
    run."""
    parts = list(plan.parts)
    for option, flag in ((opts.out, "--out"), (opts.no_wait, "--no-wait")):
        if option:
            raise CliError(
                f"these {len(msg.awards)} awards need {len(parts)} transactions and {flag} "
                f"takes one: send them without {flag}, or split the file into parts of at most "
                f"{max(p.count for p in parts)} awards",
                EXIT_USAGE,
            )
    signer = tx_signer(opts)
    keys = load_keys(opts)
    run = _Run(opts, msg.awards, wheres, parts, plan.planner)
    with connect(opts.node) as stub:
        client = LedgerClient(stub, timeout=opts.timeout, chain_id=opts.chain_id)
        try:
            _send_each(run, client, signer, keys)
        except CliError as exc:
            _show(run)
            raise _stopped(run, exc) from exc
    _show(run)


def _send_each(run: _Run, client: LedgerClient, signer: str, keys: list[Any]) -> None:
    sent = 0  # parts sent: the next one's nonce follows theirs
    index = 0
    while index < len(run.parts):
        part = run.parts[index]
        opts = (
            run.opts if run.opts.nonce is None else replace(run.opts, nonce=run.opts.nonce + sent)
        )
        msg = ledger_pb2.AwardPoints(awards=run.awards[part.start : part.stop])
        simulated = None
        if not opts.no_simulate:
            try:
                simulated = _simulate(run, part, client, opts, signer, msg)
            except _Smaller:
                # A limit is lower than this part's size: cut what is left as the node takes it
                run.parts[index:] = _recut(run, client, part)
                continue
            if _all_already_applied(simulated.receipt, part.count):
                run.outcome(part, "already_applied", error_code="duplicate_ref")
                index += 1
                continue
        try:
            raw, _validators = sign_tx(client, opts, signer, msg, keys, simulated=simulated)
            data = submission(client, raw, opts)
        except CliError as exc:
            run.outcome(part, "failed", error=exc.message)
            raise
        except grpc.RpcError as exc:
            run.outcome(part, "failed", error_code=ledger_code(exc), error=exc.details() or "")
            raise rpc_error(exc) from exc
        sent += 1
        index += 1
        _record_sent(run, part, data, opts)


class _Smaller(Exception):
    """The node refused a part of several awards as over a size limit it applies now."""


def _simulate(
    run: _Run,
    part: Part,
    client: LedgerClient,
    opts: TxOptions,
    signer: str,
    msg: ledger_pb2.AwardPoints,
) -> services_pb2.SimulateTxResponse:
    """The part's simulation; a refusal other than "already applied" is recorded and raised
    as the one transaction's path raises it."""
    try:
        reply = simulate_draft(client, opts, signer, msg)
    except CliError as exc:
        cause = exc.__cause__
        code = ledger_code(cause) if isinstance(cause, grpc.RpcError) else ""
        if part.count > 1 and code in _PART_SIZE_CODES and run.planner is not None:
            raise _Smaller from exc
        run.outcome(part, "refused", error_code=code, error=exc.message)
        raise
    except grpc.RpcError as exc:
        run.outcome(part, "refused", error_code=ledger_code(exc), error=exc.details() or "")
        raise rpc_error(exc) from exc
    receipt = reply.receipt
    if receipt.code != 0 and not _all_already_applied(receipt, part.count):
        run.outcome(part, "refused", error_code=receipt.error_code, error=receipt.message)
        refuse_failed_simulation(reply)
    return reply


def _recut(run: _Run, client: LedgerClient, part: Part) -> list[Part]:
    """The parts still to send, from ``part`` on, cut again to the sizes the node takes."""
    assert run.planner is not None  # _simulate refuses the part otherwise
    left = run.awards[part.start :]
    most, bytes_ = run.planner.node_bounds(client, left, part.count)
    if most >= part.count and not bytes_:  # taken now (the limit moved meanwhile): halve it
        most = part.count // 2
    return run.planner.parts(left, part.start, most, bytes_)


def _record_sent(run: _Run, part: Part, data: dict[str, Any], opts: TxOptions) -> None:
    """Record a submitted part; one not committed, or committed failed, stops the run."""
    receipt = data.get("receipt")
    if not data["committed"] or receipt is None:
        run.outcome(part, "pending", **data)
        raise not_committed(data, opts)
    if receipt["code"] == 0:
        run.outcome(part, "committed", **data)
        return
    failed = ledger_pb2.Receipt(
        code=receipt["code"], error_code=receipt["error_code"], message=receipt["message"]
    )
    if _all_already_applied(failed, part.count):  # sent unsimulated (--no-simulate)
        run.outcome(part, "already_applied", **data)
        return
    run.outcome(part, "failed", **data)
    raise CliError(
        f"committed but failed: {receipt['message']} [{receipt['error_code']}]", EXIT_LEDGER
    )


def _summary(entry: dict[str, Any]) -> dict[str, int]:
    """The ``award_points`` event of a committed part's receipt, as numbers."""
    receipt = entry.get("receipt") or {}
    for event in receipt.get("events", ()):
        if event["type"] == "award_points":
            return {key: int(event[key]) for key in ("applied", "rejected", "points")}
    return {"applied": 0, "rejected": 0, "points": 0}


def _totals(run: _Run) -> dict[str, int]:
    statuses = [entry["status"] for entry in run.outcomes]
    committed = [entry for entry in run.outcomes if entry["status"] == "committed"]
    sums = [_summary(entry) for entry in committed]
    return {
        "parts": len(run.parts),
        "committed": len(committed),
        "already_applied": statuses.count("already_applied"),
        "not_sent": len(run.parts) - len(run.outcomes),
        "awards": len(run.awards),
        "applied": sum(s["applied"] for s in sums),
        "rejected": sum(s["rejected"] for s in sums),
        "points": sum(s["points"] for s in sums),
        "already_applied_awards": sum(
            entry["awards"] for entry in run.outcomes if entry["status"] == "already_applied"
        ),
    }


def _not_sent(run: _Run) -> list[dict[str, Any]]:
    """The parts the run did not reach, as entries of the JSON document."""
    return [
        {"part": number, "first_award": part.start, "awards": part.count, "status": "not_sent"}
        for number, part in enumerate(run.parts, start=1)
        if number > len(run.outcomes)
    ]


def _show(run: _Run) -> None:
    """One JSON document for the run, or a line per part (and its refused awards) and the
    totals."""
    totals = _totals(run)
    if chosen_output(run.opts.output) == "json":
        emit({"parts": run.outcomes + _not_sent(run), "totals": totals}, run.opts.output)
        return
    for entry in run.outcomes + _not_sent(run):
        _show_part(run, entry)
    click.echo(
        f"{totals['committed']} of {totals['parts']} parts committed, "
        f"{totals['already_applied']} already applied; {totals['applied']} of "
        f"{totals['awards']} awards applied ({totals['points']} points), "
        f"{totals['rejected']} refused, {totals['already_applied_awards']} applied before"
    )


def _show_part(run: _Run, entry: dict[str, Any]) -> None:
    first, last = entry["first_award"], entry["first_award"] + entry["awards"] - 1
    head = f"{run.label(entry['part'])} (awards {first}-{last}): "
    status = entry["status"]
    if status == "committed":
        summary = _summary(entry)
        refused = [e for e in entry["receipt"]["events"]
                   if e["type"] == "award" and e["outcome"] != "ok"]  # fmt: skip
        click.echo(
            f"{head}tx {entry['tx_hash']}: {summary['applied']} of {entry['awards']} awards "
            f"applied ({summary['points']} points)"
            + (f"; {len(refused)} refused:" if refused else "")
        )
        for e in refused:
            index = first + int(e["index"])
            click.echo(f"  award {index} ({run.wheres[index]}): {e['outcome']}")
    elif status == "already_applied":
        click.echo(f"{head}already applied: every award's reference was used before")
    elif status == "not_sent":
        click.echo(f"{head}not sent")
    elif status == "pending":
        click.echo(f"{head}tx {entry['tx_hash']}: admitted, not committed yet")
    else:
        code = f" [{entry['error_code']}]" if entry.get("error_code") else ""
        click.echo(f"{head}{status}: {entry.get('error', '')}{code}")


def _parts(numbers: Sequence[int]) -> str:
    """``part 3``, ``parts 3-5`` (consecutive), ``parts 1, 3``."""
    if len(numbers) == 1:
        return f"part {numbers[0]}"
    if list(numbers) == list(range(numbers[0], numbers[-1] + 1)):
        return f"parts {numbers[0]}-{numbers[-1]}"
    return "parts " + ", ".join(str(n) for n in numbers)


def _stopped(run: _Run, exc: CliError) -> CliError:
    """``exc``, the refusal that stopped the run at its last part, saying which parts are on
    the ledger and which this run did not send (same exit code)."""
    entry = run.outcomes[-1]
    number, total = entry["part"], len(run.parts)
    where = f"awards {entry['first_award']}-{entry['first_award'] + entry['awards'] - 1}, " + (
        f"the first {run.wheres[entry['first_award']]}"
    )
    on = [e["part"] for e in run.outcomes if e["status"] in ("committed", "already_applied")]
    said = [f"on the ledger: {_parts(on) if on else 'no part'}"]
    if entry["status"] == "pending":
        said.append(f"part {number} may still commit")
        number += 1
    elif entry["status"] == "failed":
        said.append(f"part {number} failed once sent")
        number += 1
    if number <= total:
        said.append(f"not sent by this run: {_parts(range(number, total + 1))}")
    return CliError(
        f"{run.label(entry['part'])} ({where}): {exc.message}; {'; '.join(said)}; once the "
        "cause is fixed, run the same file again: the parts on the ledger are skipped as "
        "already applied",
        exc.exit_code,
    )
