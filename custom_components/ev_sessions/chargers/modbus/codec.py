"""Register codec: turn 16-bit Modbus registers into values and back.

Pure functions, shared by the adapter and the simulators so both read the register layout
from the same :class:`RegisterSpec`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
import math
import struct


class RegisterType(StrEnum):
    """How the registers of one value are laid out."""

    U16 = "u16"
    I16 = "i16"
    U32 = "u32"
    I32 = "i32"
    U64 = "u64"
    I64 = "i64"
    F32 = "f32"
    F64 = "f64"
    STRING = "string"  # ASCII, ``chars_per_register`` 1 or 2, NUL/space padded
    VERSION = "version"  # bytes joined with dots ("1.6.5"), first ``length_bytes`` bytes
    BOOL = "bool"  # one coil or discrete input (0/1); on a register: 0 or not 0


class Function(StrEnum):
    """Which Modbus table a register lives in."""

    HOLDING = "holding"  # FC3 read, FC6/FC16 write
    INPUT = "input"  # FC4 read
    COIL = "coil"  # FC1 read, FC5/FC15 write (one bit each)
    DISCRETE_INPUT = "discrete_input"  # FC2 read (one bit each)

    @property
    def is_bit(self) -> bool:
        """Coils and discrete inputs hold bits, not 16-bit registers."""
        return self in (Function.COIL, Function.DISCRETE_INPUT)

    @property
    def read_code(self) -> int:
        """The Modbus function code that reads this table."""
        return _READ_CODES[self]


_READ_CODES = {
    Function.HOLDING: 3,
    Function.INPUT: 4,
    Function.COIL: 1,
    Function.DISCRETE_INPUT: 2,
}


class WordOrder(StrEnum):
    """Order of the 16-bit words of multi-register values."""

    BIG = "big"  # high word first (most chargers in the reference)
    LITTLE = "little"  # low word first ("LSW first": Phoenix Contact EV-ETH / EM-CP-PP-ETH)


class ByteOrder(StrEnum):
    """Order of the two bytes inside each 16-bit register."""

    BIG = "big"  # high byte first (the Modbus standard)
    LITTLE = "little"  # bytes swapped in every register


#: Fixed register counts of the numeric types.
_NUMERIC_WIDTH: dict[RegisterType, int] = {
    RegisterType.U16: 1,
    RegisterType.I16: 1,
    RegisterType.U32: 2,
    RegisterType.I32: 2,
    RegisterType.U64: 4,
    RegisterType.I64: 4,
    RegisterType.F32: 2,
    RegisterType.F64: 4,
    RegisterType.BOOL: 1,
}

_STRUCT: dict[RegisterType, str] = {
    RegisterType.U16: ">H",
    RegisterType.I16: ">h",
    RegisterType.U32: ">I",
    RegisterType.I32: ">i",
    RegisterType.U64: ">Q",
    RegisterType.I64: ">q",
    RegisterType.F32: ">f",
    RegisterType.F64: ">d",
}

_FLOATS = frozenset({RegisterType.F32, RegisterType.F64})


@dataclass(frozen=True, slots=True, kw_only=True)
class RegisterSpec:
    """One value on the device: where it is and how to decode it.

    Decoding of integers: ``((raw >> shift) & mask) * scale``; floats: ``raw * scale``.
    ``unit_id`` overrides the profile's unit id (Alfen keeps station data on unit 200).
    ``hex_digits`` renders an integer as upper-case hex of that width (KEBA RFID).
    ``empty`` lists decoded texts that mean "no value" (e.g. ``"00000000"``).
    ``byte_order`` little swaps the two bytes of every register before decoding (numbers and
    two-character strings). Coils and discrete inputs (``function``) are ``bool``: one bit.
    """

    address: int
    type: RegisterType = RegisterType.U16
    function: Function = Function.HOLDING
    word_order: WordOrder = WordOrder.BIG
    byte_order: ByteOrder = ByteOrder.BIG
    scale: float = 1.0
    length: int = 1  # registers, for STRING and VERSION
    chars_per_register: int = 2  # STRING: 2 = both bytes, 1 = one byte per register
    low_byte: bool = True  # STRING with 1 char per register: which byte carries it
    length_bytes: int = 3  # VERSION: how many leading bytes form the version
    shift: int = 0
    mask: int | None = None
    hex_digits: int | None = None
    empty: tuple[str, ...] = ()
    unit_id: int | None = None

    @property
    def count(self) -> int:
        """Number of registers this value occupies."""
        if self.type in (RegisterType.STRING, RegisterType.VERSION):
            return self.length
        return _NUMERIC_WIDTH[self.type]

    @property
    def is_text(self) -> bool:
        """True when the decoded value is a string."""
        return self.type in (RegisterType.STRING, RegisterType.VERSION) or (
            self.hex_digits is not None
        )


Decoded = float | int | str | None


def _swap(words: list[int], order: ByteOrder) -> list[int]:
    """Swap the bytes of every register when ``order`` is little (its own inverse)."""
    if order is ByteOrder.BIG:
        return words
    return [((w & 0xFF) << 8) | ((w >> 8) & 0xFF) for w in words]


def _words_to_bytes(words: list[int], order: WordOrder) -> bytes:
    ordered = words if order is WordOrder.BIG else list(reversed(words))
    return b"".join(w.to_bytes(2, "big") for w in ordered)


def _bytes_to_words(data: bytes, order: WordOrder) -> list[int]:
    words = [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]
    return words if order is WordOrder.BIG else list(reversed(words))


def _decode_string(spec: RegisterSpec, words: list[int]) -> str:
    if spec.chars_per_register == 2:
        raw = b"".join(w.to_bytes(2, "big") for w in words)
    else:
        raw = bytes((w & 0xFF) if spec.low_byte else (w >> 8) & 0xFF for w in words)
    return raw.replace(b"\x00", b" ").decode("ascii", errors="replace").strip()


def decode(spec: RegisterSpec, words: list[int]) -> Decoded:
    """Decode ``spec.count`` registers. Unavailable values (NaN, ``empty``) give ``None``."""
    if len(words) != spec.count:
        msg = f"register {spec.address}: expected {spec.count} registers, got {len(words)}"
        raise ValueError(msg)
    if spec.type is RegisterType.BOOL:
        return 1 if words[0] else 0
    words = _swap(words, spec.byte_order)
    if spec.type is RegisterType.STRING:
        text = _decode_string(spec, words)
        return None if text == "" or text in spec.empty else text
    if spec.type is RegisterType.VERSION:
        data = b"".join(w.to_bytes(2, "big") for w in words)[: spec.length_bytes]
        return ".".join(str(b) for b in data)
    value: float | int = struct.unpack(_STRUCT[spec.type], _words_to_bytes(words, spec.word_order))[
        0
    ]
    if spec.type in _FLOATS:
        if math.isnan(value) or math.isinf(value):
            return None
        return value * spec.scale
    assert isinstance(value, int)
    value >>= spec.shift
    if spec.mask is not None:
        value &= spec.mask
    if spec.hex_digits is not None:
        text = f"{value:0{spec.hex_digits}X}"
        return None if text in spec.empty else text
    if spec.scale == 1.0:
        return value
    return value * spec.scale


def encode(spec: RegisterSpec, value: float | str) -> list[int]:
    """Encode a value into ``spec.count`` registers (inverse of :func:`decode`)."""
    if spec.type is RegisterType.BOOL:
        if isinstance(value, str):
            msg = f"register {spec.address}: cannot encode text into bool"
            raise TypeError(msg)
        return [1 if value else 0]
    return _swap(_encode_words(spec, value), spec.byte_order)


def _encode_words(spec: RegisterSpec, value: float | str) -> list[int]:
    """Encode without the byte swap."""
    if spec.type is RegisterType.STRING:
        text = str(value).encode("ascii", errors="replace")
        if spec.chars_per_register == 2:
            padded = text[: spec.length * 2].ljust(spec.length * 2, b"\x00")
            return [int.from_bytes(padded[i : i + 2], "big") for i in range(0, len(padded), 2)]
        padded = text[: spec.length].ljust(spec.length, b"\x00")
        return [b if spec.low_byte else b << 8 for b in padded]
    if spec.type is RegisterType.VERSION:
        parts = [int(p) for p in str(value).split(".")][: spec.length_bytes]
        data = bytes(parts).ljust(spec.length * 2, b"\x00")
        return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]
    if spec.hex_digits is not None and isinstance(value, str):
        value = int(value, 16) if value else 0
    if isinstance(value, str):
        msg = f"register {spec.address}: cannot encode text into {spec.type}"
        raise TypeError(msg)
    if spec.type in _FLOATS:
        raw_bytes = struct.pack(_STRUCT[spec.type], value / spec.scale)
        return _bytes_to_words(raw_bytes, spec.word_order)
    raw = round(value / spec.scale)
    if spec.mask is not None:
        raw &= spec.mask
    raw <<= spec.shift
    bits = 16 * spec.count
    if spec.type in (RegisterType.I16, RegisterType.I32, RegisterType.I64):
        raw &= (1 << bits) - 1  # two's complement
    elif raw < 0 or raw >= 1 << bits:
        msg = f"register {spec.address}: {value} does not fit in {spec.type}"
        raise ValueError(msg)
    return _bytes_to_words(raw.to_bytes(2 * spec.count, "big"), spec.word_order)
