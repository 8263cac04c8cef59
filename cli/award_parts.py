"""``tx award-points`` with more awards than one transaction holds: the awards go out as several
transactions, the *parts*, one after another (cli/residents_cmds.py calls ``plan_parts`` and,
for more than one part, ``send_parts``).

A part holds as many awards, in the order they were written, as one signed transaction of the
chain may carry: ``limits.max_tx_bytes`` of envelope (signatures, chain id and the longest
nonce counted, so that the same file splits the same way on every run) and ``limits.max_awards``
awards, as the node says they are in force now (``GetParams``: governance may have changed them
since genesis). Should a proposal lower them during a run, the node refuses the next part as too
large (exit 2) and running the file again cuts it anew, skipping the parts on the ledger.

Parts are sent as a single transaction is (simulated, signed, submitted and waited for), with
the keys loaded once (one password) and consecutive nonces (``--nonce N``: N, N+1, ...). A part
whose simulation fails with every award's reference already used (``duplicate_ref``) is
*already applied*, by an earlier run of the same file: nothing is signed and the run goes on,
so running a file again after a partial failure is safe. Any other refusal stops the run: no
later part is signed or sent, and the command exits as the one transaction's path would.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

import click
import grpc

from carbon_ticket.chain.check import check_message
from carbon_ticket.chain.limits import Limits
from carbon_ticket.chain.tx import SIGNATURE_BYTES
from carbon_ticket.cli.client import LedgerClient, make_body
from carbon_ticket.cli.common import (
    EXIT_USAGE,
    CliError,
    chosen_output,
    committed_tx,
    connect,
    emit,
    ledger_code,
    rpc_error,
)
from carbon_ticket.cli.submit import (
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

__all__ = ["Part", "award_lines", "plan_parts", "send_parts", "split_awards"]

# A part's size is measured with the longest nonce (a 10-byte varint), so that where a file
# splits does not depend on the signer's nonce: a rerun meets the same parts.
_LONGEST_NONCE = 2**64 - 1


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
    """Bytes of the signed envelope carrying ``awards``: the body as the wallet signs it
    (``make_body``: texts in NFC, which may be longer than as written) with the nonce at its
    longest, and ``signatures`` signatures."""
    msg = ledger_pb2.AwardPoints(awards=awards)
    body = make_body(chain_id, signer, _LONGEST_NONCE, msg, memo)
    envelope = ledger_pb2.TxEnvelope(body=body.SerializeToString(deterministic=True))
    return envelope.ByteSize() + signatures * SIGNATURE_BYTES


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


def _limits_in_force(stub: Any, timeout: float) -> tuple[str, Limits]:
    """The chain id and the size limits in force for the next block (``GetParams``); a limit
    this wallet does not know is left out, one the node does not name keeps its default. A node
    older than ``GetParams`` gives its genesis' limits, which governance may have changed (the
    node then refuses a part as too large, exit 2)."""
    try:
        reply = stub.GetParams(services_pb2.GetParamsRequest(), timeout=timeout)
    except grpc.RpcError as exc:
        if exc.code() != grpc.StatusCode.UNIMPLEMENTED:
            raise
        from carbon_ticket.chain.genesis import Genesis

        info = stub.GetGenesis(services_pb2.GetGenesisRequest(), timeout=timeout)
        genesis = Genesis.from_json(info.genesis_json)
        return genesis.chain_id, genesis.params.limits
    known = {f.name for f in fields(Limits)}
    values = {
        name: int(p.value)
        for p in reply.params
        if p.name.startswith("limits.") and (name := p.name.removeprefix("limits.")) in known
    }
    return reply.chain_id, Limits(**values)


def _fits(
    opts: TxOptions, signer: str, chain_id: str, limits: Limits
) -> Callable[[Sequence[ledger_pb2.Award]], bool]:
    """Whether a part of these awards, signed by ``opts``' keys, fits ``limits.max_tx_bytes``."""
    signatures = len(set(opts.key))
    chain_id = opts.chain_id or chain_id

    def fits(part: Sequence[ledger_pb2.Award]) -> bool:
        return _signed_size(part, chain_id, signer, opts.memo, signatures) <= limits.max_tx_bytes

    return fits


def plan_parts(opts: TxOptions, msg: ledger_pb2.AwardPoints) -> list[Part]:
    """The parts ``msg``'s awards go out in; one part, without asking the node, when the command
    sends without asking it (``--no-simulate`` with ``--chain-id`` and ``--nonce``). A field
    over its limit (a reference longer than ``max_id_bytes``) is refused first, as bad input,
    as the node refuses it in one transaction."""
    if opts.no_simulate and opts.chain_id is not None and opts.nonce is not None:
        return [Part(0, len(msg.awards))]
    with connect(opts.node) as stub:
        chain_id, limits = _limits_in_force(stub, opts.timeout)
    signer = tx_signer(opts)
    whole = replace(limits, max_awards=max(limits.max_awards, len(msg.awards)))
    check_message(make_body(chain_id, signer, 0, msg, opts.memo), whole)
    return split_awards(msg.awards, _fits(opts, signer, chain_id, limits), limits.max_awards)


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
    outcomes: list[dict[str, Any]] = field(default_factory=list)

    def outcome(self, part: Part, status: str, **details: Any) -> dict[str, Any]:
        entry = {"part": len(self.outcomes) + 1, "first_award": part.start,
                 "awards": part.count, "status": status, **details}  # fmt: skip
        self.outcomes.append(entry)
        return entry

    def label(self, number: int) -> str:
        return f"part {number} of {len(self.parts)}"


def send_parts(
    opts: TxOptions, msg: ledger_pb2.AwardPoints, parts: list[Part], wheres: list[str]
) -> None:
    """Send ``parts`` (more than one) of ``msg``'s awards as the module says; print one JSON
    document or a line per part and the totals; raise the refusal that stopped the run."""
    # --no-simulate too: a part's simulation is what tells a part already applied by an
    # earlier run, so that running the file again is safe
    flags = ((opts.out, "--out"), (opts.no_wait, "--no-wait"), (opts.no_simulate, "--no-simulate"))
    for option, flag in flags:
        if option:
            raise CliError(
                f"these {len(msg.awards)} awards need {len(parts)} transactions and {flag} "
                f"takes one: send them without {flag}, or split the file into parts of at most "
                f"{max(p.count for p in parts)} awards",
                EXIT_USAGE,
            )
    signer = tx_signer(opts)
    keys = load_keys(opts)
    run = _Run(opts, msg.awards, wheres, parts)
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
    for part in run.parts:
        opts = (
            run.opts if run.opts.nonce is None else replace(run.opts, nonce=run.opts.nonce + sent)
        )
        msg = ledger_pb2.AwardPoints(awards=run.awards[part.start : part.stop])
        simulated = _simulate(run, part, client, opts, signer, msg)
        if _all_already_applied(simulated.receipt, part.count):
            run.outcome(part, "already_applied", error_code="duplicate_ref")
            continue
        try:
            raw, _validators = sign_tx(client, opts, signer, msg, keys, simulated=simulated)
        except CliError as exc:  # refused before anything was sent
            run.outcome(part, "refused", error=exc.message)
            raise
        try:
            data = submission(client, raw, opts)
        except grpc.RpcError as exc:
            run.outcome(part, _refusal_status(exc), error_code=ledger_code(exc),
                        error=exc.details() or "")  # fmt: skip
            raise rpc_error(exc) from exc
        sent += 1
        _record_sent(run, part, data, opts)


def _refusal_status(exc: grpc.RpcError) -> str:
    """What a refused submission did: ``failed`` once committed (the node names the tx and the
    height, its nonce is used), ``pending`` when the node may have it (unreachable during the
    call), else ``refused`` (not admitted: nothing on the ledger)."""
    if exc.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        return "pending"
    return "failed" if committed_tx(exc) else "refused"


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


def _record_sent(run: _Run, part: Part, data: dict[str, Any], opts: TxOptions) -> None:
    """Record a submitted part; one not committed within the wait stops the run. (A part that
    commits and fails ends the call with an error status: ``_refusal_status``.)"""
    if not data["committed"] or data.get("receipt") is None:
        run.outcome(part, "pending", **data)
        raise not_committed(data, opts)
    run.outcome(part, "committed", **data)


def _summary(receipt: dict[str, Any]) -> dict[str, int]:
    """The ``award_points`` event of a committed receipt, as numbers."""
    for event in receipt.get("events", ()):
        if event["type"] == "award_points":
            return {key: int(event[key]) for key in ("applied", "rejected", "points")}
    return {"applied": 0, "rejected": 0, "points": 0}


def award_lines(
    receipt: dict[str, Any], wheres: Sequence[str], first: int, count: int
) -> list[str]:
    """Under a committed ``AwardPoints`` receipt of ``count`` awards (the run's from index
    ``first``): how many applied, then each refused one with where it was written and its error
    code (among thousands of ``award`` events, the few that failed)."""
    summary = _summary(receipt)
    refused = [e for e in receipt["events"] if e["type"] == "award" and e["outcome"] != "ok"]
    line = f"{summary['applied']} of {count} awards applied ({summary['points']} points)"
    lines = [line + (f"; {len(refused)} refused:" if refused else "")]
    for e in refused:
        index = first + int(e["index"])
        lines.append(f"  award {index} ({wheres[index]}): {e['outcome']}")
    return lines


def _totals(run: _Run) -> dict[str, int]:
    statuses = [entry["status"] for entry in run.outcomes]
    committed = [entry for entry in run.outcomes if entry["status"] == "committed"]
    sums = [_summary(entry["receipt"]) for entry in committed]
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
        lines = award_lines(entry["receipt"], run.wheres, first, entry["awards"])
        click.echo(f"{head}tx {entry['tx_hash']}: " + "\n".join(lines))
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
        "cause is fixed, run the same file again within the award window: the parts on the "
        "ledger are skipped as already applied",
        exc.exit_code,
    )
