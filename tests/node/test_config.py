"""config.toml: every kind of bad file is one ConfigError line naming file, section and key;
the file is written with a comment on every key, and rewriting it keeps the operator's edits."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from carbon_ticket.cli.main import cli
from carbon_ticket.node.config import (
    CONFIG_FILE,
    ConfigError,
    ConsensusSettings,
    DebugSettings,
    NodeConfig,
    TlsSettings,
    check_node_name,
)


def _load_error(home: Path, text: str) -> str:
    (home / CONFIG_FILE).write_text(text)
    with pytest.raises(ConfigError) as err:
        NodeConfig.load(home)
    message = err.value.message
    assert "\n" not in message and "Traceback" not in message
    assert message.startswith(f"{home / CONFIG_FILE}: ") or message.startswith(
        f"cannot read {home / CONFIG_FILE}"
    )
    return message


# ---------------------------------------------------------------- one test per kind of bad file


def test_an_unknown_section_is_refused_with_a_suggestion(tmp_path: Path) -> None:
    message = _load_error(tmp_path, "[consensos]\npropose_timeout_ms = 1\n")
    assert "unknown section [consensos] (did you mean consensus?)" in message


def test_a_misspelt_key_inside_consensus_is_one_line_not_a_type_error(tmp_path: Path) -> None:
    message = _load_error(tmp_path, "[consensus]\npropose_timout_ms = 900\n")
    assert "[consensus] has unknown settings: propose_timout_ms" in message
    assert "did you mean propose_timeout_ms?" in message
    assert "TypeError" not in message and "__init__" not in message


def test_an_unknown_key_in_node_is_refused(tmp_path: Path) -> None:
    message = _load_error(tmp_path, '[node]\nlisten_address = "127.0.0.1:1"\n')
    assert "[node] has unknown settings: listen_address" in message


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (
            '[consensus]\npropose_timeout_ms = "1000"\n',
            "consensus.propose_timeout_ms must be an integer",
        ),
        ("[consensus]\nmax_block_txs = true\n", "consensus.max_block_txs must be an integer"),
        ("[mempool]\nmax_txs = 1.5\n", "mempool.max_txs must be an integer"),
        ("[node]\nname = 7\n", "node.name must be a string, got 7"),
        ('[node]\nlog_level = ["INFO"]\n', "node.log_level must be a string"),
        ('[peers]\naddresses = "10.0.0.1:26600"\n', "peers.addresses must be a list of strings"),
        ("[peers]\nobservers = [1]\n", "peers.observers must be a list of strings"),
        ('[debug]\nclock_offset_ms = "5"\n', "debug.clock_offset_ms must be an integer"),
        ('[tls]\nrequire_client_cert = "yes"\n', "tls.require_client_cert must be true or false"),
        ("consensus = 5\n", "consensus must be a [consensus] section"),
    ],
)
def test_a_value_of_the_wrong_type_names_section_and_key(
    tmp_path: Path, text: str, fragment: str
) -> None:
    assert fragment in _load_error(tmp_path, text)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (
            "[consensus]\nprevote_timeout_ms = 0\n",
            "consensus.prevote_timeout_ms must be a positive",
        ),
        ("[mempool]\nmax_bytes = -1\n", "mempool.max_bytes must be a positive integer, got -1"),
        ("[time]\nprecision_ms = 0\n", "time.precision_ms must be a positive integer"),
        ('[node]\nlog_level = "TRACE"\n', "node.log_level must be one of DEBUG, INFO, WARNING"),
        ('[node]\nlisten = "127.0.0.1"\n', "node.listen must be HOST:PORT"),
        ('[node]\nlisten = "127.0.0.1:70000"\n', "node.listen port must be 0..65535"),
        ('[node]\nlisten = "127.0.0.1:\u00b2"\n', "node.listen must be HOST:PORT"),
        ('[peers]\naddresses = ["a:0"]\n', "peers.addresses port must be 1..65535"),
        ('[peers]\nobservers = ["not-a-key"]\n', "peers.observers"),
        ('[node]\ndata_dir = " "\n', "node.data_dir must be a non-empty path"),
        ('[tls]\ncert_file = ""\n', "tls.cert_file must be a non-empty path"),
    ],
)
def test_a_value_out_of_range_names_section_and_key(
    tmp_path: Path, text: str, fragment: str
) -> None:
    assert fragment in _load_error(tmp_path, text)


@pytest.mark.parametrize(
    "name",
    [
        "bad\nname",
        "tab\there",
        "esc\x1b[31m",
        "nul\x00",
        "zero\u200bwidth",
        "",
        "   ",
        " lead",
        "x" * 65,
    ],
)
def test_a_node_name_that_is_not_one_printable_line_is_refused(tmp_path: Path, name: str) -> None:
    assert check_node_name(name) is not None
    with pytest.raises(ConfigError, match=r"^node\.name must"):
        NodeConfig(home=tmp_path, name=name)
    escaped = name.replace("\\", "\\\\").replace('"', '\\"')
    escaped = "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in escaped)
    assert "node.name must" in _load_error(tmp_path, f'[node]\nname = "{escaped}"\n')


def test_printable_unicode_names_are_fine() -> None:
    assert check_node_name("Guyang bureau 01") is None
    assert check_node_name("固阳县林业局") is None


def test_a_syntax_error_is_one_line_with_the_position(tmp_path: Path) -> None:
    message = _load_error(tmp_path, "[node]\nname = \n")
    assert "line 2" in message


def test_a_missing_file_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="node init"):
        NodeConfig.load(tmp_path)


def test_node_init_refuses_a_name_with_a_newline_and_creates_nothing(tmp_path: Path) -> None:
    home = tmp_path / "n"
    result = CliRunner().invoke(cli, ["node", "init", "--home", str(home), "--name", "a\nb"])
    assert result.exit_code != 0
    assert "node.name must not contain a newline" in result.output
    assert not home.exists()


def test_node_start_with_a_bad_log_level_is_one_line(tmp_path: Path) -> None:
    NodeConfig(home=tmp_path).save()
    path = tmp_path / CONFIG_FILE
    path.write_text(path.read_text().replace('log_level = "INFO"', 'log_level = "TRACE"'))
    result = CliRunner().invoke(cli, ["node", "start", "--home", str(tmp_path)])
    assert result.exit_code == 2  # bad input, as README documents
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line]
    assert len(lines) == 1 and "node.log_level must be one of" in lines[0], result.output


# ---------------------------------------------------------------- writing and rewriting


def test_every_key_written_has_a_comment_above_it(tmp_path: Path) -> None:
    NodeConfig(home=tmp_path, tls=TlsSettings(), debug=DebugSettings(clock_offset_ms=5)).save()
    lines = (tmp_path / CONFIG_FILE).read_text().splitlines()
    keys = [i for i, line in enumerate(lines) if " = " in line and not line.startswith("#")]
    sections = tomllib.loads("\n".join(lines))
    assert len(keys) == sum(len(values) for values in sections.values()) == 46
    assert all(lines[i - 1].startswith("# ") for i in keys)


def test_a_saved_config_loads_back_equal(tmp_path: Path) -> None:
    config = NodeConfig(
        home=tmp_path,
        name="bureau-7",
        listen="0.0.0.0:26610",
        peers=("10.0.0.2:26600", "[::1]:26600"),
        consensus=ConsensusSettings(propose_timeout_ms=3000),
        tls=TlsSettings(require_client_cert=True),
        debug=DebugSettings(clock_offset_ms=-250),
    )
    config.save()
    assert NodeConfig.load(tmp_path) == config


OPERATOR_FILE = """\
# Bureau 7 validator: ask ops@bureau7 before changing anything.
[node]
name = "bureau-7"  # as registered in the genesis
listen = "0.0.0.0:26610"

[peers]
# the other three bureaus
addresses = ["10.0.0.2:26600", "10.0.0.3:26600"]

[consensus]
propose_timeout_ms = 3_000  # WAN: slower than the default
"""


def test_tls_init_rewrites_the_file_keeping_the_operators_comments_and_edits(
    tmp_path: Path,
) -> None:
    home = tmp_path / "node"
    home.mkdir()
    (home / CONFIG_FILE).write_text(OPERATOR_FILE)
    args = ["node", "tls-init", "--home", str(home), "--ca-dir", str(tmp_path / "ca")]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    text = (home / CONFIG_FILE).read_text()
    # Everything the operator wrote is still there, as written (underscores included).
    for line in OPERATOR_FILE.splitlines():
        assert line in text
    assert text.index("[tls]") > text.index("propose_timeout_ms = 3_000")
    config = NodeConfig.load(home)
    assert config.tls == TlsSettings()
    assert config.consensus.propose_timeout_ms == 3000
    assert config.peers == ("10.0.0.2:26600", "10.0.0.3:26600")


def test_saving_a_change_edits_only_that_value(tmp_path: Path) -> None:
    (tmp_path / CONFIG_FILE).write_text(OPERATOR_FILE)
    config = NodeConfig.load(tmp_path)
    dataclasses.replace(config, peers=("10.0.0.9:26600",)).save()
    text = (tmp_path / CONFIG_FILE).read_text()
    assert 'addresses = ["10.0.0.9:26600"]' in text and "10.0.0.3" not in text
    assert "# the other three bureaus" in text
    assert 'name = "bureau-7"  # as registered in the genesis' in text
    # Turning TLS off again removes the section, and only it.
    with_tls = dataclasses.replace(config, tls=TlsSettings())
    with_tls.save()
    assert "[tls]" in (tmp_path / CONFIG_FILE).read_text()
    config.save()
    after = (tmp_path / CONFIG_FILE).read_text()
    assert "[tls]" not in after and "# Bureau 7 validator" in after
    assert NodeConfig.load(tmp_path) == config


# ---------------------------------------------------------------- metrics and log format


def test_metrics_are_off_and_on_loopback_by_default(tmp_path: Path) -> None:
    NodeConfig(home=tmp_path).save()
    config = NodeConfig.load(tmp_path)
    assert config.metrics.enabled is False
    assert config.metrics.listen.startswith("127.0.0.1:")
    assert config.log_format == "text"


def test_a_bad_metrics_listen_address_names_the_key(tmp_path: Path) -> None:
    message = _load_error(tmp_path, '[metrics]\nlisten = "nowhere"\n')
    assert "metrics.listen must be HOST:PORT" in message


def test_a_bad_log_format_names_the_choices(tmp_path: Path) -> None:
    message = _load_error(tmp_path, '[node]\nlog_format = "xml"\n')
    assert "node.log_format must be one of text, json" in message


@pytest.mark.parametrize(
    ("listen", "frame_listen", "endpoint"),
    [
        ("0.0.0.0:26656", "auto", "0.0.0.0:27656"),  # the default: the gRPC port + 1000
        ("127.0.0.1:0", "auto", "127.0.0.1:0"),  # tests: the system picks both
        ("127.0.0.1:65000", "auto", None),  # no port 66000: none (peers use the gRPC port)
        ("127.0.0.1:26600", "", None),  # turned off
        ("127.0.0.1:26600", "10.0.0.5:4000", "10.0.0.5:4000"),
    ],
)
def test_the_frame_port_follows_the_grpc_port_unless_set(
    tmp_path: Path, listen: str, frame_listen: str, endpoint: str | None
) -> None:
    config = NodeConfig(home=tmp_path, listen=listen, frame_listen=frame_listen)
    assert config.frame_endpoint == endpoint


def test_a_bad_frame_listen_address_names_the_key(tmp_path: Path) -> None:
    message = _load_error(tmp_path, '[node]\nframe_listen = "26700"\n')
    assert "frame_listen" in message and "HOST:PORT" in message
