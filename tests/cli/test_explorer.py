"""The explorer's aiohttp app against an in-process devnet after ``carbon-ticket demo``: every
page renders what the node holds, the register searches, the bundle is served and verifies,
bad input and an unreachable node get a clear page. The JavaScript verifier is tested in
test_explorer_js.py, the pages in a real browser in test_explorer_browser.py."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
import time
import urllib.error
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from click.testing import CliRunner

from carbon_ticket.chain.genesis import Genesis
from carbon_ticket.cli.explorer import trusted_genesis
from carbon_ticket.cli.main import cli
from carbon_ticket.cli.tools.devnet import cli_command, cli_env
from carbon_ticket.cli.verify import verify_bundle
from tests.cli.explorer_harness import (
    GAMES_BENEFICIARY,
    GAMES_EVENT,
    DemoChain,
    Page,
    fetch,
    running_explorer,
)
from tests.cli.harness import free_port


@pytest.fixture(scope="module")
def url(demo_devnet: DemoChain) -> Iterator[str]:
    with running_explorer(demo_devnet.endpoint, demo_devnet.genesis()) as base:
        yield base


def test_home_shows_the_chain_and_its_recent_blocks(url: str, demo_devnet: DemoChain) -> None:
    page = fetch(url + "/")
    assert page.status == 200
    assert demo_devnet.info.chain_id in page.text
    assert '<table class="blocks">' in page.text
    # The blocks table names the proposer by its validator name, and has 20 rows at most.
    assert "<td>node0</td>" in page.text
    assert 1 <= page.text.count("<tr>") - 1 <= 20


def test_projects_list_the_demo_forest_with_its_supply(url: str, demo_devnet: DemoChain) -> None:
    page = fetch(url + "/projects")
    assert page.status == 200
    assert demo_devnet.project_id in page.text
    row = page.text.split(demo_devnet.project_id, 2)[2].split("</tr>")[0]
    # 150,000 t issued; 5,000 t for the Games and 1+2+3+4 t by the side retirements.
    assert "<td>150000 t</td>" in row
    assert "<td>5010 t</td>" in row


def test_a_project_page_lists_its_batches(url: str, demo_devnet: DemoChain) -> None:
    page = fetch(url + "/projects/" + quote(demo_devnet.project_id))
    assert page.status == 200
    assert "Guyang County State Forest Carbon Sink" in page.text
    assert demo_devnet.batch_id in page.text
    for word in ("Issued", "Tradable", "Retired", "Cancelled", "Buffer"):
        assert f"<th>{word}</th>" in page.text


def test_a_batch_page_shows_its_supply(url: str, demo_devnet: DemoChain) -> None:
    page = fetch(url + "/batches/" + quote(demo_devnet.batch_id))
    assert page.status == 200
    assert "<td>150000 t</td>" in page.text and "<td>5010 t</td>" in page.text


def test_the_register_finds_the_winter_games_by_event_and_by_beneficiary(
    url: str, demo_devnet: DemoChain
) -> None:
    for query in ({"event": GAMES_EVENT}, {"beneficiary": GAMES_BENEFICIARY}):
        page = fetch(url + "/retirements?" + urlencode(query))
        assert page.status == 200
        assert demo_devnet.games_certificate in page.text
        assert "Fujian Test Co" not in page.text
    everything = fetch(url + "/retirements")
    assert demo_devnet.games_certificate in everything.text
    assert "Fujian Test Co 3" in everything.text


def test_a_search_without_match_says_so(url: str) -> None:
    page = fetch(url + "/retirements?" + urlencode({"beneficiary": "Nobody at all"}))
    assert page.status == 200
    assert "No retirement matches." in page.text


def test_the_certificate_page_carries_its_verification_panel(
    url: str, demo_devnet: DemoChain
) -> None:
    cert = demo_devnet.games_certificate
    page = fetch(f"{url}/certificates/{cert}")
    assert page.status == 200
    assert GAMES_BENEFICIARY in page.text
    assert f'data-bundle="/certificates/{cert}/bundle.json"' in page.text
    assert demo_devnet.genesis().hash().hex() in page.text
    assert '<script src="/static/verify.js" defer>' in page.text


def test_the_bundle_served_is_the_cli_bundle_and_verifies(url: str, demo_devnet: DemoChain) -> None:
    cert = demo_devnet.games_certificate
    page = fetch(f"{url}/certificates/{cert}/bundle.json")
    assert page.status == 200
    assert page.headers["Content-Type"].startswith("application/json")
    assert page.json() == demo_devnet.bundle(cert)
    proven = verify_bundle(page.json(), demo_devnet.genesis())
    assert proven.certificate["certificate_id"] == cert


def test_the_served_genesis_is_the_trusted_one(url: str, demo_devnet: DemoChain) -> None:
    page = fetch(url + "/genesis.json")
    assert page.status == 200
    assert Genesis.from_json(page.text).hash() == demo_devnet.genesis().hash()
    # What the page's script hashes: the domain tag and the canonical JSON of the served text.
    served = Genesis.from_json(page.text)
    assert hashlib.sha256(b"carbonticket/genesis/v1\x00" + served.canonical_bytes()).digest() == (
        demo_devnet.genesis().hash()
    )


def test_the_verify_page_has_a_drop_zone_and_a_file_input(url: str) -> None:
    page = fetch(url + "/verify")
    assert page.status == 200
    assert 'id="dropzone"' in page.text and 'type="file"' in page.text


def test_static_files_are_served_and_pages_forbid_foreign_scripts(url: str) -> None:
    for name in ("verify.js", "page.js", "explorer.css"):
        assert fetch(f"{url}/static/{name}").status == 200
    page = fetch(url + "/verify")
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "default-src 'none'" in policy
    # No CDN, no external network: every script and style sheet is the explorer's own.
    assert "http://" not in page.text.replace(url, "") and "https://" not in page.text


@pytest.mark.parametrize(
    ("path", "status", "fragment"),
    [
        ("/certificates/RC-000000000000000000000000", 404, "Error 404"),
        ("/certificates/RC-000000000000000000000000/bundle.json", 404, "Error 404"),
        ("/projects/NO-SUCH-PROJECT", 404, "Error 404"),
        ("/batches/NO-SUCH-BATCH", 404, "Error 404"),
        ("/retirements?page_token=garbage", 400, "Error 400"),
        ("/retirements?" + urlencode({"event": "x" * 300}), 400, "longer than 256"),
        ("/no/such/page", 404, "No such page."),
        ("/validators?height=abc", 400, "is not a block height"),
        ("/validators?height=999999999", 400, "Error 400"),
    ],
)
def test_bad_input_gets_a_clear_page(url: str, path: str, status: int, fragment: str) -> None:
    page = fetch(url + path)
    assert page.status == status
    assert fragment in page.text
    assert "Traceback" not in page.text


def test_an_unreachable_node_is_a_502_page(demo_devnet: DemoChain, dead_address: str) -> None:
    with running_explorer(dead_address, demo_devnet.genesis()) as base:
        page = fetch(base + "/")
    assert page.status == 502
    assert "the node did not answer" in page.text


def test_the_command_needs_aiohttp_only_when_it_runs(
    monkeypatch: pytest.MonkeyPatch, demo_devnet: DemoChain
) -> None:
    monkeypatch.setitem(sys.modules, "aiohttp", None)  # as if the extra were not installed
    assert CliRunner().invoke(cli, ["--help"]).exit_code == 0
    result = CliRunner().invoke(cli, ["explorer", "--node", demo_devnet.endpoint, "--genesis",
                                      str(demo_devnet.genesis_path)])  # fmt: skip
    assert result.exit_code == 2
    assert "the explorer needs aiohttp" in result.output


@pytest.mark.parametrize("listen", ["8080", "localhost:99999", "a b:80"])
def test_a_bad_listen_address_is_refused(demo_devnet: DemoChain, listen: str) -> None:
    args = ["--node", demo_devnet.endpoint, "--genesis", str(demo_devnet.genesis_path)]
    result = CliRunner().invoke(cli, ["explorer", *args, "--listen", listen])
    assert result.exit_code == 2
    assert "--listen must be HOST:PORT" in result.output


def test_a_genesis_of_another_chain_is_refused(demo_devnet: DemoChain, tmp_path: Path) -> None:
    data = demo_devnet.genesis().to_dict()
    data["chain_id"] = "carbon-other"
    path = tmp_path / "genesis.json"
    path.write_text(json.dumps(data))
    result = CliRunner().invoke(cli, ["explorer", "--node", demo_devnet.endpoint, "--genesis",
                                      str(path)])  # fmt: skip
    assert result.exit_code == 3
    assert "runs chain 'carbon-devnet'" in result.output


def test_without_a_genesis_file_the_node_genesis_is_the_anchor(demo_devnet: DemoChain) -> None:
    assert trusted_genesis(demo_devnet.endpoint, None) == demo_devnet.genesis()


def test_a_genesis_the_node_did_not_start_from_is_refused(
    demo_devnet: DemoChain, tmp_path: Path
) -> None:
    data = demo_devnet.genesis().to_dict()
    data["genesis_time_ms"] += 1  # same chain id, another document
    path = tmp_path / "genesis.json"
    path.write_text(json.dumps(data))
    result = CliRunner().invoke(cli, ["explorer", "--node", demo_devnet.endpoint, "--genesis",
                                      str(path)])  # fmt: skip
    assert result.exit_code == 3
    assert "started from another genesis" in result.output


@pytest.mark.slow
def test_the_command_serves_the_explorer_until_stopped(demo_devnet: DemoChain) -> None:
    # As the issue spells it: `explorer --node ADDR`, trusting the node's own genesis.
    port = free_port()
    listen = f"127.0.0.1:{port}"
    command = cli_command("explorer", "--node", demo_devnet.endpoint, "--listen", listen)
    process = subprocess.Popen(command, env=cli_env(), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)  # fmt: skip
    try:
        assert process.stdout is not None
        first = process.stdout.readline()  # printed just before it starts serving
        assert f"on http://127.0.0.1:{port}/" in first, first
        assert demo_devnet.genesis().hash().hex() in first
        base = f"http://127.0.0.1:{port}"
        page = _first_answer(base + f"/certificates/{demo_devnet.games_certificate}/bundle.json")
        assert page.status == 200
        assert page.json()["certificate"]["certificate_id"] == demo_devnet.games_certificate
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(30)
    assert process.returncode == 0


def _first_answer(url: str) -> Page:
    # The server binds right after printing its address: retry a refused connection briefly.
    for _ in range(100):
        try:
            return fetch(url)
        except urllib.error.URLError:
            time.sleep(0.1)
    return fetch(url)


def test_the_validators_page_shows_the_set_in_effect_at_a_height(
    url: str, demo_devnet: DemoChain
) -> None:
    genesis = demo_devnet.genesis()
    for path in ("/validators", "/validators?height=1"):
        page = fetch(url + path)
        assert page.status == 200
        assert "<dt>In effect from</dt><dd>1</dd>" in page.text
        assert f"<dt>Total power</dt><dd>{len(genesis.validators)}</dd>" in page.text
        for v in genesis.validators:
            assert f"<td>{v.name}</td>" in page.text and v.network_address in page.text
        assert "Change taking effect" not in page.text
