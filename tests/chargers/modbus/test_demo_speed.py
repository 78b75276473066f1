"""The demo (scripts/develop) runs the simulated Modbus charger at real speed."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from simulators.modbus_devices import parser, run_demo

DEV_STACK = Path(__file__).parents[3] / "scripts" / "dev_stack.py"


def _modbus_spawn_args() -> list[str]:
    """The arguments scripts/dev_stack.py starts the Modbus simulator with."""
    tree = ast.parse(DEV_STACK.read_text())
    constants = {
        node.targets[0].id: str(node.value.value)
        for node in tree.body
        if isinstance(node, ast.Assign)
        and isinstance(node.targets[0], ast.Name)
        and isinstance(node.value, ast.Constant)
    }
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "_spawn"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and node.args[0].value == "simulators.modbus_devices"
        ):
            return [_value(arg, constants) for arg in node.args[1:]]
    raise AssertionError("dev_stack.py does not start simulators.modbus_devices")


def _value(arg: ast.expr, constants: dict[str, str]) -> str:
    """A spawn argument: a literal, a module constant, or (an expression) a placeholder."""
    if isinstance(arg, ast.Constant):
        return str(arg.value)
    if isinstance(arg, ast.Name):
        return constants[arg.id]
    return "0"


def test_develop_runs_the_modbus_simulator_at_real_speed() -> None:
    """At 60x the watchdog expired and register steps looked like implausible jumps."""
    assert parser().parse_args(_modbus_spawn_args()).speed == 1.0


def test_demo_defaults_to_real_speed() -> None:
    """The simulator's own default is real speed too."""
    assert parser().parse_args([]).speed == 1.0
    assert inspect.signature(run_demo).parameters["speed"].default == 1.0
