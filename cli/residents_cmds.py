"""``carbon-ticket tx`` commands of the residents' flow (issue 15): award points, exchange points
for tickets, register a merchant's offer and redeem it.

They use the shared transaction path of cli/submit.py (simulation before signing, signing,
submitting, waiting for the commit); cli/main.py adds ``RESIDENT_TX_COMMANDS`` to the ``tx``
group. An ``award-points`` transaction carries many awards, each with its own outcome in the
receipt (an invalid award changes nothing, the others apply; see chain/rules/points.py).
"""

from __future__ import annotations

import csv
import datetime
from pathlib import Path
from typing import Any

import click

from carbon_ticket.chain.errors import InvalidAddress
from carbon_ticket.chain.records import ACTIVITIES
from carbon_ticket.cli.award_parts import award_lines, plan_parts, send_parts
from carbon_ticket.cli.client import LedgerClient
from carbon_ticket.cli.common import (
    EXIT_USAGE,
    CliError,
    chosen_output,
    parse_address_arg,
    parse_amount_arg,
)
from carbon_ticket.cli.completion import complete_address_or_key
from carbon_ticket.cli.submit import AfterCommit, TxOptions, send_tx, tx_options
from carbon_ticket.cli.tx_cmds import _period
from carbon_ticket.proto import ledger_pb2, services_pb2

__all__ = ["RESIDENT_TX_COMMANDS", "parse_award", "read_awards_csv"]

# Fields of one award, in --award text (colon-separated) and in the columns of --file.
AWARD_FIELDS = ("recipient", "activity", "day", "points", "ref", "evidence_hash")
_ACTIVITY_NAMES = tuple(name.replace("_", "-") for name in ACTIVITIES[1:])


def _activity(text: str) -> int:
    """The proto ``Activity`` value of an activity name (``tree-planting`` or ``tree_planting``)."""
    name = text.strip().lower().replace("-", "_")
    if name not in ACTIVITIES[1:]:
        raise CliError(
            f"invalid activity {text!r}: one of {', '.join(_ACTIVITY_NAMES)}", EXIT_USAGE
        )
    return ACTIVITIES.index(name)


def _day(text: str) -> int:
    """A calendar day written YYYYMMDD (in the chain's time zone)."""
    value = text.strip()
    try:
        if len(value) != 8 or not value.isdigit():
            raise ValueError
        datetime.date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        raise CliError(f"invalid day {text!r}: write a calendar day YYYYMMDD", EXIT_USAGE) from None
    return int(value)


def _count(text: str, what: str) -> int:
    """A positive whole number of points (or grams)."""
    value = text.strip()
    if not value.isdigit() or int(value) == 0 or int(value) >= 2**63:
        raise CliError(f"invalid {what} {text!r}: a whole number above 0", EXIT_USAGE)
    return int(value)


def _evidence(text: str) -> bytes:
    if not text.strip():
        return b""
    try:
        value = bytes.fromhex(text.strip())
    except ValueError:
        value = b""
    if len(value) != 32:
        raise CliError(f"invalid evidence hash {text!r}: write 64 hex digits", EXIT_USAGE)
    return value


# How to write one award, by where it was written (an error message ends with it).
_AWARD_FORM = "write RESIDENT:ACTIVITY:DAY:POINTS:REF[:EVIDENCE_HASH]"
_ROW_FORM = f"write the columns {','.join(AWARD_FIELDS[:5])}[,{AWARD_FIELDS[5]}]"


def _award_of(fields: list[str], keystore: Path | None, where: str, form: str) -> ledger_pb2.Award:
    """The award written ``fields``; a bad field is refused naming ``where`` it was written (a
    file of thousands of awards needs the line)."""
    if len(fields) not in (5, 6):
        raise CliError(f"invalid award {where}: {form}", EXIT_USAGE)
    ref = fields[4].strip()
    if not ref:
        raise CliError(f"invalid award {where}: the external reference is empty", EXIT_USAGE)
    try:
        return ledger_pb2.Award(
            recipient=parse_address_arg(fields[0].strip(), keystore),
            activity=_activity(fields[1]),  # type: ignore[arg-type]
            day=_day(fields[2]),
            points=_count(fields[3], "points"),
            external_ref=ref,
            evidence_hash=_evidence(fields[5]) if len(fields) == 6 else b"",
        )
    except InvalidAddress as exc:
        raise CliError(f"invalid award {where}: {exc.message} [{exc.code}]", EXIT_USAGE) from exc
    except CliError as exc:
        raise CliError(f"invalid award {where}: {exc.message}", exc.exit_code) from exc


def parse_award(text: str, keystore: Path | None = None) -> ledger_pb2.Award:
    """One award from ``RESIDENT:ACTIVITY:DAY:POINTS:REF[:EVIDENCE_HASH]`` (RESIDENT may be
    ``@key``); a reference holding ``:`` goes in a --file instead."""
    return _award_of(text.split(":"), keystore, f"--award {text!r}", _AWARD_FORM)


def _awards_in_file(path: Path, keystore: Path | None) -> list[tuple[ledger_pb2.Award, str]]:
    """The awards of a CSV file, each with where it was written (``on line N of FILE``)."""
    try:
        # utf-8-sig: spreadsheets save "CSV UTF-8" with a byte order mark before the header
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read {path}: {exc}", EXIT_USAGE) from exc
    awards = []
    for number, row in enumerate(csv.reader(text.splitlines()), start=1):
        if not any(cell.strip() for cell in row):
            continue
        if number == 1 and row[0].strip().lower() == AWARD_FIELDS[0]:
            continue
        where = f"on line {number} of {path}"
        awards.append((_award_of(row, keystore, where, _ROW_FORM), where))
    return awards


def read_awards_csv(path: Path, keystore: Path | None = None) -> list[ledger_pb2.Award]:
    """Awards from a CSV file with the columns of ``AWARD_FIELDS`` (evidence_hash optional);
    a first row naming the columns is skipped, as are empty rows."""
    return [award for award, _where in _awards_in_file(path, keystore)]


def _refuse_repeated_refs(awards: list[tuple[ledger_pb2.Award, str]]) -> None:
    """The ledger refuses a whole transaction in which two awards share a reference: say which
    two before anything is sent."""
    first: dict[str, str] = {}
    for award, where in awards:
        if award.external_ref in first:
            raise CliError(
                f"the award {where} repeats the external reference {award.external_ref!r} of "
                f"the award {first[award.external_ref]}: give each award its own reference "
                "[duplicate_ref]",
                EXIT_USAGE,
            )
        first[award.external_ref] = where


@click.command("award-points")
@click.option(
    "--award",
    "award_texts",
    multiple=True,
    help="RESIDENT:ACTIVITY:DAY:POINTS:REF[:EVIDENCE_HASH] (repeatable); DAY is YYYYMMDD.",
)
@click.option(
    "--file",
    "award_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="CSV of awards: recipient,activity,day,points,ref[,evidence_hash].",
)
@tx_options
def award_points(opts: TxOptions, award_texts: tuple[str, ...], award_file: Path | None) -> None:
    """Points operator: award carbon sink points to residents, many awards in one transaction.

    Activities: walk, cycle, tree-planting, forest-adoption, forest-grassland-protection,
    wildlife-conservation, other. Each award gets its own outcome in the receipt.
    """
    awards = [(parse_award(text, opts.keystore), f"--award {text!r}") for text in award_texts]
    if award_file is not None:
        in_file = _awards_in_file(award_file, opts.keystore)
        if not in_file and not awards:
            raise CliError(f"no awards in {award_file}: it has no rows but a header", EXIT_USAGE)
        awards.extend(in_file)
    if not awards:
        raise CliError("nothing to award: give --award or --file", EXIT_USAGE)
    _refuse_repeated_refs(awards)
    msg = ledger_pb2.AwardPoints(awards=[award for award, _where in awards])
    wheres = [where for _award, where in awards]
    parts = plan_parts(opts, msg)
    if len(parts) > 1:
        send_parts(opts, msg, parts, wheres)
        return
    outcome = send_tx(opts, msg)
    if chosen_output(opts.output) != "json":
        _report_awards(outcome.get("receipt"), wheres)


def _report_awards(receipt: dict[str, Any] | None, wheres: list[str]) -> None:
    """Under a committed receipt: ``award_lines`` (how many applied, each refused one)."""
    if receipt and receipt["code"] == 0:
        click.echo("\n".join(award_lines(receipt, wheres, 0, len(wheres))))


def _points_balance(kind: str, key: str) -> AfterCommit:
    """After a committed exchange or redemption: ``points_balance``, the points the resident
    (attribute ``key`` of the receipt's ``kind`` event) has left, read from the node; nothing
    for a redemption paid in tickets."""

    def read(client: LedgerClient, outcome: dict[str, Any]) -> dict[str, Any]:
        found = [e for e in outcome["receipt"]["events"] if e["type"] == kind]
        if not found or found[0].get("payment", "points") != "points":
            return {}
        request = services_pb2.GetPointsRequest(address=found[0][key])
        return {"points_balance": client.stub.GetPoints(request, timeout=10).balance}

    return read


def _grams(amount: str | None, grams: str | None) -> int:
    if (amount is None) == (grams is None):
        raise CliError("give exactly one of --amount (tCO2e) and --grams", EXIT_USAGE)
    return parse_amount_arg(amount) if amount is not None else _count(grams or "", "grams")


@click.command("exchange-points")
@click.option("--amount", help="tCO2e of tickets to receive, e.g. 0.001.")
@click.option("--grams", help="Grams of tickets to receive (instead of --amount).")
@click.option("--batch", "batch_id", default="", help="Batch of the float (default: any).")
@tx_options
def exchange_points(opts: TxOptions, amount: str | None, grams: str | None, batch_id: str) -> None:
    """Resident: exchange points for tickets out of the bureau's points float, at the
    governed rate (params.residents.points_per_gram)."""
    msg = ledger_pb2.ExchangePoints(grams=_grams(amount, grams), batch_id=batch_id)
    send_tx(opts, msg, after_commit=_points_balance("exchange_points", "account"))


@click.command("register-offer")
@click.argument("offer_id")
@click.option("--description", required=True, help="What the offer is, e.g. a shop and service.")
@click.option("--discount", required=True, help='What the resident gets, e.g. "10% off".')
@click.option("--amount", help="tCO2e of tickets retired per redemption, e.g. 0.0001.")
@click.option("--grams", help="Grams of tickets retired per redemption (instead of --amount).")
@click.option("--points", help="Points burned per redemption (instead of tickets).")
@click.option("--valid", required=True, help="Validity, chain-local days YYYYMMDD-YYYYMMDD.")
@click.option(
    "--max-redemptions", type=click.IntRange(min=1), required=True,
    help="How many times the offer may be redeemed in all.",
)  # fmt: skip
@click.option(
    "--jurisdiction", default="CN", show_default=True,
    help="ISO 3166 code on the certificates of ticket redemptions.",
)  # fmt: skip
@tx_options
def register_offer(
    opts: TxOptions,
    offer_id: str,
    description: str,
    discount: str,
    amount: str | None,
    grams: str | None,
    points: str | None,
    valid: str,
    max_redemptions: int,
    jurisdiction: str,
) -> None:
    """Merchant: register offer OFFER_ID, paid in tickets (--amount in tCO2e, or --grams) or in
    points (--points)."""
    if [amount, grams, points].count(None) != 2:
        raise CliError(
            "give exactly one of --grams and --points, or --amount (tCO2e) instead of --grams",
            EXIT_USAGE,
        )
    if points is None:
        payment, price = ledger_pb2.OFFER_PAYMENT_GRAMS, _grams(amount, grams)
    else:
        payment, price = ledger_pb2.OFFER_PAYMENT_POINTS, _count(points, "points")
    send_tx(
        opts,
        ledger_pb2.RegisterOffer(
            offer_id=offer_id,
            description=description,
            payment=payment,
            amount=price,
            discount=discount,
            validity=_period(valid, "validity"),
            max_redemptions=max_redemptions,
            jurisdiction=jurisdiction,
        ),
    )


@click.command("redeem")
@click.argument("merchant", shell_complete=complete_address_or_key)
@click.argument("offer_id")
@click.option("--voucher", required=True, help="The merchant's voucher reference (unique).")
@click.option("--batch", "batch_id", default="", help="Batch that pays (offers in tickets).")
@tx_options
def redeem(opts: TxOptions, merchant: str, offer_id: str, voucher: str, batch_id: str) -> None:
    """Resident: redeem OFFER_ID of MERCHANT (address or @key); tickets are retired with a
    certificate naming the resident, points are burned."""
    send_tx(
        opts,
        ledger_pb2.Redeem(
            merchant=parse_address_arg(merchant, opts.keystore),
            offer_id=offer_id,
            voucher_ref=voucher,
            batch_id=batch_id,
        ),
        after_commit=_points_balance("redeem", "resident"),
    )


RESIDENT_TX_COMMANDS = (award_points, exchange_points, register_offer, redeem)
