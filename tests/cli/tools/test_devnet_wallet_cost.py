"""The devnet wallet's KDF cost: today's for a devnet a user makes, the cheapest for tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from carbon_ticket.cli.keystore import DEFAULT_KDF, TEST_KDF, KdfCost, Keystore
from carbon_ticket.cli.tools.devnet import init_devnet
from tests.cli.harness import free_port


def _recorded_costs(info_wallet: Path) -> set[KdfCost]:
    costs = set()
    for path in info_wallet.glob("*.json"):
        kdf = json.loads(path.read_text())["kdf"]
        costs.add(KdfCost(kdf["opslimit"], kdf["memlimit"]))
    return costs


def test_a_devnet_made_without_a_cost_keeps_the_cost_of_every_user_s_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What is derived is not the point here, only the cost asked for: derive cheaply instead.
    asked: list[KdfCost] = []
    real_derive = Keystore._derive

    def cheap_derive(password: str, salt: bytes, opslimit: int, memlimit: int) -> bytes:
        asked.append(KdfCost(opslimit, memlimit))
        return real_derive(password, salt, TEST_KDF.opslimit, TEST_KDF.memlimit)

    monkeypatch.setattr(Keystore, "_derive", staticmethod(cheap_derive))
    info = init_devnet(tmp_path / "devnet", validators=1, base_port=free_port())
    assert set(asked) == {DEFAULT_KDF}
    assert _recorded_costs(info.wallet_dir) == {DEFAULT_KDF}


def test_a_test_devnet_s_wallet_is_written_and_unlocked_at_the_cost_it_was_given(
    tmp_path: Path,
) -> None:
    info = init_devnet(
        tmp_path / "devnet", validators=2, base_port=free_port(), wallet_kdf=TEST_KDF
    )
    assert _recorded_costs(info.wallet_dir) == {TEST_KDF}
    wallet = Keystore(info.wallet_dir)  # a user's keystore: it reads the cost from each file
    assert (
        wallet.load("operator1", info.wallet_password).address == wallet.info("operator1").address
    )


def test_the_test_cost_is_below_the_default() -> None:
    assert TEST_KDF.opslimit < DEFAULT_KDF.opslimit and TEST_KDF.memlimit < DEFAULT_KDF.memlimit
