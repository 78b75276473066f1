"""The core package's top level re-exports every public name of its modules."""

from __future__ import annotations

import ast
from pathlib import Path

from custom_components.ev_sessions import core

CORE = Path(__file__).parents[2] / "custom_components" / "ev_sessions" / "core"


def _public_names(path: Path) -> set[str]:
    """Names a module defines at top level without a leading underscore (within its __all__)."""
    defined: set[str] = set()
    exported: set[str] | None = None
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            defined.add(node.name)
        elif isinstance(node, ast.TypeAlias):
            defined.add(node.name.id)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if not isinstance(target, ast.Name):
                    continue
                if target.id == "__all__":
                    assert node.value is not None
                    exported = set(ast.literal_eval(node.value))
                else:
                    defined.add(target.id)
    public = {name for name in defined if not name.startswith("_")}
    return public if exported is None else public & exported


def test_core_reexports_every_public_name() -> None:
    """`from custom_components.ev_sessions.core import X` works for every public X of core/."""
    missing = {
        path.name: sorted(_public_names(path) - set(core.__all__))
        for path in sorted(CORE.glob("*.py"))
        if path.name != "__init__.py"
    }
    assert {name: names for name, names in missing.items() if names} == {}
    assert all(hasattr(core, name) for name in core.__all__)
