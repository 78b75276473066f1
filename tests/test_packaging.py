"""Setup and packaging: the setup script's mirror choice and hacs.json's minimum version."""

from __future__ import annotations

import json
from pathlib import Path
import re
import shutil
import subprocess

ROOT = Path(__file__).parents[1]
SETUP = ROOT / "scripts" / "setup"

DEBIAN_SOURCES = """\
Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://mirror.example.lan/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.example.lan/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"""


def _mirror(sources_dir: Path, sources_list: Path) -> subprocess.CompletedProcess[str]:
    """Run the setup script's `debian_mirror` function on the given apt sources."""
    bash = shutil.which("bash")
    assert bash is not None
    return subprocess.run(  # noqa: S603  (our own script, fixed arguments)
        [
            bash,
            "-c",
            'source "$1" && debian_mirror "$2" "$3"',
            "test",
            SETUP,
            sources_dir,
            sources_list,
        ],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin"},
    )


def test_setup_has_no_hard_coded_mirror_host() -> None:
    """The script names no Debian host: the mirror comes from the machine's apt sources."""
    assert "deb.debian.org" not in SETUP.read_text()


def test_mirror_from_deb822_sources(tmp_path: Path) -> None:
    """The Debian archive URI of a deb822 `.sources` file; security and other repos skipped."""
    parts = tmp_path / "sources.list.d"
    parts.mkdir()
    (parts / "a-nodesource.sources").write_text(
        "Types: deb\nURIs: https://deb.nodesource.com/node_20.x\n"
        "Suites: nodistro\nComponents: main\n"
    )
    (parts / "debian.sources").write_text(DEBIAN_SOURCES)
    (parts / "old.sources.disabled").write_text(
        "Types: deb\nURIs: http://wrong.example/debian\nSuites: bookworm\nComponents: main\n"
    )
    result = _mirror(parts, tmp_path / "missing.list")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "http://mirror.example.lan/debian\n"


def test_mirror_skips_disabled_stanza(tmp_path: Path) -> None:
    """A stanza with `Enabled: no` is not used."""
    parts = tmp_path / "sources.list.d"
    parts.mkdir()
    (parts / "debian.sources").write_text(
        "Types: deb\nURIs: http://off.example/debian\nSuites: trixie\nComponents: main\n"
        "Enabled: no\n\n"
        "Types: deb-src deb\nURIs: http://proxy.lan:3142/debian/  http://second.example/debian\n"
        "Suites: trixie\nComponents: main\n"
    )
    result = _mirror(parts, tmp_path / "missing.list")
    assert result.stdout == "http://proxy.lan:3142/debian/\n"


def test_mirror_from_one_line_sources_list(tmp_path: Path) -> None:
    """The classic one-line format, with options in brackets, comments and a security line."""
    listing = tmp_path / "sources.list"
    listing.write_text(
        "# deb http://commented.example/debian bookworm main\n"
        "deb-src http://src.example/debian bookworm main\n"
        "deb http://security.example/debian-security bookworm-security main\n"
        "deb [arch=amd64 signed-by=/k.gpg] http://local.mirror/debian bookworm main contrib\n"
    )
    result = _mirror(tmp_path / "no-parts", listing)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "http://local.mirror/debian\n"


def test_mirror_missing_fails_with_a_hint(tmp_path: Path) -> None:
    """Without a Debian source the function fails and says how to name a mirror."""
    result = _mirror(tmp_path / "no-parts", tmp_path / "missing.list")
    assert result.returncode != 0
    assert result.stdout == ""
    assert "EV_SESSIONS_DEBIAN_MIRROR" in result.stderr


def test_hacs_minimum_matches_readme() -> None:
    """hacs.json's minimum Home Assistant version is the README's ("2026.10" means 2026.10.0)."""
    readme = (ROOT / "README.md").read_text()
    match = re.search(r"Requires Home Assistant (\d{4}\.\d+(?:\.\d+)?) or newer", readme)
    assert match is not None
    wanted = match.group(1) if match.group(1).count(".") == 2 else f"{match.group(1)}.0"
    assert json.loads((ROOT / "hacs.json").read_text())["homeassistant"] == wanted
