"""``carbon-ticket explorer``: the public, read-only web explorer of a running network.

A separate process that reads one node's public gRPC API (a validator or an observer) and
serves HTML pages over HTTP with aiohttp: recent blocks, projects and batches with their supply,
the retirement register, and certificate pages whose proof bundle the browser verifies itself
(``static/verify.js``) against the genesis the explorer is given. docs/explorer.md explains why
it is not part of the node. aiohttp is an optional dependency (the ``explorer`` extra): it is
imported only when the command runs, so the rest of ``carbon-ticket`` works without it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import cast

import click

from carbon_ticket.chain.genesis import Genesis
from carbon_ticket.cli.common import (
    EXIT_LEDGER,
    EXIT_USAGE,
    CliError,
    client_tls,
    connect,
    node_option,
    reports_errors,
)
from carbon_ticket.proto import services_pb2

__all__ = ["explorer", "trusted_genesis"]

DEFAULT_LISTEN = "127.0.0.1:8080"
_LISTEN = re.compile(r"(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})")


def parse_listen(text: str) -> tuple[str, int]:
    """HOST:PORT to listen on; CliError (exit 2) when it is not one."""
    match = _LISTEN.fullmatch(text)
    if match is None or not 0 <= int(match.group(2)) <= 65535:
        raise CliError(f"--listen must be HOST:PORT, not {text!r}", EXIT_USAGE)
    return match.group(1).strip("[]"), int(match.group(2))


def _node_genesis(node: str) -> services_pb2.GenesisInfo:
    with connect(node) as stub:
        reply = stub.GetGenesis(services_pb2.GetGenesisRequest(), timeout=10)
    return cast(services_pb2.GenesisInfo, reply)


def trusted_genesis(node: str, genesis_path: Path | None) -> Genesis:
    """The genesis every certificate page checks against: the file given (which must be the
    node's: another chain's would make every page fail), else the node's own document."""
    served = _node_genesis(node)
    if genesis_path is None:
        genesis = Genesis.from_json(served.genesis_json)
        if genesis.hash() != served.genesis_hash:
            raise CliError(f"the node at {node} serves a genesis that does not match its hash",
                           EXIT_LEDGER)  # fmt: skip
        return genesis
    try:
        text = genesis_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read the genesis {genesis_path}: {exc}", EXIT_USAGE) from exc
    genesis = Genesis.from_json(text)
    if served.chain_id != genesis.chain_id:
        raise CliError(
            f"the node at {node} runs chain {served.chain_id!r}, the genesis is of "
            f"{genesis.chain_id!r}",
            EXIT_LEDGER,
        )
    if served.genesis_hash != genesis.hash():
        raise CliError(
            f"the node at {node} started from another genesis of chain {genesis.chain_id!r} "
            f"(hash {served.genesis_hash.hex()}, the file's is {genesis.hash().hex()})",
            EXIT_LEDGER,
        )
    return genesis


@click.command("explorer")
@node_option
@click.option(
    "--genesis",
    "genesis_path",
    default=None,
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="The network's genesis document: the trust anchor every certificate page checks "
    "against (its hash is shown on the page). Default: the node's own genesis (GetGenesis); "
    "compare its hash, printed at start, with the one the bureaus publish.",
)
@click.option(
    "--listen",
    default=DEFAULT_LISTEN,
    show_default=True,
    help="HOST:PORT to serve HTTP on. Serve the public behind an HTTPS proxy: browsers give "
    "WebCrypto, which the certificate check needs, only to HTTPS pages and to localhost.",
)
@reports_errors
def explorer(node: str, genesis_path: Path | None, listen: str) -> None:
    """Serve the public web explorer of the network behind --node (read-only)."""
    try:
        from aiohttp import web
    except ImportError as exc:
        raise CliError(
            "the explorer needs aiohttp: pip install 'carbon-ticket-ledger[explorer]'", EXIT_USAGE
        ) from exc
    from carbon_ticket.cli.explorer.app import make_app
    from carbon_ticket.cli.explorer.source import NodeSource

    host, port = parse_listen(listen)
    trusted = trusted_genesis(node, genesis_path)
    tls = client_tls()
    source = NodeSource(node, tls.credentials() if tls is not None else None)
    click.echo(f"explorer of {node} (chain {trusted.chain_id}, genesis "
               f"{trusted.hash().hex()}) on http://{listen}/")  # fmt: skip
    web.run_app(make_app(source, trusted), host=host, port=port, print=None)
