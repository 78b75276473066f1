"""The layers stay apart: core/ and chargers/ never import Home Assistant."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "custom_components" / "ev_sessions"


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("layer", ["core", "chargers"])
def test_layer_does_not_import_homeassistant(layer: str) -> None:
    """Every module of the layer is plain Python."""
    files = sorted((PACKAGE / layer).rglob("*.py"))
    assert files, f"{layer}/ has no modules"
    offenders = {
        str(path.relative_to(PACKAGE)): sorted(
            name for name in _imports(path) if name.split(".")[0] == "homeassistant"
        )
        for path in files
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_boundary_check_would_catch_an_import(tmp_path: Path) -> None:
    """The checker itself sees both import forms."""
    module = tmp_path / "m.py"
    module.write_text("import homeassistant.core\nfrom homeassistant.const import X\n")
    assert _imports(module) == {"homeassistant.core", "homeassistant.const"}


def test_manifest_keys_in_hassfest_order() -> None:
    """domain and name first, then the rest alphabetically; a version for custom integrations."""
    manifest = json.loads((PACKAGE / "manifest.json").read_text())
    keys = list(manifest)
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:])
    assert manifest["domain"] == "ev_sessions"
    assert manifest["version"]
    assert manifest["config_flow"] is True


def test_requirements_match_home_assistant_constraints() -> None:
    """Our requirements never fight with the versions HA pins."""
    import homeassistant

    constraints = Path(homeassistant.__file__).parent / "package_constraints.txt"
    pins = {
        line.split("==")[0].strip().lower(): line.split("==")[1].strip()
        for line in constraints.read_text().splitlines()
        if "==" in line and not line.startswith("#")
    }
    manifest = json.loads((PACKAGE / "manifest.json").read_text())
    for requirement in manifest["requirements"]:
        name, version = requirement.split("==")
        if name.lower() in pins:
            assert pins[name.lower()] == version, requirement


def test_translations_have_the_same_keys() -> None:
    """Swedish translates every English string (and nothing else)."""

    def keys(data: object, prefix: str = "") -> set[str]:
        if isinstance(data, dict):
            out: set[str] = set()
            for key, value in data.items():
                out |= keys(value, f"{prefix}.{key}")
            return out
        return {prefix}

    en = json.loads((PACKAGE / "translations" / "en.json").read_text())
    sv = json.loads((PACKAGE / "translations" / "sv.json").read_text())
    assert keys(en) == keys(sv)


def test_exception_translations_have_messages() -> None:
    """HA reads exceptions.<key>.message; every key raised in the code has one."""
    import re

    en = json.loads((PACKAGE / "translations" / "en.json").read_text())
    exceptions = en["exceptions"]
    assert all(isinstance(v, dict) and v.get("message") for v in exceptions.values())
    raised = set()
    for path in PACKAGE.glob("*.py"):
        raised |= set(re.findall(r'translation_key="(\w+)"', path.read_text()))
    entity_keys = {k for platform in en["entity"].values() for k in platform}
    selector_keys = set(en.get("selector", {}))
    missing = raised - set(exceptions) - entity_keys - set(en.get("issues", {})) - selector_keys
    assert missing == set()
