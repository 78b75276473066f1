"""Translate OCPP ``meterValue`` lists (1.6 and 2.0.1) into :class:`MeterSample` events.

This is the hot path of the adapter (MeterValues is the high-rate message), so it is written as
plain loops over dicts with table lookups.

Values that are not finite numbers within the plausible bounds of :mod:`..events` (NaN,
infinity, 1e30, a negative energy register) are dropped one by one with a protocol deviation
``implausible_value:<measurand>``; the rest of the frame is used.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
import math
from typing import Any

from custom_components.ev_sessions.chargers.events import (
    MAX_ABS_CURRENT_A,
    MAX_ABS_POWER_W,
    MAX_ENERGY_REGISTER_WH,
    MAX_VOLTAGE_V,
    MeterSample,
    SampleContext,
    plausible,
)

from .timeutil import MAX_AHEAD, parse_timestamp

Deviate = Callable[[str, str], None]
Phases = tuple[float | None, float | None, float | None]

ENERGY = "Energy.Active.Import.Register"
POWER = "Power.Active.Import"
CURRENT = "Current.Import"
VOLTAGE = "Voltage"
SOC = "SoC"

CONTEXTS: dict[str, SampleContext] = {
    "Sample.Periodic": SampleContext.PERIODIC,
    "Sample.Clock": SampleContext.CLOCK,
    "Transaction.Begin": SampleContext.TRANSACTION_BEGIN,
    "Transaction.End": SampleContext.TRANSACTION_END,
    "Trigger": SampleContext.TRIGGER,
}
#: Phase name -> (index in the (L1, L2, L3) tuple, is line-to-neutral or plain phase).
PHASES: dict[str, tuple[int, bool]] = {
    "L1": (0, True),
    "L2": (1, True),
    "L3": (2, True),
    "L1-N": (0, True),
    "L2-N": (1, True),
    "L3-N": (2, True),
    "L1-L2": (0, False),
    "L2-L3": (1, False),
    "L3-L1": (2, False),
}
#: Measurand -> (base unit, {unit: factor to base}, lowest and highest plausible value in it).
UNITS: dict[str, tuple[str, dict[str, float], float, float]] = {
    ENERGY: ("Wh", {"Wh": 1.0, "kWh": 1000.0}, 0.0, float(MAX_ENERGY_REGISTER_WH)),
    POWER: ("W", {"W": 1.0, "kW": 1000.0}, -MAX_ABS_POWER_W, MAX_ABS_POWER_W),
    CURRENT: ("A", {"A": 1.0}, -MAX_ABS_CURRENT_A, MAX_ABS_CURRENT_A),
    VOLTAGE: ("V", {"V": 1.0}, 0.0, MAX_VOLTAGE_V),
    SOC: ("Percent", {"Percent": 1.0}, 0.0, 100.0),
}
#: 2.0.1 ``unitOfMeasure.multiplier`` (a power of ten) beyond this is refused (no overflow).
MAX_MULTIPLIER = 12
#: Integers beyond this are not converted to float (``float()`` would raise); they are absurd.
_FLOAT_SAFE_INT = 10**300


class _Accumulator:
    """Collects the values of one ``meterValue`` entry."""

    __slots__ = (
        "context",
        "current",
        "energy",
        "energy_phases",
        "power",
        "power_phases",
        "soc",
        "voltage",
        "voltage_ll",
    )

    def __init__(self) -> None:
        self.context: SampleContext | None = None
        self.energy: float | None = None
        self.energy_phases: list[float] = []
        self.power: float | None = None
        self.power_phases: list[float] = []
        self.current: list[float | None] = [None, None, None]
        self.voltage: list[float | None] = [None, None, None]
        self.voltage_ll: list[float | None] = [None, None, None]
        self.soc: float | None = None

    def add(self, measurand: str, phase: str | None, value: float) -> None:
        if measurand == ENERGY:
            if phase is None:
                self.energy = value
            elif phase in PHASES:
                self.energy_phases.append(value)
        elif measurand == POWER:
            if phase is None:
                self.power = value
            elif phase in PHASES:
                self.power_phases.append(value)
        elif measurand == CURRENT:
            self._phase(self.current, self.current, phase, value)
        elif measurand == VOLTAGE:
            self._phase(self.voltage, self.voltage_ll, phase, value)
        elif measurand == SOC:
            self.soc = value

    @staticmethod
    def _phase(
        neutral: list[float | None], line: list[float | None], phase: str | None, value: float
    ) -> None:
        if phase is None:
            # a single-phase charger reporting without a phase: it is L1
            if neutral[0] is None:
                neutral[0] = value
            return
        entry = PHASES.get(phase)
        if entry is not None:
            (neutral if entry[1] else line)[entry[0]] = value

    def sample(
        self,
        *,
        charger_id: str,
        at: datetime,
        connector_id: int,
        transaction_id: str | None,
        offline: bool,
        deviate: Deviate,
    ) -> MeterSample | None:
        energy = self.energy
        if energy is None and self.energy_phases:
            energy = sum(self.energy_phases)
            if energy > MAX_ENERGY_REGISTER_WH:  # each phase was in bounds, their sum is not
                deviate(f"implausible_value:{ENERGY}", f"{ENERGY} sum of phases {energy!r}")
                energy = None
        power = self.power
        if power is None and self.power_phases:
            power = sum(self.power_phases)
            if not -MAX_ABS_POWER_W <= power <= MAX_ABS_POWER_W:
                deviate(f"implausible_value:{POWER}", f"{POWER} sum of phases {power!r}")
                power = None
        current = _tuple(self.current)
        voltage = _tuple(self.voltage) or _tuple(self.voltage_ll)
        if (
            energy is None
            and power is None
            and current is None
            and voltage is None
            and (self.soc is None)
        ):
            return None
        return MeterSample(
            charger_id=charger_id,
            at=at,
            connector_id=connector_id,
            transaction_id=transaction_id,
            context=self.context or SampleContext.PERIODIC,
            energy_register_wh=None if energy is None else round(energy),
            power_w=power,
            current_a=current,
            voltage_v=voltage,
            soc_pct=self.soc,
            offline=offline,
        )


def _tuple(values: list[float | None]) -> Phases | None:
    if values[0] is None and values[1] is None and values[2] is None:
        return None
    return (values[0], values[1], values[2])


def _number(raw: Any) -> float | None:
    """A float for a number or numeric string (NaN and infinities included); None otherwise."""
    kind = type(raw)
    if kind is float:
        return float(raw)
    if kind is int:
        return float(raw) if -_FLOAT_SAFE_INT < raw < _FLOAT_SAFE_INT else math.inf
    if kind is str:
        try:
            return float(raw.replace(",", "."))  # "NaN", "Infinity" and "1e400" parse too
        except ValueError:
            return None
    return None


def register_wh(raw: object, what: str, deviate: Deviate) -> int | None:
    """An energy register sent as a plain number (``meterStart``, ``meterStop``) in Wh.

    ``None`` when absent; dropped (``None``, with a deviation) when it is not a finite number
    within ``0 ..`` :data:`MAX_ENERGY_REGISTER_WH`.
    """
    if raw is None:
        return None
    if type(raw) is int and 0 <= raw <= MAX_ENERGY_REGISTER_WH:
        return raw
    if type(raw) is float and plausible(raw, 0.0, MAX_ENERGY_REGISTER_WH):
        return round(raw)
    deviate(f"implausible_value:{what}", f"{what} {raw!r:.60}: not a plausible register in Wh")
    return None


def parse_meter_values(
    meter_values: Sequence[dict[str, Any]],
    *,
    v201: bool,
    charger_id: str,
    connector_id: int,
    transaction_id: str | None,
    received: datetime,
    offline_after: timedelta | None,
    offline: bool,
    deviate: Deviate,
    max_ahead: timedelta = MAX_AHEAD,
) -> list[MeterSample]:
    """One :class:`MeterSample` per ``meterValue`` entry that carries something we use.

    ``offline`` marks every sample as replayed; with ``offline_after`` a sample whose timestamp
    lags ``received`` by more than that is marked replayed too. A timestamp more than
    ``max_ahead`` in the future is replaced by ``received``.
    """
    samples: list[MeterSample] = []
    for entry in meter_values:
        at, problem = parse_timestamp(entry.get("timestamp"), received, max_ahead)
        if problem is not None:
            deviate(problem, f"meterValue timestamp {entry.get('timestamp')!r}")
        acc = _Accumulator()
        for sv in entry.get("sampledValue", ()):
            measurand = sv.get("measurand", ENERGY)
            units = UNITS.get(measurand)
            if units is None:
                continue  # a measurand we do not use (frequency, temperature, offered, ...)
            context = sv.get("context")
            if acc.context is None and context is not None:
                acc.context = CONTEXTS.get(context, SampleContext.OTHER)
            if v201:
                unit_of_measure = sv.get("unitOfMeasure") or {}
                unit = unit_of_measure.get("unit")
                multiplier = unit_of_measure.get("multiplier", 0)
            else:
                if sv.get("format") == "SignedData":
                    continue
                unit = sv.get("unit")
                multiplier = 0
            value = _number(sv.get("value"))
            if value is None:
                deviate("unparsable_value", f"{measurand} value {sv.get('value')!r}")
                continue
            base, factors, low, high = units
            if unit is not None and unit != base:
                factor = factors.get(unit)
                if factor is None:
                    deviate(
                        f"unit_mismatch:{measurand}", f"{measurand} in {unit!r}, read as {base}"
                    )
                    factor = 1.0
                value *= factor
            if multiplier:
                if -MAX_MULTIPLIER <= multiplier <= MAX_MULTIPLIER:
                    value *= 10.0**multiplier
                else:
                    value = math.nan
            if not low <= value <= high:  # also false for NaN; infinities are out of bounds
                deviate(
                    f"implausible_value:{measurand}",
                    f"{measurand} {sv.get('value')!r:.60} (multiplier {multiplier}) dropped",
                )
                continue
            acc.add(measurand, sv.get("phase"), value)
        sample_offline = offline or (offline_after is not None and received - at > offline_after)
        sample = acc.sample(
            charger_id=charger_id,
            at=at,
            connector_id=connector_id,
            transaction_id=transaction_id,
            offline=sample_offline,
            deviate=deviate,
        )
        if sample is not None:
            samples.append(sample)
    return samples
