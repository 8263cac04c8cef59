"""``carbon-ticket node`` and ``carbon-ticket devnet``: run validators."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from pathlib import Path

import click

from carbon_ticket.chain.crypto import PrivateKey
from carbon_ticket.chain.errors import LedgerError
from carbon_ticket.cli.common import (
    EXIT_DAMAGED,
    EXIT_FAILED,
    EXIT_USAGE,
    CliError,
    chosen_output,
    emit,
    json_alias_option,
    output_option,
    reports_errors,
)
from carbon_ticket.cli.render import rfc3339
from carbon_ticket.cli.tools.devnet import (
    DEFAULT_BASE_PORT,
    DEFAULT_PASSWORD,
    DevnetProcesses,
    init_devnet,
    load_devnet,
)
from carbon_ticket.consensus import ConsensusError, SafetyStoreError
from carbon_ticket.node.config import NodeConfig
from carbon_ticket.node.errors import DiskFull, StoreDamaged
from carbon_ticket.node.keyfile import load_validator_key, write_validator_key

__all__ = ["bench", "devnet", "genesis", "node"]


@click.group()
def node() -> None:
    """Initialise and run a validator node."""


# A founding bureau's key enters the set through the genesis, a joining bureau's through a
# governance proposal (it starts as an observer of the copied genesis until then).
_VALIDATOR_ROLE = (
    "validator once its key is in the validator set (the genesis, or a governance proposal "
    "adding it); an observer until then"
)


@node.command("init")
@click.option("--home", type=click.Path(path_type=Path), required=True, help="Node home directory.")
@click.option("--name", default=None, help="Name of this node  [default: node0, or observer0].")
@click.option("--listen", default="127.0.0.1:26600", show_default=True, help="gRPC HOST:PORT.")
@click.option("--peer", "peers", multiple=True, help="A peer's HOST:PORT (repeat for each).")
@click.option(
    "--observer",
    "is_observer",
    is_flag=True,
    help="Make an observer: a node that follows and serves the chain and never signs. Its key "
    "is only its read-only credential; the validators it syncs from must list it.",
)
@click.option(
    "--serve-observer",
    "observers",
    multiple=True,
    help="Public key (hex) or ct1 address of an observer node this node serves block sync to "
    "(repeat for each).",
)
@output_option
@reports_errors
def node_init(
    home: Path,
    name: str | None,
    listen: str,
    peers: tuple[str, ...],
    is_observer: bool,
    observers: tuple[str, ...],
    output: str,
) -> None:
    """Create a node home: a node key and a config.toml (add genesis.json yourself)."""
    name = name if name is not None else ("observer0" if is_observer else "node0")
    config = NodeConfig(home=home, name=name, listen=listen, peers=peers, observers=observers)
    if config.key_path.exists():
        # Usually an operator adding a peer or an observer to a home made earlier: say where.
        raise CliError(
            f"{config.key_path} exists already; refusing to overwrite a validator key. To change "
            f"this home's peers or observers, edit [peers] addresses or [peers] observers in "
            f"{config.home / 'config.toml'} and restart the node",
            EXIT_USAGE,
        )
    config.save()
    key = PrivateKey.generate()
    write_validator_key(config.key_path, key, name)
    if is_observer:
        step = (f"ask each validator's operator to serve this observer (`[peers] observers` += "
                f"\"{key.public_key.hex()}\", then restart), put the network's genesis.json in "
                f"{home}, list validators with --peer (or rely on the genesis), then: "
                f"carbon-ticket node start --home {home}")  # fmt: skip
    else:
        step = (f"put the network's genesis.json in {home}, then: carbon-ticket node start "
                f"--home {home}")  # fmt: skip
    emit(
        {
            "home": str(home),
            "name": name,
            "role": "observer" if is_observer else _VALIDATOR_ROLE,
            "public_key": key.public_key.hex(),
            "address": key.address,
            "listen": listen,
            "next": step,
        },
        output,
    )


@node.command("tls-init")
@click.option("--home", type=click.Path(path_type=Path), required=True, help="Node home directory.")
@click.option(
    "--ca-dir",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="Directory of the network's CA (ca.crt, ca.key); created there when absent.",
)
@click.option(
    "--host",
    "hosts",
    multiple=True,
    help="IP address or DNS name peers and clients dial this node by (repeat); 127.0.0.1 and "
    "localhost are always included.",
)
@click.option(
    "--require-client-cert",
    is_flag=True,
    help="Mutual TLS: accept only peers and clients with a certificate from the CA.",
)
@output_option
@reports_errors
def node_tls_init(
    home: Path, ca_dir: Path, hosts: tuple[str, ...], require_client_cert: bool, output: str
) -> None:
    """Issue this node a TLS certificate from a private CA and add [tls] to its config.toml."""
    from carbon_ticket.node.config import TlsSettings
    from carbon_ticket.node.tls import DEFAULT_HOSTS, load_or_create_ca, write_node_tls

    config = NodeConfig.load(home)
    listen_host = config.listen.rpartition(":")[0].strip("[]")
    extra = [listen_host] if listen_host not in ("", "0.0.0.0", "::") else []
    all_hosts = (*DEFAULT_HOSTS, *extra, *hosts)
    ca, created = load_or_create_ca(ca_dir)
    settings = config.tls or TlsSettings()
    settings = TlsSettings(settings.cert_file, settings.key_file, settings.ca_file,
                           require_client_cert or settings.require_client_cert)  # fmt: skip
    config = write_node_tls(config, ca, all_hosts, settings)
    config.save()
    emit(
        {
            "home": str(home),
            "ca": f"{ca_dir / 'ca.crt'} ({'new' if created else 'existing'}; keep ca.key offline)",
            "certificate": str(config.tls_path("cert_file")),
            "hosts": list(dict.fromkeys(all_hosts)),
            "require_client_cert": settings.require_client_cert,
            "next": "give every node and client the same ca.crt; restart the node",
        },
        output,
    )


@node.command("show")
@click.option("--home", type=click.Path(path_type=Path), required=True)
@output_option
@reports_errors
def node_show(home: Path, output: str) -> None:
    """Print this node's validator public key and address (for the genesis file)."""
    config = NodeConfig.load(home)
    key = load_validator_key(config.key_path)
    emit({"name": config.name, "public_key": key.public_key.hex(), "address": key.address,
          "listen": config.listen}, output)  # fmt: skip


@node.command("start")
@click.option("--home", type=click.Path(path_type=Path), required=True, help="Node home directory.")
@reports_errors
def node_start(home: Path) -> None:
    """Run the node in the foreground until SIGINT or SIGTERM."""
    from carbon_ticket.node.build import (
        build_node,  # imported here: only this command needs the whole node
    )
    from carbon_ticket.node.logs import configure_logging

    config = NodeConfig.load(home)
    configure_logging(config.name, config.log_level, config.log_format)
    try:
        server = build_node(config)
    except StoreDamaged as exc:  # checked before anything runs: refuse, say how to rebuild
        raise CliError(f"cannot start: {exc.message}", EXIT_DAMAGED) from exc
    except DiskFull as exc:
        raise CliError(exc.message, EXIT_FAILED) from exc
    except ConsensusError as exc:  # e.g. a damaged sign_state: refuse to sign from guesses
        raise CliError(f"cannot start: {exc}", EXIT_DAMAGED) from exc

    from carbon_ticket.cli.progress import follow_block_sync, progress_for
    from carbon_ticket.node.runtime import tune_garbage_collector

    tune_garbage_collector()  # after the build: what it made is frozen out of the collector
    progress = progress_for("block sync", "table")

    async def run() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, server.stop)
        shown = loop.create_task(follow_block_sync(server.sync, server.store, progress))
        try:
            await server.serve()
        finally:
            shown.cancel()

    try:
        asyncio.run(run())
    except ConsensusError as exc:
        damaged = isinstance(exc, SafetyStoreError)  # the signing state went bad while running
        raise CliError(f"node stopped: {exc}", EXIT_DAMAGED if damaged else EXIT_FAILED) from exc
    _exit_on_fault(server.fatal_error)


def _exit_on_fault(error: LedgerError | None) -> None:
    # A full disk is one line and exit 1 (free space, restart); damage is exit 7 (rebuild).
    if isinstance(error, DiskFull):
        raise CliError(error.message, EXIT_FAILED)
    if isinstance(error, StoreDamaged):
        raise CliError(f"node stopped: {error.message}", EXIT_DAMAGED)
    if error is not None:
        raise CliError(f"node stopped: {error.message}", EXIT_FAILED)


@node.command("rebuild")
@click.option("--home", type=click.Path(path_type=Path), required=True, help="Node home directory.")
@click.option(
    "--force",
    is_flag=True,
    help="Delete the damaged blocks instead of moving them aside (frees their disk space).",
)
@output_option
@reports_errors
def node_rebuild(home: Path, force: bool, output: str) -> None:
    """Move a damaged block store aside so the next start syncs the chain from peers.

    Keeps the node key, config, genesis and the signing state (sign_state: the double-sign
    protection). Run it with the node stopped.
    """
    from carbon_ticket.node.rebuild import rebuild

    config = NodeConfig.load(home)
    done = rebuild(home, config.data_path, force)
    emit(
        {
            "blocks": done.blocks,
            "moved_to": done.moved_to or ("deleted (--force)" if force else ""),
            "kept": ", ".join(done.kept),
            "signed_height": done.signed_height
            if done.signed_height >= 0
            else "sign_state is damaged: see docs/operations.md before starting",
            "next": f"carbon-ticket node start --home {home} (it fetches the chain from peers "
            "before it signs again)",
        },
        output,
    )


@click.group()
def devnet() -> None:
    """A local network of validators on 127.0.0.1."""


_home_option = click.option(
    "--home",
    type=click.Path(path_type=Path),
    default=Path("devnet"),
    show_default=True,
    help="Directory of the devnet.",
)
_validators_option = click.option(
    "--validators", "-n", default=4, show_default=True, help="Number of validators."
)
_port_option = click.option(
    "--base-port",
    default=DEFAULT_BASE_PORT,
    show_default=True,
    help="Node i listens on 127.0.0.1:BASE_PORT+i.",
)

_observers_option = click.option(
    "--observers",
    "observer_count",
    default=0,
    show_default=True,
    help="Observer nodes (followers that never sign) beside the validators, on free ports.",
)

_tls_option = click.option(
    "--tls", is_flag=True, help="Encrypt all traffic: a devnet CA signs a certificate per node."
)
_mtls_option = click.option(
    "--mtls", is_flag=True, help="Like --tls, and nodes also require client certificates."
)


@devnet.command("init")
@_home_option
@_validators_option
@_port_option
@click.option("--chain-id", default="carbon-devnet", show_default=True)
@_observers_option
@_tls_option
@_mtls_option
@output_option
@reports_errors
def devnet_init(
    home: Path,
    validators: int,
    base_port: int,
    chain_id: str,
    observer_count: int,
    tls: bool,
    mtls: bool,
    output: str,
) -> None:
    """Write genesis, node homes and a demo wallet (issuer, verifier, registrar,
    points-operator, merchant, resident, platform, bridge, operator0..N-1)."""
    from carbon_ticket.cli.tools.devnet_observers import add_observers

    info = init_devnet(home, validators, base_port, chain_id, DEFAULT_PASSWORD,
                       tls=tls or mtls, require_client_cert=mtls)  # fmt: skip
    observers = add_observers(info, observer_count, base_port + validators)
    if output == "json":
        emit(
            {
                "chain_id": info.chain_id,
                "home": str(home),
                "endpoints": list(info.endpoints),
                "node_homes": [str(info.node_home(i)) for i in range(len(info.endpoints))],
                "wallet_dir": str(info.wallet_dir),
                "tls_ca": str(info.tls_ca) if info.tls_ca is not None else None,
                "observers": list(observers),
            },
            output,
        )
        return
    click.echo(f"devnet {info.chain_id} with {validators} validators in {home}")
    for i, endpoint in enumerate(info.endpoints):
        click.echo(f"  node{i}  {endpoint}  home {info.node_home(i)}")
    for j, endpoint in enumerate(observers):
        click.echo(f"  observer{j}  {endpoint}  home {info.node_home(len(info.endpoints) + j)}")
    click.echo(f"wallet {info.wallet_dir} (password {info.wallet_password!r}, local use only)")
    if info.tls_ca is not None:
        click.echo(f"TLS CA {info.tls_ca} (clients: --tls-ca {info.tls_ca}"
                   + (f" --tls-cert {info.tls_client_cert} --tls-key {info.tls_client_key})"
                      if mtls else ")"))  # fmt: skip


@devnet.command("up")
@_home_option
@_validators_option
@_port_option
@_observers_option
@_tls_option
@_mtls_option
@reports_errors
def devnet_up(
    home: Path, validators: int, base_port: int, observer_count: int, tls: bool, mtls: bool
) -> None:
    """Initialise if needed, run every validator (and observer), and stop them all on Ctrl-C or
    SIGTERM."""
    from carbon_ticket.cli.tools.devnet_observers import (
        add_observers,
        observer_endpoints,
        observer_indexes,
    )

    if not (home / "devnet.json").exists():
        init_devnet(home, validators, base_port, tls=tls or mtls, require_client_cert=mtls)
    info = load_devnet(home)
    if observer_count and not observer_endpoints(info):
        add_observers(info, observer_count, base_port + len(info.endpoints))
    procs = DevnetProcesses(info)
    stopping = False

    def on_signal(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    procs.start_all()
    for i in observer_indexes(info):
        procs.start(i)
    click.echo(f"devnet {info.chain_id}: {len(info.endpoints)} validators running")
    for i, endpoint in enumerate(info.endpoints):
        metrics = f"  metrics http://{info.metrics[i]}/metrics" if info.metrics else ""
        click.echo(f"  node{i}  grpc {endpoint}{metrics}  log {info.node_home(i) / 'node.log'}")
    for i, endpoint in zip(observer_indexes(info), observer_endpoints(info), strict=True):
        click.echo(f"  node{i}  grpc {endpoint}  log {info.node_home(i) / 'node.log'}  (observer)")
    tls_args = f" --tls-ca {info.tls_ca}" if info.tls_ca is not None else ""
    click.echo(f"try: carbon-ticket query status --node {info.endpoints[0]}{tls_args}")
    click.echo("Ctrl-C stops all nodes.")
    sys.stdout.flush()
    died: str | None = None
    try:
        while not stopping:
            time.sleep(0.2)
            for i, proc in procs.procs.items():
                if proc.poll() is not None and not stopping:
                    died = f"node{i} exited with code {proc.returncode}; see its node.log"
                    stopping = True
    finally:
        procs.stop_all()
        click.echo("devnet stopped")
    if died is not None:  # a devnet that lost a node did not do its job: exit non-zero
        raise CliError(died, EXIT_FAILED)


@click.command("bench")
@click.option("--validators", "-n", default=4, show_default=True, help="Validator processes.")
@click.option("--duration", default=30.0, show_default=True, help="Seconds of offered load.")
@click.option(
    "--rate",
    default="max",
    show_default=True,
    help="Offered tx/s; 'max'; or 'half': saturation first, then half of what it committed.",
)
@click.option("--accounts", default=2000, show_default=True, help="Funded sending accounts.")
@click.option("--sync/--no-sync", default=False, help="Also measure block sync of a fresh node.")
@click.option(
    "--workload",
    type=click.Choice(["transfers", "points"]),
    default="transfers",
    show_default=True,
    help="transfers: tx/s of 1-gram transfers; points: committed awards/s (--accounts residents).",
)
@click.option(
    "--wan-rtt-ms",
    type=click.IntRange(0, 10_000),
    default=0,
    show_default=True,
    help="Simulated round trip (ms) on every validator-to-validator link.",
)
@click.option(
    "--wan-loss",
    type=click.FloatRange(0.0, 1.0, max_open=True),
    default=0.0,
    show_default=True,
    help="Share of peer messages the simulated links drop (0.01 = 1 %).",
)
@click.option(
    "--verify-threads",
    type=click.IntRange(-1, 64),
    default=None,
    help="Set [mempool] verify_threads on every validator (default: the node's own, -1: one "
    "per core beyond the first).",
)
@click.option(
    "--per-call",
    type=click.IntRange(1, 10_000),
    default=None,
    help="Transactions per SubmitTxs call, the calls spread over time (default: what the "
    "schedule owes every 50 ms, at most 250 at --rate max); 1 is a client that submits one "
    "transaction per call, as the residents' app does.",
)
@click.option("--home", type=click.Path(path_type=Path), default=None,
              help="Keep the devnet here (default: a temporary directory, removed).")  # fmt: skip
@output_option
@json_alias_option
@reports_errors
def bench(
    validators: int,
    duration: float,
    rate: str,
    accounts: int,
    sync: bool,
    workload: str,
    wan_rtt_ms: int,
    wan_loss: float,
    verify_threads: int | None,
    per_call: int | None,
    home: Path | None,
    output: str,
) -> None:
    """Measure committed tx/s, latency, CPU, memory and disk with real node processes (or, with
    --workload points, committed awards/s)."""
    import json

    from carbon_ticket.cli.tools.bench import WanLinks, run_bench

    wan = WanLinks(wan_rtt_ms, wan_loss)
    offered: float | None = None
    if rate not in ("max", "half"):
        try:
            offered = float(rate)
        except ValueError:
            raise CliError(
                f"--rate must be a number of tx/s or 'max', got {rate!r}", EXIT_USAGE
            ) from None
        if offered <= 0:
            raise CliError("--rate must be positive", EXIT_USAGE)

    from carbon_ticket.cli.progress import progress_for

    # Phases and running counts on one line of a terminal; nothing with --json or in a pipe.
    progress = progress_for("bench", chosen_output(output))

    def say(line: str) -> None:
        progress.update(line, force=True)

    if workload == "points":
        from carbon_ticket.cli.tools.bench_points import run_points_bench

        if rate != "max" or sync or per_call is not None:
            raise CliError("--workload points offers all it can: no --rate, --sync or --per-call",
                           EXIT_USAGE)  # fmt: skip
        data = run_points_bench(validators, duration, accounts, home=home, say=say,
                                wan=wan).as_dict()  # fmt: skip
    elif rate == "half":
        if home is not None:
            raise CliError("--rate half runs two devnets: leave out --home", EXIT_USAGE)
        # Latency is judged at a moderate load: half the saturation throughput of this same host.
        saturation = run_bench(validators, duration, None, accounts, None, sync, say,
                               on_progress=progress.update, wan=wan,
                               verify_threads=verify_threads, per_call=per_call)  # fmt: skip
        half_rate = max(saturation.committed_tps / 2, 1.0)
        say(f"saturation: {saturation.committed_tps:.0f} tx/s; now offering {half_rate:.0f} tx/s")
        half = run_bench(validators, duration, half_rate, accounts, None, False, say,
                         on_progress=progress.update, wan=wan,
                         verify_threads=verify_threads, per_call=per_call)  # fmt: skip
        data = {"saturation": saturation.as_dict(), "half": half.as_dict()}
    else:
        data = run_bench(validators, duration, offered, accounts, home, sync, say,
                         on_progress=progress.update, wan=wan,
                         verify_threads=verify_threads, per_call=per_call).as_dict()  # fmt: skip
    progress.done()
    if chosen_output(output) == "json":
        click.echo(json.dumps(data))  # one line: scripts append runs to a file
        return
    emit(data, "table")


@click.group()
def genesis() -> None:
    """Write and check the genesis document shared by every validator of a network."""


def _parse_validator(text: str) -> tuple[str, bytes, str, int, str]:
    """NAME=PUBLIC_KEY_HEX@HOST:PORT[,power=N][,operator=ADDRESS] -> the GenesisValidator fields."""
    form = "NAME=PUBLIC_KEY_HEX@HOST:PORT[,power=N][,operator=ADDRESS]"
    main, *extras = text.split(",")
    name, sep, rest = main.partition("=")
    key_hex, sep2, address = rest.partition("@")
    if not (sep and sep2 and name):
        raise CliError(f"--validator {text!r}: expected {form}", EXIT_USAGE)
    try:
        key = bytes.fromhex(key_hex)
    except ValueError:
        raise CliError(f"--validator {text!r}: public key is not hex", EXIT_USAGE) from None
    power, operator = 1, ""
    for extra in extras:
        field, equals, value = extra.partition("=")
        if field == "power" and equals and value.isdigit():
            power = int(value)
        elif field == "operator" and equals and value:
            operator = value
        else:
            raise CliError(f"--validator {text!r}: expected {form}", EXIT_USAGE)
    return name, key, address, power, operator


def _parse_account(text: str) -> tuple[str, str, str, tuple[str, ...]]:
    address, sep, rest = text.partition("=")
    parts = rest.split(":")
    if not sep or len(parts) not in (2, 3):
        raise CliError(f"--account {text!r}: expected ADDRESS=KIND:NAME[:ROLE,ROLE]", EXIT_USAGE)
    roles = tuple(r for r in parts[2].split(",") if r) if len(parts) == 3 else ()
    return address, parts[0], parts[1], roles


@genesis.command("new", context_settings={"allow_extra_args": True})
@click.option("--chain-id", required=True, help="Name of the network, e.g. carbon-cn15-1.")
@click.option(
    "--validator",
    "validators",
    multiple=True,
    required=True,
    help="NAME=PUBLIC_KEY_HEX@HOST:PORT (from `node show`), optionally followed by ,power=N "
    "(default 1) and ,operator=ADDRESS (the account that votes for it in governance; default "
    "the validator's own); repeat per validator.",
)
@click.option(
    "--account",
    "accounts",
    multiple=True,
    help="ADDRESS=KIND:NAME[:ROLE,ROLE] e.g. ct1...=bureau:Forestry bureau:issuer",
)
@click.option(
    "--buffer-share-bps",
    default=2000,
    show_default=True,
    help="Share of each issuance withheld in the buffer pool, in basis points.",
)
@click.option("--out", type=click.Path(path_type=Path), required=True, help="File to write.")
@output_option
@click.pass_context
@reports_errors
def genesis_new(
    ctx: click.Context,
    chain_id: str,
    validators: tuple[str, ...],
    accounts: tuple[str, ...],
    buffer_share_bps: int,
    out: Path,
    output: str,
) -> None:
    """Write a validated genesis.json for a network of several machines."""
    from carbon_ticket.chain import Genesis, GenesisAccount, GenesisValidator, Params

    if ctx.args:  # the command takes no arguments: these are the words of an unquoted value
        words = " ".join(repr(word) for word in ctx.args)
        raise CliError(
            f"unexpected {words} on the command line: an option value with spaces must be "
            f"quoted, e.g. --account 'ct1...=bureau:Baotou Forestry Bureau:issuer'",
            EXIT_USAGE,
        )
    doc = Genesis(
        chain_id=chain_id,
        genesis_time_ms=time.time_ns() // 1_000_000,
        validators=tuple(GenesisValidator(*_parse_validator(v)) for v in validators),
        accounts=tuple(GenesisAccount(*_parse_account(a)) for a in accounts),
        params=Params(buffer_share_bps=buffer_share_bps),
    )
    if out.exists():
        raise CliError(
            f"{out} exists already; refusing to overwrite a genesis document", EXIT_USAGE
        )
    out.write_text(doc.to_json())
    tolerated = (len(doc.validators) - 1) // 3
    if tolerated == 0:  # allowed (a test network), but a production network would not be BFT
        click.echo(
            f"note: {len(doc.validators)} validator(s) tolerate no faulty or stopped validator; "
            f"a network of bureaus needs 4 (one may fail) to 7 (two may fail)",
            err=True,
        )
    emit({"file": str(out), "chain_id": chain_id, "genesis_hash": doc.hash().hex(),
          "validators": len(doc.validators), "accounts": len(doc.accounts)}, output)  # fmt: skip


@genesis.command("show")
@click.argument("file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@output_option
@reports_errors
def genesis_show(file: Path, output: str) -> None:
    """Validate a genesis file and print its hash (every operator must see the same hash)."""
    from carbon_ticket.chain import Genesis

    doc = Genesis.from_json(file.read_bytes())  # bytes: a file that is not UTF-8 is refused
    # Every field of a validator, in the table too: a bureau checks that its entry has the key
    # `node show` printed before it starts (a wrong key makes its node a mere observer).
    validators = [
        {
            "name": v.name,
            "public_key": v.public_key.hex(),
            "network_address": v.network_address,
            "power": v.power,
            "operator": v.operator or v.address,
        }
        for v in doc.validators
    ]
    if output == "json":
        emit(
            {
                "chain_id": doc.chain_id,
                "genesis_hash": doc.hash().hex(),
                "genesis_time_ms": doc.genesis_time_ms,
                "genesis_time": rfc3339(doc.genesis_time_ms),
                "validators": validators,
                "accounts": [
                    {"address": a.address, "kind": a.kind, "name": a.name, "roles": list(a.roles)}
                    for a in doc.accounts
                ],
                "buffer_share_bps": doc.params.buffer_share_bps,
            },
            output,
        )
        return
    emit(
        {
            "chain_id": doc.chain_id,
            "genesis_hash": doc.hash().hex(),
            "validators": validators,
            "accounts": [f"{a.address} {a.kind} {','.join(a.roles)}" for a in doc.accounts],
            "buffer_share_bps": doc.params.buffer_share_bps,
        },
        output,
    )
