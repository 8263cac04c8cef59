"""Option sets issue 17 adds to existing commands: ``tx register-project`` (external ids, parcels,
boundary) and ``tx retire`` (use, scheme, emitter account, corresponding adjustment). Kept apart
from cli/registry_cmds.py, which needs cli/tx_cmds.py, which needs these.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from carbon_ticket.chain.records import RETIREMENT_USES
from carbon_ticket.cli.common import EXIT_USAGE, CliError
from carbon_ticket.proto import ledger_pb2

__all__ = ["ProjectIds", "RetirementUse", "project_id_options", "retirement_use_options"]

_USE_NAMES = tuple(name.replace("_", "-") for name in RETIREMENT_USES[1:])


@dataclass(frozen=True, slots=True)
class ProjectIds:
    """What ``tx register-project`` says about the forest's identity."""

    external_ids: tuple[str, ...]
    parcel_ids: tuple[str, ...]
    boundary_hash: bytes

    def apply(self, msg: ledger_pb2.RegisterProject) -> None:
        """Write the ids into the message."""
        msg.external_ids.extend(self.external_ids)
        msg.parcel_ids.extend(self.parcel_ids)
        msg.boundary_hash = self.boundary_hash


def _boundary(text: str | None, path: Path | None) -> bytes:
    if text is not None and path is not None:
        raise CliError("give --boundary-hash or --boundary-file, not both", EXIT_USAGE)
    if path is not None:
        try:
            return hashlib.sha256(path.read_bytes()).digest()
        except OSError as exc:
            raise CliError(f"cannot read {path}: {exc}", EXIT_USAGE) from exc
    if text is None:
        return b""
    try:
        value = bytes.fromhex(text.strip())
    except ValueError:
        value = b""
    if len(value) != 32:
        raise CliError(f"invalid boundary hash {text!r}: write 64 hex digits", EXIT_USAGE)
    return value


def project_id_options(func: Callable[..., None]) -> Callable[..., None]:
    """Add --external-id, --parcel, --boundary-hash/--boundary-file; pass ``ids: ProjectIds``."""

    @functools.wraps(func)
    def wrapper(**kwargs: Any) -> None:
        ids = ProjectIds(
            external_ids=tuple(kwargs.pop("external_ids")),
            parcel_ids=tuple(kwargs.pop("parcel_ids")),
            boundary_hash=_boundary(kwargs.pop("boundary_hash"), kwargs.pop("boundary_file")),
        )
        func(**kwargs, ids=ids)

    options = [
        click.option("--external-id", "external_ids", multiple=True,
                     help="An id of the project elsewhere (CCER number, registry id); repeat."),
        click.option("--parcel", "parcel_ids", multiple=True,
                     help="A cadastral or forest-inventory parcel number it covers; repeat."),
        click.option("--boundary-hash", help="SHA-256 of the parcels' boundary data, hex."),
        click.option("--boundary-file", type=click.Path(path_type=Path, dir_okay=False),
                     help="Boundary data file (e.g. GeoJSON) to hash instead."),
    ]  # fmt: skip
    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper


@dataclass(frozen=True, slots=True)
class RetirementUse:
    """What ``tx retire`` says about the use of the retirement."""

    use: int
    scheme: str
    emitter_account: str
    corresponding_adjustment: bool

    def apply(self, msg: ledger_pb2.Retire) -> None:
        """Write the use into the message."""
        msg.use = self.use  # type: ignore[assignment]
        msg.scheme = self.scheme
        msg.emitter_account = self.emitter_account
        msg.corresponding_adjustment = self.corresponding_adjustment


def retirement_use_options(func: Callable[..., None]) -> Callable[..., None]:
    """Add --use, --scheme, --emitter-account, --corresponding-adjustment; pass ``use``."""

    @functools.wraps(func)
    def wrapper(**kwargs: Any) -> None:
        name = kwargs.pop("use_name").replace("-", "_")
        use = RetirementUse(
            use=RETIREMENT_USES.index(name),
            scheme=kwargs.pop("scheme"),
            emitter_account=kwargs.pop("emitter_account"),
            corresponding_adjustment=kwargs.pop("corresponding_adjustment"),
        )
        if name == "compliance_offset" and not (use.scheme and use.emitter_account):
            raise CliError(
                "--use compliance-offset needs --scheme and --emitter-account", EXIT_USAGE
            )
        func(**kwargs, use=use)

    options = [
        click.option("--use", "use_name", type=click.Choice(_USE_NAMES), default="voluntary",
                     show_default=True, help="A voluntary claim, or an offset under a scheme."),
        click.option("--scheme", default="", help="Compliance scheme, e.g. CN-ETS."),
        click.option("--emitter-account", default="",
                     help="The emitter's account id in that scheme."),
        click.option("--corresponding-adjustment/--no-corresponding-adjustment", default=False,
                     help="Whether a corresponding adjustment applies.", show_default=True),
    ]  # fmt: skip
    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper
