"""The checks hassfest and HACS make on a custom integration, offline (issue 16).

hassfest is not installable from the package registry, so only what it checks and what can go
wrong here is reimplemented, with Home Assistant's own loaders and schemas where they exist:
the manifest (keys, order, values HA accepts), every flow step, error and abort reason and
every issue translated in every shipped language, the actions (services.yaml = registered
actions = translations = icons), and hacs.json.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
import importlib
import inspect
import json
from pathlib import Path
from typing import Any

from awesomeversion import AwesomeVersion
from homeassistant.components.repairs import RepairsFlow
from homeassistant.config_entries import ConfigFlow, ConfigSubentryFlow, OptionsFlow
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import service
from homeassistant.loader import async_get_integration
from homeassistant.setup import async_setup_component
from homeassistant.util.yaml import load_yaml
import pytest

from custom_components.ev_sessions.const import DOMAIN

ROOT = Path(__file__).parents[1]
PACKAGE = ROOT / "custom_components" / DOMAIN
LANGUAGES = sorted(p.stem for p in (PACKAGE / "translations").glob("*.json"))
FLOW_MODULES = ("config_flow", "member_flow", "repairs")
#: hassfest's manifest values (script/hassfest/manifest.py).
IOT_CLASSES = {
    "assumed_state",
    "calculated",
    "cloud_polling",
    "cloud_push",
    "local_polling",
    "local_push",
}
INTEGRATION_TYPES = {"device", "entity", "hardware", "helper", "hub", "service", "system"}
#: What HACS reads from hacs.json (hacs.xyz/docs/publish/start#hacsjson).
HACS_KEYS = {
    "name",
    "content_in_root",
    "zip_release",
    "filename",
    "hide_default_branch",
    "country",
    "homeassistant",
    "hacs",
    "persistent_directory",
    "render_readme",
}


def _translations(language: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PACKAGE / "translations" / f"{language}.json").read_text())
    return data


def _manifest() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PACKAGE / "manifest.json").read_text())
    return data


# ---------------------------------------------------------------------------------- manifest


def test_manifest_has_what_hassfest_requires_of_a_custom_integration() -> None:
    """domain, name first, then sorted; a valid version; known iot_class / integration type;
    codeowners as @handles; requirements pinned."""
    manifest = _manifest()
    keys = list(manifest)
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:])
    assert {"codeowners", "documentation", "iot_class", "requirements", "version"} <= set(keys)
    assert AwesomeVersion(manifest["version"]).valid
    assert manifest["iot_class"] in IOT_CLASSES
    assert manifest["integration_type"] in INTEGRATION_TYPES
    assert all(owner.startswith("@") for owner in manifest["codeowners"])
    assert all("==" in requirement for requirement in manifest["requirements"])
    assert manifest["documentation"].startswith("https://")
    assert manifest["issue_tracker"].startswith("https://")


async def test_manifest_loads_and_its_dependencies_exist(hass: HomeAssistant) -> None:
    """HA's loader reads the manifest; every (after_)dependency is an integration HA has."""
    integration = await async_get_integration(hass, DOMAIN)
    assert integration.domain == DOMAIN
    assert integration.config_flow is True
    for other in (*integration.dependencies, *integration.after_dependencies):
        assert (await async_get_integration(hass, other)).domain == other


def test_recorder_is_an_after_dependency_because_the_glue_imports_it() -> None:
    """hassfest: an integration that imports another one's package declares it."""
    declared = {*_manifest().get("dependencies", []), *_manifest().get("after_dependencies", [])}
    imported: set[str] = set()
    for path in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                parts = node.module.split(".")
                if parts[:2] == ["homeassistant", "components"] and len(parts) > 2:
                    imported.add(parts[2])
    # base platforms and repairs (a frontend-only helper HA always loads) need no declaration
    exempt = {str(platform) for platform in Platform} | {"repairs", "diagnostics", "logbook"}
    assert imported - exempt <= declared


# ---------------------------------------------------------------------------------- flows


def _flow_classes() -> Iterator[type[Any]]:
    """Every flow class of the integration."""
    for name in FLOW_MODULES:
        module = importlib.import_module(f"custom_components.{DOMAIN}.{name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__ and issubclass(
                cls, (ConfigFlow, OptionsFlow, ConfigSubentryFlow, RepairsFlow)
            ):
                yield cls


def _literals(cls: type[Any], keyword: str) -> set[str]:
    """String literals passed as ``keyword=`` in the class and its bases of this package."""
    found: set[str] = set()
    for klass in cls.__mro__:
        if not klass.__module__.startswith(f"custom_components.{DOMAIN}"):
            continue
        tree = ast.parse(inspect.getsource(klass).strip())
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.keyword)
                and node.arg == keyword
                and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)
            ):
                found.add(node.value.value)
    return found


def _errors(cls: type[Any]) -> set[str]:
    """String literals assigned to ``errors[...]`` in the class and its bases of ours."""
    found: set[str] = set()
    for klass in cls.__mro__:
        if not klass.__module__.startswith(f"custom_components.{DOMAIN}"):
            continue
        for node in ast.walk(ast.parse(inspect.getsource(klass).strip())):
            if (
                isinstance(node, ast.Assign)
                and isinstance(node.targets[0], ast.Subscript)
                and "errors" in ast.unparse(node.targets[0].value)
                and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)
            ):
                found.add(node.value.value)
    return found


def _sections(cls: type[Any], strings: dict[str, Any]) -> list[dict[str, Any]]:
    """Where the class's steps are translated."""
    if issubclass(cls, ConfigFlow):
        return [strings["config"]]
    if issubclass(cls, OptionsFlow):
        return [strings["options"]]
    if issubclass(cls, ConfigSubentryFlow):
        return list(strings["config_subentries"].values())
    return [issue["fix_flow"] for issue in strings["issues"].values() if "fix_flow" in issue]


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_flow_step_error_and_abort_is_translated(language: str) -> None:
    """Each step a flow shows has a title or description; each error and abort reason a text
    (steps, errors and reasons named in the code; the same in every language)."""
    strings = _translations(language)
    missing: list[str] = []
    classes = list(_flow_classes())
    assert {c.__name__ for c in classes} >= {
        "EvSessionsConfigFlow",
        "EvSessionsOptionsFlow",
        "MemberSubentryFlow",
        "UnknownTagRepairFlow",
    }
    for cls in classes:
        sections = _sections(cls, strings)
        for step in _literals(cls, "step_id"):
            texts = [s.get("step", {}).get(step, {}) for s in sections]
            if not any(t.get("title") or t.get("description") for t in texts):
                missing.append(f"{cls.__name__} step {step}")
        missing.extend(
            f"{cls.__name__} abort {reason}"
            for reason in _literals(cls, "reason")
            if not any(reason in s.get("abort", {}) for s in sections)
        )
        missing.extend(
            f"{cls.__name__} error {error}"
            for error in _errors(cls)
            if not any(error in s.get("error", {}) for s in sections)
        )
    assert missing == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_form_field_has_a_label(language: str) -> None:
    """A step's data_description keys are fields it labels (hassfest rejects a description of
    a field without a label)."""
    strings = _translations(language)
    sections = [strings["config"], strings["options"], *strings["config_subentries"].values()]
    sections += [i["fix_flow"] for i in strings["issues"].values() if "fix_flow" in i]
    unlabelled = [
        f"{name}.{field}"
        for section in sections
        for name, step in section.get("step", {}).items()
        for field in step.get("data_description", {})
        if field not in step.get("data", {})
    ]
    assert unlabelled == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_issue_and_exception_has_its_text(language: str) -> None:
    """An issue without a fix flow needs a title and a description; with one, a title; every
    exception a message."""
    strings = _translations(language)
    assert [k for k, v in strings["exceptions"].items() if not v.get("message")] == []
    issues = strings["issues"]
    assert [key for key, issue in issues.items() if not issue.get("title")] == []
    assert [
        key
        for key, issue in issues.items()
        if "fix_flow" not in issue and not issue.get("description")
    ] == []


# ---------------------------------------------------------------------------------- actions


async def test_actions_yaml_registered_translated_and_with_icons(hass: HomeAssistant) -> None:
    """services.yaml describes exactly the registered actions; every action and field is
    translated in every language; icons.json has an icon per action."""
    assert await async_setup_component(hass, DOMAIN, {})
    registered = set(hass.services.async_services_for_domain(DOMAIN))
    described = load_yaml(PACKAGE / "services.yaml")
    assert isinstance(described, dict)
    assert set(described) == registered
    descriptions = await service.async_get_all_descriptions(hass)
    assert set(descriptions[DOMAIN]) == registered
    icons = json.loads((PACKAGE / "icons.json").read_text())["services"]
    assert set(icons) == registered
    untranslated: list[tuple[str, str, str]] = []
    for language in LANGUAGES:
        services = _translations(language)["services"]
        assert set(services) == registered, language
        for name, spec in described.items():
            texts = services[name]
            if not (texts.get("name") and texts.get("description")):
                untranslated.append((language, name, ""))
            for field in _fields(spec or {}):
                text = texts.get("fields", {}).get(field, {})
                if not (text.get("name") and text.get("description")):
                    untranslated.append((language, name, field))
    assert untranslated == []


def _fields(spec: dict[str, Any]) -> set[str]:
    """A services.yaml action's fields, sections included."""
    found: set[str] = set()
    for key, value in (spec.get("fields") or {}).items():
        if isinstance(value, dict) and "fields" in value:
            found |= set(value["fields"])
        else:
            found.add(key)
    return found


# ---------------------------------------------------------------------------------- HACS


def test_hacs_json_has_only_fields_hacs_reads() -> None:
    """name required; homeassistant a valid version; nothing HACS does not know."""
    hacs = json.loads((ROOT / "hacs.json").read_text())
    assert hacs["name"]
    assert set(hacs) <= HACS_KEYS
    assert AwesomeVersion(hacs["homeassistant"]).valid
    assert isinstance(hacs.get("render_readme", False), bool)
    # A repository with custom_components/<domain>/ holds one integration, not in the root.
    assert not hacs.get("content_in_root", False)
    assert [p.name for p in (ROOT / "custom_components").iterdir() if p.is_dir()] == [DOMAIN]
