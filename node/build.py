"""``build_node``: the one place that makes a node's parts and wires them together.

The parts, in the order they depend on each other: genesis and key (files named by the config),
block store (LevelDB in the data directory), mempool, ledger app, consensus engine, peer
transport (gRPC links unless one is given), block sync, the ``Node`` itself, and the gRPC server
(unless ``serve_api`` is false). Tests pass a virtual clock and an in-memory transport.
"""

from __future__ import annotations

import random

from carbon_ticket.chain import Genesis, expected_nonce, init_chain
from carbon_ticket.consensus import Ed25519Signer, Engine, TimeoutConfig, ed25519_verify
from carbon_ticket.node.app import LedgerApp
from carbon_ticket.node.clock import LoopClock, skewed
from carbon_ticket.node.config import (
    FRAME_LISTEN_AUTO,
    ConfigError,
    ConsensusSettings,
    NodeConfig,
)
from carbon_ticket.node.evidence import EvidenceReporter, checker_with_evidence
from carbon_ticket.node.frame_link import FrameDialer, FrameListener
from carbon_ticket.node.keyfile import load_validator_key
from carbon_ticket.node.mempool import Mempool
from carbon_ticket.node.metrics import MetricsService, NodeMetrics, SignatureChecks
from carbon_ticket.node.node import Node
from carbon_ticket.node.params import CommittedParams
from carbon_ticket.node.peer_auth import (
    FrameSigner,
    ObserverList,
    PeerAuthenticator,
    peer_call_signers,
)
from carbon_ticket.node.peers import PeerSet
from carbon_ticket.node.ports import Clock, NodeInfo, PeerTransport
from carbon_ticket.node.rebuild import check_against_sign_state
from carbon_ticket.node.safety import FileSafetyStore
from carbon_ticket.node.server import GrpcServer
from carbon_ticket.node.service_peer import PeerServicer
from carbon_ticket.node.service_public import LedgerServicer
from carbon_ticket.node.simulator import LedgerSimulator
from carbon_ticket.node.store import LevelDBStore
from carbon_ticket.node.sync import BlockSync, PeerScores
from carbon_ticket.node.tls import frame_client_context, frame_server_context, peer_credentials
from carbon_ticket.node.validators import StateValidatorSets, validator_peers
from carbon_ticket.node.verify_pool import VerifyPool, threads_for
from carbon_ticket.node.wan_sim import WanSimulation

__all__ = ["build_node", "load_genesis", "peer_addresses"]


def build_node(
    config: NodeConfig,
    *,
    clock: Clock | None = None,
    transport: PeerTransport | None = None,
    serve_api: bool = True,
) -> Node:
    """A ready-to-start node for ``config``; its store is open (``shutdown`` closes it).

    ``clock`` defaults to the system clocks on the running loop, ``transport`` to gRPC links to
    the configured peers. ``[debug] clock_offset_ms`` skews the given clock's wall time.
    """
    clock = skewed(clock if clock is not None else LoopClock(), config.debug.clock_offset_ms)
    genesis = load_genesis(config)
    key = load_validator_key(config.key_path)
    store = _open_store(config, genesis)
    try:
        # The validator sets and the parameters in effect, from committed state (they change
        # by governance): never frozen at startup, never the genesis set alone.
        validator_sets = StateValidatorSets(store, lambda: store.height)
        params = CommittedParams(store, lambda: store.height)
        info = NodeInfo(
            name=config.name,
            chain_id=genesis.chain_id,
            genesis=genesis,
            validator_sets=validator_sets,
        )
        # Every transaction check (admission, blocks, sync) also verifies reported evidence.
        checks = SignatureChecks()  # counted for metrics: one addition per check
        check_tx = checks.counting_tx(checker_with_evidence(validator_sets))
        mempool = Mempool(
            info.chain_id,
            params.limits,
            config.mempool,
            check_tx,
            lambda address: expected_nonce(store, address),
            lambda: store.height,
        )
        app = LedgerApp(
            store,
            mempool,
            validator_sets,
            key.public_key,
            params.limits,
            config.consensus.max_block_txs,
            clock.wall_ms,
            genesis_time_ms=genesis.genesis_time_ms,
            time_settings=config.time,
        )
        engine = Engine(
            info.chain_id,
            validator_sets,
            Ed25519Signer(key.seed),
            FileSafetyStore(config.data_path / "sign_state"),
            app,
            _timeouts(config.consensus),
            verifier=checks.counting_votes(ed25519_verify),
        )
        if transport is None:
            transport = PeerSet(
                peer_addresses(config, validator_sets, key.public_key),
                tls=peer_credentials(config),
                interceptors=peer_call_signers(key, info.chain_id, clock.wall_ms),
                wan=_wan_simulation(config, key.public_key),
                frames=FrameSigner(key, info.chain_id, clock.wall_ms),
                dialer=FrameDialer(frame_client_context(config)),
            )
        # One pool of signature-check threads per node, for admission and block sync alike,
        # sized by [mempool] verify_threads (auto: one per core beyond the first, at most 4).
        # Sync had a pool of its own, one thread per core, but needs no more than admission:
        # its checks only have to keep ahead of the event loop executing the blocks, and a
        # thread on the loop's core competes with it (2 cores: 1 thread synced 4,532 tx/s, 2
        # threads 4,245, medians of 6 in tests.node.microbench_sync). With 0, the checks
        # happen on the loop when each block is applied, as admission's do.
        verify_pool = VerifyPool(
            threads_for(config.mempool.verify_threads),
            lambda raw: check_tx(raw, info.chain_id, params.limits()),
            mempool,
        )
        sync = BlockSync(
            info.chain_id,
            validator_sets,
            store,
            app,
            pool=mempool,
            verify=verify_pool,
            peers=transport.sync_peers,
            scores=PeerScores(clock.monotonic_s),
            verify_tx_signatures=config.sync.verify_tx_signatures,
        )
    except BaseException:
        store.close()
        raise
    node = Node(
        config,
        info,
        store=store,
        mempool=mempool,
        app=app,
        engine=engine,
        transport=transport,
        sync=sync,
        clock=clock,
        reporter=EvidenceReporter(info.chain_id, key),
        verify_pool=verify_pool,
    )
    # A full disk or damage met anywhere (an API read included) stops the node: one line.
    store.kv.on_fault = node.fail
    metrics = NodeMetrics(node, checks) if config.metrics.enabled else None
    if metrics is not None:
        node.add_service(MetricsService(config.metrics, metrics))
    if serve_api:
        # Peer calls are signed with the node key and checked against the set in effect.
        peer_auth = PeerAuthenticator(
            info.chain_id,
            validator_sets.is_member_soon,
            ObserverList.parse(config.observers),
            clock.wall_ms,
            own_key=key.public_key,
        )
        frames: FrameListener | None = None
        peer_servicer = PeerServicer(
            node,
            node,
            store,
            info,
            snapshots=store.kv.snapshot,
            frame_port=lambda: frames.port if frames is not None else 0,
        )
        frames = _frame_listener(config, peer_auth, peer_servicer)
        if frames is not None:
            # Bound before the gRPC port answers GetStatus: a peer that asked in between would
            # learn no frame port and keep its Stream call until that breaks.
            node.add_service(frames)
        node.add_service(
            GrpcServer(
                config,
                peer_auth,
                LedgerServicer(
                    node,
                    store,
                    mempool,
                    info,
                    simulator=LedgerSimulator(
                        info.chain_id,
                        store,
                        mempool,
                        check_tx,
                        params.limits,
                        clock.wall_ms,
                        max_nonce_gap=config.mempool.max_nonce_gap,
                    ),
                    stream_queue_blocks=config.api.stream_queue_blocks,
                ),
                peer_servicer,
            )
        )
        if metrics is not None:  # the API's and the peer port's refusals are metrics too
            servers = (s for s in node.services if isinstance(s, GrpcServer))
            metrics.api_guard = next(servers).api_guard
            metrics.peer_auth = peer_auth
    return node


def _frame_listener(
    config: NodeConfig, auth: PeerAuthenticator, servicer: PeerServicer
) -> FrameListener | None:
    """The frame port (node.frame_link): the same checks and handlers as the Stream call."""
    address = config.frame_endpoint
    if address is None:
        return None
    return FrameListener(
        address,
        auth,
        servicer.receive_frames,
        frame_server_context(config),
        required=config.frame_listen != FRAME_LISTEN_AUTO,
    )


def load_genesis(config: NodeConfig) -> Genesis:
    """The genesis named by the config; ConfigError when the file cannot be read."""
    try:
        text = config.genesis_path.read_text()
    except FileNotFoundError as exc:
        # The usual first start on a new machine: say what the file is and where it goes
        raise ConfigError(
            f"no genesis file at {config.genesis_path}: copy the network's genesis.json there "
            f"(the one every bureau checked with `carbon-ticket genesis show`), or set "
            f"genesis_file in {config.home / 'config.toml'}"
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read genesis file {config.genesis_path}: {exc}") from exc
    return Genesis.from_json(text)


def _open_store(config: NodeConfig, genesis: Genesis) -> LevelDBStore:
    # Damage found here refuses the start (StoreDamaged): cheaper than finding it mid-consensus.
    config.data_path.mkdir(parents=True, exist_ok=True)
    store = LevelDBStore.open(config.data_path / "blocks", chain_id=genesis.chain_id)
    try:
        fresh = not store.initialized
        if fresh:
            store.init_genesis(genesis.chain_id, genesis.to_json().encode(), init_chain(genesis))
        store.check_tail()
        check_against_sign_state(config.home, config.data_path, store, fresh)
    except BaseException:
        store.close()
        raise
    return store


def _timeouts(c: ConsensusSettings) -> TimeoutConfig:
    return TimeoutConfig(
        propose_ms=c.propose_timeout_ms,
        prevote_ms=c.prevote_timeout_ms,
        precommit_ms=c.precommit_timeout_ms,
        delta_ms=c.timeout_delta_ms,
    )


def peer_addresses(config: NodeConfig, validators: StateValidatorSets, own_key: bytes) -> list[str]:
    """The configured peers and the network addresses of the validators of the next height and
    the one after (this node and its own address left out), each once, in that order."""
    return validator_peers(validators, config.peers, config.listen, own_key)


def _wan_simulation(config: NodeConfig, own_key: bytes) -> WanSimulation:
    """``[debug] simulated_rtt_ms`` / ``simulated_loss_ppm``, drops seeded by the node's key."""
    debug = config.debug
    seed = int.from_bytes(own_key[:8], "big")
    return WanSimulation(debug.simulated_rtt_ms, debug.simulated_loss_ppm, random.Random(seed))
