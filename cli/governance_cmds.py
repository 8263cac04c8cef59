"""Governance commands (issue 16): ``tx propose`` and ``tx vote``, and ``query proposals``,
``query proposal``, ``query validators`` and ``query params``.

A proposal carries one or more actions given as repeatable options; the ledger checks them
when the proposal is submitted (the simulation before signing shows a refusal) and again when
it executes. Actions run in a fixed order: validator-set changes (add, remove, power, address,
key), role grants and revocations, one parameter change with every ``--set-param``, issuer
appointments, freezes, unfreezes. Validators are named by public key (64 hex digits) or by
name, looked up in the latest validator set. cli/main.py adds ``GOVERNANCE_TX_COMMANDS`` to
``tx`` and ``GOVERNANCE_QUERY_COMMANDS`` to ``query``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click

from carbon_ticket.chain.records import ROLES
from carbon_ticket.cli import render
from carbon_ticket.cli.common import (
    EXIT_USAGE,
    CliError,
    chosen_output,
    connect,
    emit,
    node_option,
    output_option,
    parse_address_arg,
    reports_errors,
)
from carbon_ticket.cli.submit import TxOptions, send_tx, tx_options
from carbon_ticket.proto import ledger_pb2, services_pb2

__all__ = ["GOVERNANCE_QUERY_COMMANDS", "GOVERNANCE_TX_COMMANDS", "parse_actions"]

_KEY_RE = re.compile(r"[0-9a-fA-F]{64}")
_VOTE_OPTIONS = ("yes", "no", "abstain")
_STATUSES = ("voting", "passed", "failed", "rejected", "expired")


def _fields(text: str, count: tuple[int, ...], form: str) -> list[str]:
    parts = text.split(":")
    if len(parts) not in count or not all(p.strip() for p in parts):
        raise CliError(f"invalid action {text!r}: write {form}", EXIT_USAGE)
    return [p.strip() for p in parts]


def _public_key(text: str, what: str) -> bytes:
    if not _KEY_RE.fullmatch(text):
        raise CliError(f"invalid {what} {text!r}: write 64 hex digits", EXIT_USAGE)
    return bytes.fromhex(text)


def _whole(text: str, what: str) -> int:
    if not text.isdigit() or int(text) == 0 or int(text) > 2**32:
        raise CliError(f"invalid {what} {text!r}: a whole number from 1 to 2^32", EXIT_USAGE)
    return int(text)


def _role(text: str) -> int:
    name = text.strip().lower().replace("-", "_")
    if name not in ROLES[2:]:
        raise CliError(f"invalid role {text!r}: one of {', '.join(ROLES[2:])}", EXIT_USAGE)
    return ROLES.index(name)


class _Validators:
    """Resolves PUBKEY|NAME against the latest validator set (asked once, only if a name is
    used)."""

    def __init__(self, node: str) -> None:
        self._node = node
        self._by_name: dict[str, bytes] | None = None

    def key(self, text: str) -> bytes:
        if _KEY_RE.fullmatch(text):
            return bytes.fromhex(text)
        if self._by_name is None:
            with connect(self._node) as stub:
                reply = stub.GetValidators(services_pb2.GetValidatorsRequest(), timeout=10)
            latest = reply.pending or reply.validators
            self._by_name = {v.name: bytes(v.public_key) for v in latest}
        if text not in self._by_name:
            raise CliError(
                f"no validator named {text!r} in the latest set (known: "
                f"{', '.join(sorted(self._by_name))}); give its public key instead",
                EXIT_USAGE,
            )
        return self._by_name[text]


def _action(**kwargs: Any) -> ledger_pb2.GovAction:
    return ledger_pb2.GovAction(**kwargs)


def parse_actions(
    options: dict[str, tuple[str, ...]], reason: str, keystore: Path | None, node: str
) -> list[ledger_pb2.GovAction]:
    """The proposal's actions from the command's options (the order of the module doc)."""
    validators = _Validators(node)

    def address(text: str) -> str:
        return parse_address_arg(text.strip(), keystore)

    actions: list[ledger_pb2.GovAction] = []
    for text in options["add_validator"]:
        form = "NAME:PUBKEY_HEX:HOST:PORT[:POWER[:OPERATOR]]"
        parts = _fields(text, (4, 5, 6), form)
        actions.append(
            _action(
                add_validator=ledger_pb2.AddValidator(
                    name=parts[0],
                    public_key=_public_key(parts[1], "public key"),
                    network_address=f"{parts[2]}:{parts[3]}",
                    power=_whole(parts[4], "power") if len(parts) > 4 else 1,
                    operator=address(parts[5]) if len(parts) > 5 else "",
                )
            )
        )
    for text in options["remove_validator"]:
        key = validators.key(text.strip())
        actions.append(_action(remove_validator=ledger_pb2.RemoveValidator(public_key=key)))
    for text in options["set_power"]:
        who, power = _fields(text, (2,), "PUBKEY|NAME:POWER")
        actions.append(
            _action(
                set_validator_power=ledger_pb2.SetValidatorPower(
                    public_key=validators.key(who), power=_whole(power, "power")
                )
            )
        )
    for text in options["set_address"]:
        who, host, port = _fields(text, (3,), "PUBKEY|NAME:HOST:PORT")
        actions.append(
            _action(
                set_validator_address=ledger_pb2.SetValidatorAddress(
                    public_key=validators.key(who), network_address=f"{host}:{port}"
                )
            )
        )
    for text in options["rotate_key"]:
        who, new = _fields(text, (2,), "PUBKEY|NAME:NEW_PUBKEY_HEX")
        actions.append(
            _action(
                rotate_validator_key=ledger_pb2.RotateValidatorKey(
                    public_key=validators.key(who),
                    new_public_key=_public_key(new, "new public key"),
                )
            )
        )
    for field, texts in (
        ("grant_role", options["grant_role"]),
        ("revoke_role", options["revoke_role"]),
    ):
        for text in texts:
            who, role = _fields(text, (2,), "ADDR:ROLE")
            message = {"address": address(who), "role": _role(role)}
            actions.append(_action(**{field: message}))
    if options["set_param"]:
        changes = []
        for text in options["set_param"]:
            name, equals, value = text.partition("=")
            if not equals or not name.strip() or not value.strip():
                raise CliError(f"invalid --set-param {text!r}: write NAME=VALUE", EXIT_USAGE)
            changes.append(ledger_pb2.ParamChange(name=name.strip(), value=value.strip()))
        actions.append(_action(change_params=ledger_pb2.ChangeParams(changes=changes)))
    for text in options["appoint_issuer"]:
        project_id, issuer = _fields(text, (2,), "PROJECT:ISSUER")
        actions.append(
            _action(
                appoint_issuer=ledger_pb2.AppointIssuer(
                    project_id=project_id, issuer=address(issuer)
                )
            )
        )
    for text in options["freeze"]:
        actions.append(
            _action(freeze_account=ledger_pb2.FreezeAccount(address=address(text), reason=reason))
        )
    for text in options["unfreeze"]:
        actions.append(_action(unfreeze_account=ledger_pb2.UnfreezeAccount(address=address(text))))
    return actions


_ACTION_OPTIONS = (
    ("--add-validator", "NAME:PUBKEY_HEX:HOST:PORT[:POWER[:OPERATOR]] (operator: address or "
                        "@key; default the validator's own account)"),
    ("--remove-validator", "PUBKEY|NAME"),
    ("--set-power", "PUBKEY|NAME:POWER"),
    ("--set-address", "PUBKEY|NAME:HOST:PORT"),
    ("--rotate-key", "PUBKEY|NAME:NEW_PUBKEY_HEX (the validator keeps its operator)"),
    ("--grant-role", "ADDR:ROLE"),
    ("--revoke-role", "ADDR:ROLE"),
    ("--set-param", "NAME=VALUE, e.g. limits.max_block_txs=5000 (in force from the next "
                    "block; names and values now: query params)"),
    ("--appoint-issuer", "PROJECT:ISSUER (project handover)"),
    ("--freeze", "ADDR (it can still receive; see --reason)"),
    ("--unfreeze", "ADDR"),
)  # fmt: skip


def _with_action_options(func: Any) -> Any:
    for flag, help_text in reversed(_ACTION_OPTIONS):
        func = click.option(flag, multiple=True, help=f"Action, repeatable: {help_text}.")(func)
    return func


@click.command("propose")
@click.option("--title", required=True)
@click.option("--description-uri", default="", help="Where the full text can be read.")
@click.option("--description-hash", default="", help="SHA-256 of the description, hex.")
@click.option(
    "--voting-period",
    type=click.IntRange(min=0),
    default=0,
    help="Blocks the votes stay open (0: params.governance.default_voting_period).",
)
@click.option("--reason", default="", help="Reason recorded with every --freeze.")
@_with_action_options
@tx_options
def propose(
    opts: TxOptions,
    title: str,
    description_uri: str,
    description_hash: str,
    voting_period: int,
    reason: str,
    **options: tuple[str, ...],
) -> None:
    """Governance: submit a proposal (the key must be a validator's operator)."""
    actions = parse_actions(options, reason, opts.keystore, opts.node)
    if not actions:
        raise CliError("a proposal needs at least one action option", EXIT_USAGE)
    digest = b""
    if description_hash:
        digest = _public_key(description_hash.strip(), "description hash")
    send_tx(opts, ledger_pb2.SubmitProposal(
        title=title, description_uri=description_uri, description_hash=digest,
        voting_period=voting_period, actions=actions,
    ))  # fmt: skip


@click.command("vote")
@click.argument("proposal_id", type=click.IntRange(min=1))
@click.argument("option", type=click.Choice(_VOTE_OPTIONS, case_sensitive=False))
@tx_options
def vote(opts: TxOptions, proposal_id: int, option: str) -> None:
    """Governance: vote yes, no or abstain on PROPOSAL_ID as a validator's operator.

    The receipt says when this vote decided the proposal (passed: its actions ran in this block;
    failed: an action failed and nothing changed; rejected).
    """
    msg = ledger_pb2.CastVote(proposal_id=proposal_id, option=f"VOTE_OPTION_{option.upper()}")
    outcome = send_tx(opts, msg)
    receipt = outcome.get("receipt") or {}
    status = next(
        (e.get("status") for e in receipt.get("events", []) if e.get("type") == "cast_vote"), None
    )
    if status and chosen_output(opts.output) != "json":
        click.echo(f"proposal {proposal_id}: {status}")


GOVERNANCE_TX_COMMANDS = (propose, vote)


# ---------------------------------------------------------------- queries


def _proposal_row(p: services_pb2.ProposalInfo) -> tuple[str, ...]:
    tally = f"{p.yes_power}/{p.no_power}/{p.abstain_power} of {p.total_power}"
    return (str(p.proposal_id), p.status, str(p.deadline_height), tally, p.title)


@click.command("proposals")
@click.option("--status", type=click.Choice(_STATUSES), help="Only proposals with this status.")
@click.option("--limit", type=click.IntRange(1, 1000), default=50, show_default=True)
@click.option("--page-token", default="", help="next_page_token of the previous page.")
@node_option
@output_option
@reports_errors
def proposals(status: str | None, limit: int, page_token: str, node: str, output: str) -> None:
    """Governance proposals, newest first: status, deadline, tally (yes/no/abstain of total)."""
    request = services_pb2.ListProposalsRequest(
        status=status or "", page_size=limit, page_token=page_token
    )
    with connect(node) as stub:
        reply = stub.ListProposals(request, timeout=10)
    if chosen_output(output) == "json":
        emit(render.message_dict(reply), output)
        return
    rows = [_proposal_row(p) for p in reply.items]
    render.print_rows(("ID", "STATUS", "DEADLINE", "YES/NO/ABSTAIN", "TITLE"), rows)
    if reply.next_page_token:
        click.echo(f"more: --page-token {reply.next_page_token}")


@click.command("proposal")
@click.argument("proposal_id", type=click.IntRange(min=1))
@node_option
@output_option
@reports_errors
def proposal(proposal_id: int, node: str, output: str) -> None:
    """One proposal: its actions, votes with their power, tally, status, deadline and the
    error of a failed execution."""
    with connect(node) as stub:
        reply = stub.GetProposal(
            services_pb2.GetProposalRequest(proposal_id=proposal_id), timeout=10
        )
    emit(render.message_dict(reply), output)


@click.command("validators")
@click.option("--height", type=click.IntRange(min=1), help="Default: the next height.")
@node_option
@output_option
@reports_errors
def validators(height: int | None, node: str, output: str) -> None:
    """The validator set in effect at a height (name, public key, address, operator, power,
    network address, effective from) and the change pending after it, if any."""
    with connect(node) as stub:
        reply = stub.GetValidators(
            services_pb2.GetValidatorsRequest(height=height or 0), timeout=10
        )
    if chosen_output(output) == "json":
        emit(render.message_dict(reply), output)
        return
    click.echo(
        f"height {reply.height} (in effect from {reply.effective_height}), total power "
        f"{reply.total_power}, committed height {reply.committed_height}"
    )
    _validator_rows(reply.validators)
    if reply.pending_height:
        click.echo(f"pending: from height {reply.pending_height}")
        _validator_rows(reply.pending)


def _validator_rows(entries: Any) -> None:
    header = ("NAME", "POWER", "NETWORK ADDRESS", "OPERATOR", "PUBLIC KEY")
    rows = [
        (v.name, str(v.power), v.network_address, v.operator, bytes(v.public_key).hex())
        for v in entries
    ]
    render.print_rows(header, rows, indent="  ")


@click.command("params")
@click.option("--changed", is_flag=True, help="Only the parameters governance changed.")
@node_option
@output_option
@reports_errors
def params(changed: bool, node: str, output: str) -> None:
    """The chain parameters in force for the next block, by the names `tx propose --set-param`
    takes, with the genesis value of each that governance changed."""
    with connect(node) as stub:
        reply = stub.GetParams(services_pb2.GetParamsRequest(), timeout=10)
    entries = [p for p in reply.params if not changed or p.value != p.genesis_value]
    if chosen_output(output) == "json":
        emit({"height": reply.height, "params": [render.message_dict(p) for p in entries]}, output)
        return
    click.echo(f"parameters in force after height {reply.height}")
    rows = [(p.name, p.value, p.genesis_value if p.value != p.genesis_value else "")
            for p in entries]  # fmt: skip
    if rows:
        render.print_rows(("NAME", "VALUE", "GENESIS (if changed)"), rows)
    elif changed:
        click.echo("none changed since genesis")


GOVERNANCE_QUERY_COMMANDS = (proposals, proposal, validators, params)
