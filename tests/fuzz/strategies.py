"""Generators of hostile input: raw bytes, mutated valid encodings, structured messages.

Each generator is a function of a ``Picker`` (the source of choices), so the same code feeds two
engines: Hypothesis in CI (``strategy(gen)``: reproducible, and it shrinks a finding to a small
input) and a plain seeded ``random.Random`` in the soak (``RandomPicker``: 3 to 50 times
cheaper per input, which is what makes a million inputs affordable). Three kinds, for every
decoder:

- ``mutated_bytes``: a valid sample with a few byte-level edits (flip a bit, set a byte, insert,
  delete, truncate, duplicate a range), the classic mutation fuzzer's moves;
- ``merged_message`` / ``proto_message``: a valid protobuf message with a random partial message
  merged in, or one from scratch: any field of the schema, nested messages included, with any
  value of its type (edge integers, odd lengths of bytes, odd text);
- ``mutated_json``: a valid JSON document with nodes replaced (by any JSON value, an edge value of
  its own type, a lone surrogate, a very long string), deleted or added, sometimes with deep
  nesting or a 4,301-digit number spliced into the text.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar, cast

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from hypothesis import strategies as st

__all__ = [
    "Gen",
    "Picker",
    "RandomPicker",
    "binary",
    "json_document",
    "merged_message",
    "mutated_bytes",
    "mutated_json",
    "one_of",
    "proto_message",
    "strategy",
]

T = TypeVar("T")


class Picker(Protocol):
    """Where a generator's choices come from."""

    def integer(self, low: int, high: int) -> int: ...
    def choice(self, options: Sequence[T]) -> T: ...
    def binary(self, low: int, high: int) -> bytes: ...
    def text(self, high: int) -> str: ...
    def floating(self) -> float: ...


Gen = Callable[[Picker], Any]


class _HypothesisPicker:
    def __init__(self, draw: st.DrawFn) -> None:
        self._draw = draw

    def integer(self, low: int, high: int) -> int:
        return int(self._draw(st.integers(low, high)))

    def choice(self, options: Sequence[T]) -> T:
        return self._draw(st.sampled_from(tuple(options)))

    def binary(self, low: int, high: int) -> bytes:
        return bytes(self._draw(st.binary(min_size=low, max_size=high)))

    def text(self, high: int) -> str:
        return str(self._draw(st.text(max_size=high)))

    def floating(self) -> float:
        return float(self._draw(st.floats()))


# Characters the random engine draws text from: ASCII, Latin, CJK, emoji, controls, a lone
# surrogate and a non-character (Hypothesis's text() leaves surrogates out; JSON can carry them).
_ALPHABET = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .-_:/[]{}\"'\\=#,"
    "\x00\x01\x7f\u00e9\u00df\u4e2d\u6587\U0001f600\u200b\ufeff\ud800\uffff\n\t"
)
_FLOATS = (0.0, -0.0, 1.5, -1.0, 1e308, float("inf"), float("-inf"), float("nan"), 2.0**64)


class RandomPicker:
    """Choices from a seeded ``random.Random``: the soak's engine."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng

    def integer(self, low: int, high: int) -> int:
        return self._rng.randint(low, high)

    def choice(self, options: Sequence[T]) -> T:
        return options[self._rng.randrange(len(options))]

    def binary(self, low: int, high: int) -> bytes:
        return self._rng.randbytes(self._rng.randint(low, high))

    def text(self, high: int) -> str:
        n = self._rng.randint(0, high)
        return "".join(self._rng.choices(_ALPHABET, k=n))

    def floating(self) -> float:
        return self.choice(_FLOATS) if self._rng.random() < 0.5 else self._rng.uniform(-1e9, 1e9)


def strategy(gen: Gen) -> st.SearchStrategy[Any]:
    """The Hypothesis strategy of a generator."""
    return st.composite(lambda draw: gen(_HypothesisPicker(draw)))()


def one_of(*gens: Gen) -> Gen:
    """A generator that runs one of ``gens``, chosen per input."""
    return lambda p: p.choice(gens)(p)


def binary(high: int) -> Gen:
    """Raw bytes of up to ``high`` bytes."""
    return lambda p: p.binary(0, high)


# ---------------------------------------------------------------- byte-level mutation


_EDGE_INTS = (0, 1, -1, 2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**63 - 1, 2**63, 2**64 - 1, 2**64)
_BYTES = (0x00, 0x01, 0x7F, 0x80, 0xFF, 0x0A, 0x22, 0x5B, 0x7B)


def _edit(p: Picker, data: bytearray) -> None:
    op = p.choice(("flip", "set", "insert", "delete", "truncate", "duplicate"))
    pos = p.integer(0, max(len(data) - 1, 0))
    if op == "insert" or not data:
        data[pos:pos] = p.binary(1, 16)
    elif op == "flip":
        data[pos] ^= 1 << p.integer(0, 7)
    elif op == "set":
        data[pos] = p.choice(_BYTES)
    elif op == "delete":
        del data[pos : pos + p.integer(1, 16)]
    elif op == "truncate":
        del data[pos:]
    else:
        end = pos + p.integer(1, 64)
        data[pos:pos] = data[pos:end]


def mutated_bytes(seeds: Sequence[bytes]) -> Gen:
    """One of ``seeds`` with one to four byte-level edits."""

    def gen(p: Picker) -> bytes:
        data = bytearray(p.choice(seeds))
        for _ in range(p.integer(1, 4)):
            _edit(p, data)
        return bytes(data)

    return gen


# ---------------------------------------------------------------- protobuf


_TEXTS = ("", "A" * 300, "ct1", "\u00e9", "x" * 70, "carbon-test-1")
_SIGNED = {FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_SINT32,
           FieldDescriptor.TYPE_SINT64, FieldDescriptor.TYPE_SFIXED32,
           FieldDescriptor.TYPE_SFIXED64}  # fmt: skip
_WIDE = {FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_FIXED64,
         FieldDescriptor.TYPE_SINT64, FieldDescriptor.TYPE_SFIXED64}  # fmt: skip


def _scalar(p: Picker, field: FieldDescriptor) -> Any:
    t = field.type
    if t == FieldDescriptor.TYPE_BOOL:
        return p.choice((False, True))
    if t == FieldDescriptor.TYPE_STRING:
        text = p.text(40).encode("utf-8", "replace").decode()  # protobuf refuses surrogates
        return p.choice((text, text, p.choice(_TEXTS)))
    if t == FieldDescriptor.TYPE_BYTES:
        return p.binary(*p.choice(((0, 40), (32, 32), (64, 64), (31, 33))))
    if t == FieldDescriptor.TYPE_ENUM:
        assert field.enum_type is not None, field.full_name  # an enum field names its enum
        return p.choice((*[v.number for v in field.enum_type.values], -1, 7, 99))
    if t in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return p.floating() if t == FieldDescriptor.TYPE_DOUBLE else p.choice((0.0, 1.5, -2.0))
    bits = 64 if t in _WIDE else 32
    low, high = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if t in _SIGNED else (0, 2**bits - 1)
    kind = p.integer(0, 2)
    if kind == 0:
        return p.choice([v for v in _EDGE_INTS if low <= v <= high])
    return p.integer(low, high) if kind == 1 else p.integer(max(low, 0), 5)


def _descriptor(cls: type[Message]) -> Descriptor:
    # The stubs type DESCRIPTOR as the pure-Python or the upb descriptor, and GetMessageClass as
    # taking the first only: at run time it takes whichever the installed protobuf made.
    return cast(Descriptor, cls.DESCRIPTOR)


def _message_type(field: FieldDescriptor) -> Descriptor:
    assert field.message_type is not None, field.full_name  # a message field names its type
    return field.message_type


def _partial(p: Picker, descriptor: Descriptor, depth: int) -> Message:
    msg = GetMessageClass(descriptor)()
    fields = tuple(descriptor.fields)
    # A few fields only (TxBody alone has dozens): a merge keeps the sample's others.
    for _ in range(p.integer(1, 3) if fields else 0):
        field = p.choice(fields)
        nested = field.type == FieldDescriptor.TYPE_MESSAGE
        if nested and depth <= 0:
            continue
        count = p.integer(0, 3) if field.is_repeated else 1
        values = [
            _partial(p, _message_type(field), depth - 1) if nested else _scalar(p, field)
            for _ in range(count)
        ]
        if field.is_repeated:
            target = getattr(msg, field.name)
            for value in values:
                target.add().CopyFrom(value) if nested else target.append(value)
        elif nested:
            getattr(msg, field.name).CopyFrom(values[0])
        else:
            setattr(msg, field.name, values[0])
    return msg


def proto_message(cls: type[Message], depth: int = 3) -> Gen:
    """A random message of the schema ``cls``, serialised (structure-aware, from scratch)."""
    return lambda p: _partial(p, _descriptor(cls), depth).SerializeToString()


def merged_message(cls: type[Message], seeds: Sequence[bytes], depth: int = 3) -> Gen:
    """A valid sample of ``cls`` with a random partial message merged in, serialised."""

    def gen(p: Picker) -> bytes:
        msg = cls.FromString(p.choice(seeds))
        msg.MergeFrom(_partial(p, _descriptor(cls), depth))
        return msg.SerializeToString()

    return gen


# ---------------------------------------------------------------- JSON


_SPLICE = "@@fuzz-splice@@"
_ODD_TEXTS = ("\ud800", "", "00" * 32, "zz", "x" * 5000, "ct1" + "q" * 38, "\x00", "NaN")


def _json_leaf(p: Picker) -> Any:
    kind = p.integer(0, 6)
    if kind == 0:
        return None
    if kind == 1:
        return p.choice((False, True))
    if kind == 2:
        return p.choice((p.integer(-(2**70), 2**70), p.choice(_EDGE_INTS), p.integer(0, 9)))
    if kind == 3:
        return p.floating()
    if kind == 4:
        return p.choice(_ODD_TEXTS)
    return p.text(20)


def json_document(p: Picker, budget: int = 6) -> Any:
    """Any small JSON value: nested lists and objects of odd leaves."""
    kind = p.integer(0, 3) if budget > 0 else 0
    if kind <= 1:
        return _json_leaf(p)
    count = p.integer(0, 3)
    if kind == 2:
        return [json_document(p, budget - 2) for _ in range(count)]
    return {p.text(10): json_document(p, budget - 2) for _ in range(count)}


def _slots(doc: Any, found: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """Every (container, key) pair of ``doc``, parents before children."""
    items: Any = ()
    if isinstance(doc, dict):
        items = doc.items()
    elif isinstance(doc, list):
        items = enumerate(doc)
    for key, value in items:
        found.append((doc, key))
        _slots(value, found)
    return found


def _edge_of(p: Picker, value: Any) -> Any:
    if isinstance(value, bool):
        return p.choice((not value, 0, 1, "true"))
    if isinstance(value, int):
        near = (value + 1, value - 1, -value, float(value), str(value))
        return p.choice((*near, *_EDGE_INTS))
    if isinstance(value, str):
        return p.choice((value[:-1], value + "0", value.upper(), value * 2, "\ud800", "\x00",
                         value + "\ud800", value[: len(value) // 2]))  # fmt: skip
    return p.choice(([], {}, [value], None))


def _edit_json(p: Picker, doc: Any) -> None:
    slots = _slots(doc, [])
    if not slots:
        return
    container, key = p.choice(slots)
    op = p.choice(("edge", "edge", "replace", "delete", "add"))
    if op == "edge":
        container[key] = _edge_of(p, container[key])
    elif op == "replace":
        container[key] = json_document(p)
    elif op == "delete":
        del container[key]
    elif isinstance(container, dict):
        container[p.text(10)] = json_document(p)
    else:
        container.append(json_document(p))


def mutated_json(seeds: Sequence[Any], text: bool = True) -> Gen:
    """A valid document with one to three structural edits; as UTF-8 bytes when ``text``."""

    def gen(p: Picker) -> Any:
        doc = copy.deepcopy(p.choice(seeds))
        for _ in range(p.integer(1, 3)):
            _edit_json(p, doc)
        if not text:
            return doc
        # Deep nesting and over-long numbers, the cheapest ways to crash a JSON reader, need
        # text: json.dumps itself would recurse or refuse.
        splice = p.integer(0, 9) == 0 and _slots(doc, [])
        if splice:
            container, key = p.choice(splice)
            container[key] = _SPLICE
        dumped = json.dumps(doc)
        if splice:
            depth = p.choice((2, 100, 5_000, 100_000))
            odd = p.choice(("[" * depth + "]" * depth, "9" * p.choice((5, 4_301, 10_000))))
            dumped = dumped.replace(json.dumps(_SPLICE), odd)
        return dumped.encode("utf-8", "surrogatepass")

    return gen
