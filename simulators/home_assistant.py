"""Drive a real Home Assistant process: start it, onboard it, log in, run config flows.

Used by ``scripts/develop`` (a demo with simulated chargers) and by ``bench/ocpp_load.py``.
Talks only to 127.0.0.1.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
import contextlib
import json
import logging
import os
from pathlib import Path
import subprocess
import sys
from typing import Any

import aiohttp

_LOGGER = logging.getLogger(__name__)

CLIENT_ID = "http://127.0.0.1:8123/"
REPO = Path(__file__).resolve().parents[1]


class HomeAssistantError(Exception):
    """Home Assistant did not start or answered a request with an error."""


class HomeAssistantProcess:
    """A ``hass`` process with this checkout's ``custom_components`` on its path."""

    def __init__(
        self,
        config_dir: Path,
        *,
        port: int = 8123,
        username: str = "dev",
        password: str = "dev",
        debug: bool = False,
        log_file: Path | None = None,
    ) -> None:
        """Remember where and how to run."""
        self.config_dir = config_dir
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.username = username
        self.password = password
        self.debug = debug
        self.log_file = log_file
        self.process: subprocess.Popen[bytes] | None = None
        self.token: str | None = None
        self._session: aiohttp.ClientSession | None = None

    @property
    def pid(self) -> int:
        """The process id of ``hass``."""
        assert self.process is not None
        return self.process.pid

    @property
    def session(self) -> aiohttp.ClientSession:
        """An HTTP session (created on first use)."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def _skip_default_onboarding(self) -> None:
        """Mark onboarding's later steps done before the first start.

        Its core-config step sets up default integrations (TTS, voice assistant, camera) that
        need binaries a development machine may lack; they would only log errors here. The
        owner user is still created through onboarding (see :meth:`login`).
        """
        storage = self.config_dir / ".storage"
        onboarding = storage / "onboarding"
        if onboarding.exists():
            return
        storage.mkdir(parents=True, exist_ok=True)
        onboarding.write_text(
            json.dumps(
                {
                    "version": 4,
                    "minor_version": 1,
                    "key": "onboarding",
                    "data": {"done": ["core_config", "analytics", "integration"]},
                }
            )
        )

    async def start(self, wait_s: float = 120) -> None:
        """Start ``hass`` and wait until its HTTP server answers."""
        self.config_dir.mkdir(parents=True, exist_ok=True)
        self._skip_default_onboarding()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
        hass = Path(sys.executable).with_name("hass")
        args = [str(hass), "--config", str(self.config_dir)]
        if os.environ.get("EV_SESSIONS_HASS_DIAG"):
            # Pause diagnostics: gc and event-loop lag lines on stderr (simulators/hass_diag.py).
            args[:1] = [sys.executable, "-m", "simulators.hass_diag"]
        if self.debug:
            args.append("--debug")
        stdout = open(self.log_file, "ab") if self.log_file else None  # noqa: ASYNC230, SIM115
        self.process = subprocess.Popen(args, env=env, stdout=stdout, stderr=subprocess.STDOUT)
        deadline = asyncio.get_running_loop().time() + wait_s
        while asyncio.get_running_loop().time() < deadline:
            if self.process.poll() is not None:
                raise HomeAssistantError(f"hass exited with {self.process.returncode}")
            with contextlib.suppress(aiohttp.ClientError, OSError):
                async with self.session.get(f"{self.base}/api/onboarding") as resp:
                    if resp.status in (200, 401, 404):
                        return
            await asyncio.sleep(0.5)
        raise HomeAssistantError("Home Assistant did not answer in time")

    async def login(self) -> str:
        """Onboard (first run: owner user) or log in; returns an access token."""
        async with self.session.get(f"{self.base}/api/onboarding") as resp:
            steps = await resp.json() if resp.status == 200 else []
        user_done = any(s["step"] == "user" and s["done"] for s in steps) or not steps
        if not user_done:
            code = await self._post_json(
                "/api/onboarding/users",
                {
                    "client_id": CLIENT_ID,
                    "name": "Developer",
                    "username": self.username,
                    "password": self.password,
                    "language": "en",
                },
            )
            await self._token(code["auth_code"])
            assert self.token is not None
            await self.promote_http_config()
            return self.token
        flow = await self._post_json(
            "/auth/login_flow",
            {"client_id": CLIENT_ID, "handler": ["homeassistant", None], "redirect_uri": CLIENT_ID},
        )
        result = await self._post_json(
            f"/auth/login_flow/{flow['flow_id']}",
            {"client_id": CLIENT_ID, "username": self.username, "password": self.password},
        )
        await self._token(result["result"])
        assert self.token is not None
        await self.promote_http_config()
        return self.token

    async def promote_http_config(self) -> bool:
        """Confirm a pending HTTP config (HA 2026.10+ reverts and restarts after 5 minutes
        otherwise; a config written in YAML, like the benchmark's port, starts as pending)."""
        try:
            await self.ws_request({"type": "http/config/promote"})
        except HomeAssistantError:
            return False  # nothing pending
        return True

    async def _token(self, code: str) -> None:
        async with self.session.post(
            f"{self.base}/auth/token",
            data={"grant_type": "authorization_code", "code": code, "client_id": CLIENT_ID},
        ) as resp:
            if resp.status != 200:
                raise HomeAssistantError(f"token: {resp.status} {await resp.text()}")
            self.token = (await resp.json())["access_token"]

    async def _post_json(self, path: str, body: Mapping[str, Any]) -> Any:
        async with self.session.post(
            f"{self.base}{path}", json=body, headers=self._headers()
        ) as resp:
            if resp.status >= 400:
                raise HomeAssistantError(f"POST {path}: {resp.status} {await resp.text()}")
            return await resp.json()

    async def get(self, path: str) -> Any:
        """GET an API path (authenticated)."""
        async with self.session.get(f"{self.base}{path}", headers=self._headers()) as resp:
            if resp.status >= 400:
                raise HomeAssistantError(f"GET {path}: {resp.status} {await resp.text()}")
            return await resp.json()

    async def entries(self, domain: str) -> list[dict[str, Any]]:
        """Config entries of a domain."""
        entries: list[dict[str, Any]] = await self.get(
            f"/api/config/config_entries/entry?domain={domain}"
        )
        return entries

    async def config_flow(
        self, handler: str, *steps: Mapping[str, Any], start: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Start a config flow and answer its steps in order; returns the last result."""
        result: dict[str, Any] = await self._post_json(
            "/api/config/config_entries/flow", {"handler": handler, **(start or {})}
        )
        for step in steps:
            result = await self._post_json(
                f"/api/config/config_entries/flow/{result['flow_id']}", step
            )
        return result

    async def ws_request(self, payload: Mapping[str, Any]) -> Any:
        """One request over HA's websocket API (a fresh, authenticated connection)."""
        async with self.session.ws_connect(f"{self.base}/api/websocket") as ws:
            await ws.receive_json()  # auth_required
            await ws.send_json({"type": "auth", "access_token": self.token})
            if (await ws.receive_json())["type"] != "auth_ok":
                raise HomeAssistantError("websocket authentication failed")
            await ws.send_json({"id": 1, **payload})
            while True:
                message = await ws.receive_json()
                if message.get("id") == 1 and message["type"] == "result":
                    if not message["success"]:
                        raise HomeAssistantError(str(message.get("error")))
                    return message["result"]

    async def subentry_flow(
        self, entry_id: str, subentry_type: str, data: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Add a subentry (e.g. a member of the hub) through its flow's first form."""
        result: dict[str, Any] = await self._post_json(
            "/api/config/config_entries/subentries/flow", {"handler": [entry_id, subentry_type]}
        )
        answer: dict[str, Any] = await self._post_json(
            f"/api/config/config_entries/subentries/flow/{result['flow_id']}", data
        )
        return answer

    async def flows_in_progress(self) -> list[dict[str, Any]]:
        """Flows waiting for the user (e.g. discovered chargers)."""
        flows: list[dict[str, Any]] = await self.ws_request(
            {"type": "config_entries/flow/progress"}
        )
        return flows

    async def answer_flow(self, flow_id: str, data: Mapping[str, Any]) -> dict[str, Any]:
        """Submit one step of a flow in progress."""
        result: dict[str, Any] = await self._post_json(
            f"/api/config/config_entries/flow/{flow_id}", data
        )
        return result

    async def stop(self) -> None:
        """Stop ``hass`` gracefully (it flushes the session database), then close HTTP."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                await asyncio.to_thread(self.process.wait, 60)
            except subprocess.TimeoutExpired:
                self.process.kill()
        if self._session is not None:
            await self._session.close()
            self._session = None
