"""Group register reads into as few requests as the device allows."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass

from .codec import Function, RegisterSpec


@dataclass(frozen=True, slots=True)
class ReadBlock[K: Hashable]:
    """One read request and the values it carries, each keyed by ``K``."""

    unit_id: int
    function: Function
    address: int
    count: int
    members: tuple[tuple[K, RegisterSpec], ...]

    def slice(self, spec: RegisterSpec, words: list[int]) -> list[int]:
        """The registers of ``spec`` inside this block's answer."""
        start = spec.address - self.address
        return words[start : start + spec.count]


def plan_reads[K: Hashable](
    items: Iterable[tuple[K, RegisterSpec]],
    *,
    default_unit: int,
    max_registers: int,
    merge_gap: int,
) -> list[ReadBlock[K]]:
    """Merge registers of the same unit and function into blocks (never coils or discrete
    inputs).

    Two values share a request when the hole between them is at most ``merge_gap``
    registers (``-1``: never merge) and the block stays within ``max_registers``.
    Duplicate specs (the same register used twice) are read once per key.
    """
    keyed = sorted(
        items,
        key=lambda kv: (
            default_unit if kv[1].unit_id is None else kv[1].unit_id,
            kv[1].function.value,
            kv[1].address,
        ),
    )
    blocks: list[ReadBlock[K]] = []
    current: list[tuple[K, RegisterSpec]] = []
    cur_unit = -1
    cur_fn: Function | None = None
    cur_start = cur_end = 0  # end exclusive

    def flush() -> None:
        if current:
            blocks.append(
                ReadBlock(
                    cur_unit,
                    cur_fn or Function.HOLDING,
                    cur_start,
                    cur_end - cur_start,
                    tuple(current),
                )
            )

    for key, spec in keyed:
        unit = default_unit if spec.unit_id is None else spec.unit_id
        end = spec.address + spec.count
        # bits (coils, discrete inputs) are read one by one: simple devices map them oddly
        same_table = (
            current and unit == cur_unit and spec.function is cur_fn and not spec.function.is_bit
        )
        gap = spec.address - cur_end
        if (
            same_table
            and merge_gap >= 0
            and gap <= merge_gap
            and max(end, cur_end) - cur_start <= max_registers
        ):
            current.append((key, spec))
            cur_end = max(cur_end, end)
            continue
        flush()
        current = [(key, spec)]
        cur_unit, cur_fn, cur_start, cur_end = unit, spec.function, spec.address, end
    flush()
    return blocks
