"""Genesis: validation, JSON round trip, hash and the initial state."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from carbon_ticket.chain import (
    Genesis,
    GenesisAccount,
    GenesisValidator,
    MemoryState,
    Params,
    get_account,
    get_params,
    get_validators,
    init_chain,
)
from carbon_ticket.chain.errors import InvalidGenesis
from carbon_ticket.chain.state import has_role
from tests.chain.conftest import ISSUER, REGISTRAR, VALIDATORS, VERIFIER, key, make_genesis


def test_json_round_trip_and_hash() -> None:
    genesis = make_genesis()
    text = genesis.to_json()
    assert Genesis.from_json(text) == genesis
    # Formatting does not change the hash; content does.
    assert Genesis.from_json(json.dumps(json.loads(text))).hash() == genesis.hash()
    assert make_genesis(buffer_share_bps=1000).hash() != genesis.hash()
    assert len(genesis.hash()) == 32


def test_missing_params_take_defaults() -> None:
    data = json.loads(make_genesis().to_json())
    del data["params"]
    genesis = Genesis.from_json(json.dumps(data))
    assert genesis.params.buffer_share_bps == 2000
    assert genesis.params.limits.max_transfer_entries == 64


def test_init_chain_writes_validators_accounts_and_roles() -> None:
    result = init_chain(make_genesis())
    state = MemoryState()
    state.apply(result.writes)
    validators = get_validators(state)
    assert [v.address for v in validators] == [k.address for k in VALIDATORS]
    for k in VALIDATORS:
        view = get_account(state, k.address)
        assert view.account.kind == "bureau" and view.roles == ("validator",) and view.nonce == 0
    assert get_account(state, REGISTRAR.address).roles == ("registrar",)
    assert has_role(state, "issuer", ISSUER.address) and has_role(
        state, "verifier", VERIFIER.address
    )
    assert get_params(state).buffer_share_bps == 2000
    assert result.app_hash == init_chain(make_genesis()).app_hash
    assert result.app_hash != init_chain(make_genesis(buffer_share_bps=1)).app_hash


def _with(**changes: object) -> str:
    data = json.loads(make_genesis().to_json())
    for path, value in changes.items():
        target = data
        *parents, last = path.split("__")
        for p in parents:
            target = target[int(p)] if isinstance(target, list) else target[p]
        if value is ...:
            del target[last]
        else:
            target[last] = value
    return json.dumps(data)


BAD = [
    ("not json", "{", "not valid JSON"),
    ("empty chain id", _with(chain_id=""), "chain id"),
    ("negative time", _with(genesis_time_ms=-1), "genesis_time_ms"),
    ("no validators", _with(validators=[]), "at least one validator"),
    ("short key", _with(validators__0__public_key="abcd"), "32 bytes"),
    ("bad hex", _with(validators__0__public_key="zz"), "hex"),
    ("bad network address", _with(validators__0__network_address="nowhere"), "host:port"),
    (
        "duplicate network address",
        _with(validators__1__network_address="127.0.0.1:26650"),
        "duplicate",
    ),
    ("bad account address", _with(accounts__0__address="ct1bad"), "invalid address"),
    ("unknown kind", _with(accounts__0__kind="bank"), "kind"),
    ("unknown role", _with(accounts__0__roles=["king"]), "role"),
    ("validator role on account", _with(accounts__0__roles=["validator"]), "validator list"),
    ("bps over 100%", _with(params__buffer_share_bps=10_001), "buffer_share_bps"),
    ("zero limit", _with(params__limits__max_tx_bytes=0), "max_tx_bytes"),
    ("unknown field", _with(extra=1), "unknown field"),
    ("missing name", _with(accounts__0__name=...), "missing name"),
    ("wrong type", _with(validators="x"), "list"),
]


@pytest.mark.parametrize(("name", "text", "needle"), BAD, ids=[b[0] for b in BAD])
def test_bad_genesis_is_rejected_clearly(name: str, text: str, needle: str) -> None:
    with pytest.raises(InvalidGenesis) as info:
        Genesis.from_json(text)
    assert info.value.code == "invalid_genesis"
    assert needle in info.value.message


def test_duplicate_account_is_rejected() -> None:
    account = GenesisAccount(REGISTRAR.address, "bureau", "R", ("registrar",))
    validator = GenesisValidator("n", VALIDATORS[0].public_key, "h:1")
    with pytest.raises(InvalidGenesis, match="duplicate account"):
        Genesis("c", 0, (validator,), (account, account))


def test_validator_listed_as_account_keeps_its_kind() -> None:
    validator = GenesisValidator("n", VALIDATORS[0].public_key, "h:1")
    account = GenesisAccount(VALIDATORS[0].address, "company", "Node operator", ("issuer",))
    state = MemoryState()
    state.apply(init_chain(Genesis("c", 0, (validator,), (account,))).writes)
    view = get_account(state, VALIDATORS[0].address)
    assert (view.account.kind, view.roles) == ("company", ("validator", "issuer"))


@pytest.mark.parametrize(
    ("validators", "max_signatures", "max_id_bytes", "needle"),
    [
        (4, 3, 54, ""),  # quorum of 4 is 3; a 32-char project id gives a 54-byte batch id
        (4, 2, 64, "max_signatures"),
        (24, 16, 64, "max_signatures"),  # governance would need 17 signatures
        (24, 17, 64, ""),
        (4, 16, 53, "max_id_bytes"),
        (4, 16, 40, "max_id_bytes"),
    ],
)
def test_genesis_limits_admit_governance_and_batch_ids(
    validators: int, max_signatures: int, max_id_bytes: int, needle: str
) -> None:
    base = make_genesis()
    nodes = tuple(
        GenesisValidator(f"node-{i}", key(f"v{i}").public_key, f"127.0.0.1:{30000 + i}")
        for i in range(validators)
    )
    limits = replace(base.params.limits, max_signatures=max_signatures, max_id_bytes=max_id_bytes)

    def build() -> Genesis:
        return Genesis(base.chain_id, 0, nodes, base.accounts, Params(limits=limits))

    if not needle:
        genesis = build()
        assert Genesis.from_json(genesis.to_json()) == genesis
        return
    with pytest.raises(InvalidGenesis) as info:
        build()
    assert info.value.code == "invalid_genesis" and needle in info.value.message
    text = json.loads(base.to_json())
    text["params"]["limits"] = {"max_signatures": max_signatures, "max_id_bytes": max_id_bytes}
    text["validators"] = [
        {"name": v.name, "public_key": v.public_key.hex(), "network_address": v.network_address}
        for v in nodes
    ]
    with pytest.raises(InvalidGenesis, match=needle):
        Genesis.from_json(json.dumps(text))
