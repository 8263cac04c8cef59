"""The certificate round trip on a devnet of 4 real validator processes, the CLI as a subprocess.

Retire (the demo), export the proof bundle with ``query certificate --proof --out``, verify it
offline with ``verify --genesis``, then check that verification fails, with one line and exit
code 1, after each of: a changed amount, beneficiary, header field, receipt, a removed precommit
and a foreign genesis.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.bundles import TAMPERS, foreign_genesis, tampered, without_quorum
from tests.node.network import Network

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, CARBON_TICKET_PASSWORD="devnet", CARBON_TICKET_CONNECT_TIMEOUT="2")
    return subprocess.run([sys.executable, "-P", "-m", "carbon_ticket.cli", *args],
                          capture_output=True, text=True, env=env, timeout=120,
                          cwd=ROOT)  # fmt: skip


def failure_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1 and result.stdout == "", result.stdout + result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("verification failed: "), result.stderr
    return lines[0]


def test_retire_export_and_verify_offline_then_every_tampering_fails(
    net: Network, tmp_path: Path
) -> None:
    demo = cli("demo", "--home", str(net.info.home), "-o", "json")
    assert demo.returncode == 0, demo.stderr
    certificate = json.loads(demo.stdout[demo.stdout.index("{") :])
    cert_id = certificate["certificate_id"]
    bundle_path = tmp_path / "cert.json"
    # Ask another node than the one the demo talked to: every node serves the same proof.
    exported = cli("query", "certificate", cert_id, "--proof", "--out", str(bundle_path),
                   "--node", net.endpoints[2])  # fmt: skip
    assert exported.returncode == 0, exported.stderr
    genesis = net.info.home / "genesis.json"

    verified = cli("verify", str(bundle_path), "--genesis", str(genesis))
    assert verified.returncode == 0, verified.stderr
    bundle = json.loads(bundle_path.read_text())
    assert f"certificate {cert_id} is valid" in verified.stdout
    assert "retired 5000 tCO2e" in verified.stdout
    assert certificate["beneficiary"] in verified.stdout
    precommits = len(bundle["commit"]["precommits"])
    assert precommits >= 3 and f"signed by {precommits} of 4 voting power" in verified.stdout

    wanted = {"amount", "beneficiary", "header time", "receipt event"}
    for what, how, fragment in TAMPERS:
        if what not in wanted:
            continue
        path = tmp_path / f"{what.replace(' ', '-')}.json"
        path.write_text(json.dumps(tampered(bundle, how)))
        assert fragment in failure_line(cli("verify", str(path), "--genesis", str(genesis))), what

    path = tmp_path / "no-quorum.json"
    path.write_text(json.dumps(without_quorum(bundle)))
    line = failure_line(cli("verify", str(path), "--genesis", str(genesis)))
    assert "commit certificate" in line and "more than 2/3" in line

    other = tmp_path / "foreign-genesis.json"
    other.write_text(foreign_genesis(genesis.read_text()))
    assert "wrong genesis" in failure_line(cli("verify", str(bundle_path), "--genesis", str(other)))
