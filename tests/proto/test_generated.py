"""The committed generated protobuf code must match the .proto files, and messages round-trip."""

from __future__ import annotations

from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2
from google.protobuf.message import Message

from carbon_ticket.proto import generate, ledger_pb2, services_pb2

GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")


def test_committed_generated_code_is_fresh(tmp_path: Path) -> None:
    pytest.importorskip("grpc_tools")
    generate.generate(out_dir=tmp_path)
    fresh = sorted((tmp_path / "proto").iterdir())
    assert fresh, "protoc produced nothing"
    for path in fresh:
        committed = generate.PROTO_DIR / path.name
        assert committed.exists(), (
            f"{committed.name} is not committed: run python -m carbon_ticket.proto.generate"
        )
        assert committed.read_bytes() == path.read_bytes(), (
            f"proto/{path.name} is stale: run `python -m carbon_ticket.proto.generate`, commit it"
        )


def test_stale_detection_bites(tmp_path: Path) -> None:
    pytest.importorskip("grpc_tools")
    generate.generate(out_dir=tmp_path)
    generated = tmp_path / "proto" / "ledger_pb2.py"
    generated.write_text(generated.read_text() + "\n# edited by hand\n")
    assert generated.read_bytes() != (generate.PROTO_DIR / "ledger_pb2.py").read_bytes()


def _all_messages() -> list[type[Message]]:
    classes: list[type[Message]] = []
    for module in (ledger_pb2, services_pb2):
        for name in module.DESCRIPTOR.message_types_by_name:
            classes.append(getattr(module, name))
    return classes


def _fill(message: Message, depth: int = 0) -> None:
    """Give every field of ``message`` a non-default value (oneofs: the last field wins)."""
    for field in message.DESCRIPTOR.fields:
        repeated = field.is_repeated
        if field.type == field.TYPE_MESSAGE:
            if depth > 3:
                continue
            child = getattr(message, field.name).add() if repeated else getattr(message, field.name)
            _fill(child, depth + 1)
            if not repeated:
                child.SetInParent()
            continue
        value = _sample(field)
        if repeated:
            getattr(message, field.name).append(value)
        else:
            setattr(message, field.name, value)


def _sample(field: descriptor_pb2.FieldDescriptorProto) -> object:
    if field.type == field.TYPE_STRING:
        return f"{field.name}-value"
    if field.type == field.TYPE_BYTES:
        return bytes(range(32))
    if field.type == field.TYPE_BOOL:
        return True
    if field.type == field.TYPE_ENUM:
        return field.enum_type.values[-1].number
    if field.type == field.TYPE_INT32:
        return -1
    return 7


@pytest.mark.parametrize("cls", _all_messages(), ids=lambda c: c.__name__)
def test_every_message_round_trips(cls: type[Message]) -> None:
    original = cls()
    _fill(original)
    raw = original.SerializeToString(deterministic=True)
    decoded = cls.FromString(raw)
    assert decoded == original
    assert decoded.SerializeToString(deterministic=True) == raw


def test_every_ledger_message_is_in_the_tx_body() -> None:
    oneof = ledger_pb2.TxBody.DESCRIPTOR.oneofs_by_name["msg"]
    carried = {f.message_type.name for f in oneof.fields}
    expected = {
        "RegisterAccount", "RegisterProject", "AnchorData", "AttestReport", "IssueBatch",
        "Transfer", "Retire", "Cancel", "Reversal", "GrantRole", "RevokeRole",
    }  # fmt: skip
    assert expected <= carried
