"""A message field the ledger refuses on its own (its stateless checks, chain/check.py and
chain/check_fields.py) is bad input: exit 2 with the ledger's own message and code, nothing
signed, written or sent; the wallet's own checks exit 2 as well. Only a refusal that needs the
ledger's state is exit 3. Every tx command goes through cli/submit.py; co-signing files are read
by tx sign, tx broadcast and tx renew. On the shared one-validator devnet."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from carbon_ticket.chain.tx import encode_tx
from carbon_ticket.cli.client import LedgerClient, make_body
from carbon_ticket.cli.cosign import CosignFile, write_cosign
from carbon_ticket.cli.main import cli
from carbon_ticket.cli.tools.devnet import DevnetInfo
from carbon_ticket.proto import ledger_pb2
from tests.cli.harness import stub_for, wallet_keys

BAD_JURISDICTION = "jurisdiction 'ZZZ' is not an assigned ISO 3166 code such as CN or CN-15"
BATCH = "CN15-GY-0001-20230101-20231231-001"  # well formed; whether it exists does not matter


def run(*args: str) -> Result:
    env = {"CARBON_TICKET_PASSWORD": "devnet", "CARBON_TICKET_CONNECT_TIMEOUT": "1",
           "CARBON_TICKET_CONFIG": None, "CARBON_TICKET_NODE": None}  # fmt: skip
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def bad_input(result: Result, *fragments: str) -> None:
    assert result.exit_code == 2, (result.exit_code, result.output)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert "refused before" not in lines[0] and "INVALID_ARGUMENT" not in lines[0]


def wallet(info: DevnetInfo, key: str) -> list[str]:
    return ["--node", info.endpoints[0], "--keystore", str(info.wallet_dir), "-k", key]


def nonce_of(info: DevnetInfo, key: str) -> int:
    with stub_for(info.endpoints[0]) as stub:
        return LedgerClient(stub).next_nonce(wallet_keys(info)[key].address)


RETIRE = ("tx", "retire", BATCH, "1", "--beneficiary", "Acme", "--reason", "offset")
OFFER = ("tx", "register-offer", "tea", "--description", "Tea", "--discount", "1 free tea",
         "--points", "5", "--valid", "20260101-20261231", "--max-redemptions", "3")  # fmt: skip


JURISDICTION = (BAD_JURISDICTION, "[invalid_jurisdiction]")
BIDI = ("reason contains the control, bidi or invisible character U+202E", "[forbidden_character]")
TRANSFER = ("tx", "transfer", "--to", "@issuer", "--batch", BATCH, "--amount", "1")


@pytest.mark.parametrize(
    ("args", "key", "fragments"),
    [
        # Reproduction: each exited 3 with the node's refusal of the simulation.
        ((*RETIRE, "--jurisdiction", "ZZZ"), "issuer", JURISDICTION),
        ((*OFFER, "--jurisdiction", "ZZZ"), "merchant", JURISDICTION),
        (("tx", "cancel", BATCH, "1", "--reason", "moved\u202e"), "issuer", BIDI),
        (TRANSFER, "issuer", ("a transfer cannot send tickets to its signer [self_transfer]",)),
        # Beyond a size limit of the chain's parameters (which the node knows)
        ((*OFFER[:4], "x" * 300, *OFFER[5:]), "merchant", ("description is 300 bytes, the limit "
                                                           "is 256", "[field_too_long]")),
    ],
)  # fmt: skip
def test_a_field_the_ledger_refuses_on_its_own_is_bad_input(
    shared_devnet: DevnetInfo, args: tuple[str, ...], key: str, fragments: tuple[str, ...]
) -> None:
    info = shared_devnet
    nonce = nonce_of(info, key)
    bad_input(run(*args, *wallet(info, key)), *fragments)
    bad_input(run(*args, *wallet(info, key), "--no-simulate"), *fragments[:1])
    assert nonce_of(info, key) == nonce


def test_a_file_is_not_written_with_a_field_the_ledger_refuses(
    shared_devnet: DevnetInfo, tmp_path: Path
) -> None:
    # Offline (--no-simulate with --chain-id and --nonce) no node is asked: the file was written.
    out = tmp_path / "retire.json"
    offline = ("--no-simulate", "--chain-id", shared_devnet.chain_id, "--nonce", "0")
    result = run(*RETIRE, "--jurisdiction", "ZZZ", *wallet(shared_devnet, "issuer"), *offline,
                 "--out", str(out))  # fmt: skip
    bad_input(result, BAD_JURISDICTION, "[invalid_jurisdiction]")
    assert not out.exists()


def _bad_file(info: DevnetInfo, path: Path, reason: str = "offset") -> Path:
    """A co-signing file of a retirement in jurisdiction ZZZ, signed (an older wallet wrote it)."""
    issuer = wallet_keys(info)["issuer"]
    msg = ledger_pb2.Retire(batch_id=BATCH, amount_grams=1, beneficiary="Acme", reason=reason,
                            jurisdiction="ZZZ")  # fmt: skip
    body = make_body(info.chain_id, issuer.address, nonce_of(info, "issuer"), msg)
    envelope = ledger_pb2.TxEnvelope.FromString(encode_tx(body, [issuer]))
    write_cosign(path, CosignFile(envelope, body, ()))
    return path


def test_a_cosigning_file_with_a_field_the_ledger_refuses_is_bad_input(
    shared_devnet: DevnetInfo, tmp_path: Path
) -> None:
    info = shared_devnet
    file = _bad_file(info, tmp_path / "retire.json")
    node = ("--node", info.endpoints[0])
    bad_input(run("tx", "broadcast", str(file), *node), BAD_JURISDICTION, "[invalid_jurisdiction]")
    bad_input(run("tx", "broadcast", str(file), *node, "--no-simulate"), "[invalid_jurisdiction]")
    bad_input(run("tx", "renew", str(file), *node), "[invalid_jurisdiction]")
    signed = file.read_text()
    bad_input(run("tx", "sign", str(file), "-k", "issuer", "--keystore", str(info.wallet_dir)),
              "[invalid_jurisdiction]")  # fmt: skip
    assert file.read_text() == signed


def test_a_transaction_over_the_chains_size_limit_is_bad_input(
    shared_devnet: DevnetInfo, tmp_path: Path
) -> None:
    # Reproduction: an award file too big for one transaction (the chain's max_tx_bytes, 16 KiB
    # by default) exited 3, as if the ledger had judged the awards. Such a file now goes out in
    # several transactions (tests/cli/test_award_parts.py), but for a command that makes no call
    # before SubmitTx (--no-simulate with --chain-id and --nonce): its one transaction is refused.
    info = shared_devnet
    resident = wallet_keys(info)["issuer"].address  # well formed; its kind does not matter here
    rows = [f"{resident},walk,20260101,1,ref-{n:04d}" for n in range(400)]
    awards = tmp_path / "awards.csv"
    awards.write_text("\n".join(rows) + "\n")
    nonce = nonce_of(info, "points-operator")
    args = ("tx", "award-points", "--file", str(awards), *wallet(info, "points-operator"))
    offline = ("--no-simulate", "--chain-id", info.chain_id, "--nonce", str(nonce))
    bad_input(run(*args, *offline), "the limit is 16384", "[tx_too_large]")
    assert nonce_of(info, "points-operator") == nonce
    # A count over its limit (max_transfer_entries, 64)
    to = wallet_keys(info)["resident"].address
    entries = [arg for n in range(65) for arg in ("--entry", f"{to}:{BATCH}:0.{n + 1:06d}")]
    transfer = ("tx", "transfer", "--to", to, "--batch", BATCH, "--amount", "1", *entries)
    nonce = nonce_of(info, "issuer")
    bad_input(run(*transfer, *wallet(info, "issuer")), "[too_many_entries]")
    assert nonce_of(info, "issuer") == nonce
