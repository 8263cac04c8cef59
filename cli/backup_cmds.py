"""``carbon-ticket node backup`` and ``node restore`` (docs/operations.md, Backup and restore)."""

from __future__ import annotations

from pathlib import Path

import click

from carbon_ticket.cli.common import (
    chosen_output,
    emit,
    json_alias_option,
    output_option,
    reports_errors,
)
from carbon_ticket.cli.progress import progress_for
from carbon_ticket.node.config import NodeConfig

__all__ = ["BACKUP_COMMANDS"]


def _size(n: int) -> str:
    return f"{n / 1_048_576:.1f} MiB"


@click.command("backup")
@click.option("--home", type=click.Path(path_type=Path), required=True, help="Node home directory.")
@click.argument("out", type=click.Path(path_type=Path))
@output_option
@json_alias_option
@reports_errors
def node_backup(home: Path, out: Path, output: str) -> None:
    """Copy the node's block store at one committed height into the new directory OUT.

    Works on a running node (it streams a snapshot of its store, asked with the node's own
    key) and on a stopped one; the copy is verified before the command succeeds.
    """
    from carbon_ticket.node.backup_ops import backup_home

    progress = progress_for("backup", chosen_output(output))
    summary = backup_home(
        NodeConfig.load(home),
        out,
        lambda keys, size: progress.update(f"{keys} keys, {_size(size)}"),
    )
    progress.done()
    emit(
        {
            "backup": str(out),
            "chain_id": summary.chain_id,
            "height": summary.height,
            "app_hash": summary.app_hash,
            "keys": summary.keys,
            "source": summary.source,
            "sign_state": summary.sign_state or "none",
        },
        output,
    )


@click.command("restore")
@click.argument("backup", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--home", type=click.Path(path_type=Path), required=True, help="Node home directory.")
@click.option(
    "--replace", is_flag=True, help="Move the home's existing block store aside and restore."
)
@output_option
@json_alias_option
@reports_errors
def node_restore(backup: Path, home: Path, replace: bool, output: str) -> None:
    """Verify BACKUP against this home's genesis, then install it (the node must be stopped).

    The home's signing record is never replaced by an older one; see docs/operations.md.
    """
    from carbon_ticket.node.backup_ops import restore_home

    report = restore_home(NodeConfig.load(home), backup, replace)
    if report.warning:
        click.echo(f"WARNING: {report.warning}", err=True)
    emit(
        {
            "restored": str(backup),
            "chain_id": report.summary.chain_id,
            "height": report.summary.height,
            "app_hash": report.summary.app_hash,
            "sign_state": report.sign_state,
            "previous_store": report.moved_aside or "none",
            "next": f"carbon-ticket node start --home {home} (it syncs the blocks after "
            f"{report.summary.height} from its peers)",
        },
        output,
    )


BACKUP_COMMANDS = (node_backup, node_restore)
