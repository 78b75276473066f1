"""Commands and post-boot configuration, once for OCPP 1.6J and 2.0.1.

The flows live here: which CALLs, in which order, what counts as accepted and what is
remembered (limits that replace each other, the hub's own charging profiles, local lists,
passwords, measurands). :mod:`.v16` and :mod:`.v201` only translate: each implements the
``*_request`` methods (normalized values in, ``(action, payload)`` out) and the few readers of
answers whose fields differ.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
import logging
from typing import ClassVar

from custom_components.ev_sessions.chargers.events import (
    AuthorizationListEntry,
    ChangeConfiguration,
    ChargerCommand,
    ChargerError,
    ClearAuthorizationCache,
    ClearLimits,
    CommandNotSupportedError,
    CommandResult,
    GetAuthorizationListVersion,
    GetConfiguration,
    GetCurrentLimit,
    InvalidCommandError,
    PushAuthorizationList,
    Reset,
    SetAvailability,
    SetChargerPassword,
    SetChargingSchedule,
    SetCurrentLimit,
    StartCharging,
    StopCharging,
    TriggerMessage,
    UnlockConnector,
    limit_scope,
)

from .charging_profiles import (
    TX_DEFAULT,
    TX_PROFILE,
    ProfileIds,
    ProfileSpec,
    limit_at_start,
    schedule_periods,
    standing_start,
)
from .connection import OcppCallError, OcppConnection, Payload, short_tag

_LOGGER = logging.getLogger(__name__)

#: A CALL to send: (action, payload).
type Request = tuple[str, Payload]

ACCEPTED = frozenset({"Accepted"})
#: A configuration value (1.6 key, 2.0.1 variable) was taken.
CONFIG_OK = frozenset({"Accepted", "RebootRequired"})
SCHEDULED = frozenset({"Accepted", "Scheduled"})
UNLOCKED = frozenset({"Unlocked"})
#: CALLERROR codes that mean the charger cannot do this at all.
UNSUPPORTED = frozenset({"NotImplemented", "NotSupported"})
#: The read-back of the limit in force asks for the composite schedule of this many seconds.
COMPOSITE_SECONDS = 60


@dataclass(frozen=True, slots=True)
class ConfigKeys:
    """Configuration keys (1.6) / variables (2.0.1, ``Component.Variable``) set after boot."""

    interval: str
    measurands: str


@dataclass(frozen=True, slots=True)
class ConfigStep:
    """One value of a configuration change in steps (a password); ``ok``: statuses that pass."""

    key: str
    value: str
    ok: frozenset[str]
    #: Never remembered in the configuration kept for diagnostics, never logged.
    secret: bool = False


class CommandConnection(OcppConnection):
    """A connection that carries out normalized commands; subclasses translate the payloads."""

    #: The longest id tag (1.6 idTag) / id token (2.0.1) the protocol carries.
    tag_max: ClassVar[int]
    #: The purpose of the charger's overall maximum profile.
    max_purpose: ClassVar[str]
    #: Messages TriggerMessage may ask for.
    triggers: ClassVar[frozenset[str]]
    config_keys: ClassVar[ConfigKeys]
    #: The field of the GetLocalListVersion answer that holds the version.
    list_version_key: ClassVar[str]

    # ------------------------------------------------------------------ translations

    def start_request(self, connector_id: int, id_tag: str) -> Request:
        """Remote start (connector 0: the charger chooses)."""
        raise NotImplementedError

    def stop_request(self, transaction_id: str) -> Request:
        """Remote stop of a transaction; InvalidCommandError for an id the protocol cannot carry."""
        raise NotImplementedError

    def profile_request(self, scope: int, profile: ProfileSpec) -> Request:
        """SetChargingProfile of ``profile`` on ``scope`` (0 = the whole charger)."""
        raise NotImplementedError

    def clear_profile_request(self, profile_id: int) -> Request:
        """ClearChargingProfile of exactly one profile id."""
        raise NotImplementedError

    def composite_request(self, scope: int, seconds: int) -> Request:
        """GetCompositeSchedule of ``scope`` for ``seconds``, in A."""
        raise NotImplementedError

    def composite_schedule(self, answer: Payload) -> object:
        """The schedule in a GetCompositeSchedule answer."""
        raise NotImplementedError

    def unlock_request(self, connector_id: int) -> Request:
        """UnlockConnector."""
        raise NotImplementedError

    def availability_request(self, connector_id: int, available: bool) -> Request:
        """ChangeAvailability of a connector (0 = the whole charger)."""
        raise NotImplementedError

    def reset_request(self, hard: bool) -> Request:
        """Reset (hard: at once; else when idle / soft)."""
        raise NotImplementedError

    def trigger_request(self, message: str, connector_id: int | None) -> Request:
        """TriggerMessage of one of :attr:`triggers`."""
        raise NotImplementedError

    def set_config_request(self, key: str, value: str) -> Request:
        """Set one configuration value; InvalidCommandError for a key of the wrong form."""
        raise NotImplementedError

    def set_config_status(self, answer: Payload) -> str:
        """The status in the answer to :meth:`set_config_request`."""
        raise NotImplementedError

    def local_list_request(self, version: int, full: bool) -> Request:
        """SendLocalList without the list (added when it has entries)."""
        raise NotImplementedError

    def list_entry(self, entry: AuthorizationListEntry) -> Payload:
        """One entry of a local list."""
        raise NotImplementedError

    def password_steps(self, password: str, tls: bool) -> list[ConfigStep]:
        """The configuration values that give the charger a password, in order.

        InvalidCommandError for a password the protocol cannot carry.
        """
        raise NotImplementedError

    async def read_configuration(self) -> None:
        """After boot: read the charger's configuration into the state."""
        raise NotImplementedError

    async def get_configuration(self, command: GetConfiguration) -> CommandResult:
        """Read configuration values (all when no keys are named)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ calls

    async def command(self, request: Request, *, ok: frozenset[str]) -> CommandResult:
        """Send a CALL whose answer has a ``status``; ``accepted`` when it is in ``ok``.

        A CALLERROR is a refusal (its code is the status), but NotImplemented / NotSupported
        raise :class:`CommandNotSupportedError`.
        """
        action, payload = request
        try:
            answer = await self.call(action, payload)
        except OcppCallError as error:
            if error.code in UNSUPPORTED:
                raise CommandNotSupportedError(f"{self.charger_id}: {action}: {error}") from error
            return CommandResult(
                accepted=False, status=error.code, data={"description": error.description}
            )
        status = str(answer.get("status", ""))
        return CommandResult(accepted=status in ok, status=status, data=dict(answer))

    async def call_or_unsupported(self, request: Request) -> Payload:
        """Send a CALL; NotImplemented / NotSupported raise :class:`CommandNotSupportedError`."""
        action, payload = request
        try:
            return await self.call(action, payload)
        except OcppCallError as error:
            if error.code in UNSUPPORTED:
                raise CommandNotSupportedError(f"{self.charger_id}: {action}") from error
            raise

    def check_tag(self, id_tag: str) -> None:
        """Raise :class:`InvalidCommandError` for an id tag the protocol cannot carry."""
        if not self.tag_fits(id_tag):
            raise InvalidCommandError(
                f"OCPP {self.version} id tags are 1 to {self.tag_max} characters, got {len(id_tag)}"
            )

    def tag_fits(self, id_tag: str) -> bool:
        """The protocol can carry this id tag."""
        return 0 < len(id_tag) <= self.tag_max

    def scope(self, connector_id: int) -> int:
        """The scope of a limit, schedule or clear (one connector: connector 1)."""
        return limit_scope(connector_id, self.state.connector_count)

    # ------------------------------------------------------------------ commands

    async def execute(self, command: ChargerCommand) -> CommandResult:
        """Carry out a normalized command with the matching CALL(s)."""
        match command:
            case StartCharging():
                return await self._start(command)
            case StopCharging():
                return await self._stop(command)
            case SetCurrentLimit(charger_max=True):
                return await self._set_charger_max(command.limit_a)
            case SetCurrentLimit():
                return await self._set_limit(command)
            case SetChargingSchedule():
                return await self._set_schedule(command)
            case ClearLimits(charger_max=True):
                return await self._clear_charger_max()
            case ClearLimits():
                return await self._clear_limits(command.connector_id)
            case GetCurrentLimit():
                return await self._read_limit(command.connector_id)
            case UnlockConnector():
                return await self.command(self.unlock_request(command.connector_id), ok=UNLOCKED)
            case SetAvailability():
                request = self.availability_request(command.connector_id, command.available)
                return await self.command(request, ok=SCHEDULED)
            case Reset():
                return await self.command(self.reset_request(command.hard), ok=SCHEDULED)
            case TriggerMessage():
                if command.message not in self.triggers:
                    raise CommandNotSupportedError(
                        f"OCPP {self.version} cannot trigger {command.message!r}"
                    )
                request = self.trigger_request(command.message, command.connector_id)
                return await self.command(request, ok=ACCEPTED)
            case ChangeConfiguration():
                return await self._change_configuration(command)
            case GetConfiguration():
                return await self.get_configuration(command)
            case PushAuthorizationList():
                return await self._send_local_list(command)
            case GetAuthorizationListVersion():
                return await self._local_list_version()
            case ClearAuthorizationCache():
                return await self.command(("ClearCache", {}), ok=ACCEPTED)
            case SetChargerPassword():
                return await self._set_password(command)
        raise CommandNotSupportedError(f"OCPP {self.version} cannot {type(command).__name__}")

    async def _start(self, command: StartCharging) -> CommandResult:
        self.check_tag(command.id_tag)
        _LOGGER.info(
            "%s: remote start on %s for %s",
            self.charger_id,
            command.connector_id,
            short_tag(command.id_tag),
        )
        request = self.start_request(command.connector_id, command.id_tag)
        return await self.command(request, ok=ACCEPTED)

    async def _stop(self, command: StopCharging) -> CommandResult:
        transaction_id = command.transaction_id or self.state.transactions.get(command.connector_id)
        if transaction_id is None:
            return CommandResult(accepted=False, status="NoTransaction")
        return await self.command(self.stop_request(transaction_id), ok=ACCEPTED)

    # ------------------------------------------------------------------ limits and schedules

    async def _set_profile(self, scope: int, profile: ProfileSpec) -> CommandResult:
        result = await self.command(self.profile_request(scope, profile), ok=ACCEPTED)
        if result.accepted:
            self.state.profile_set(profile.profile_id, scope)
        return result

    async def _set_limit(self, command: SetCurrentLimit) -> CommandResult:
        """One standing limit per scope: it replaces the scope's previous one (same id) and the
        hub's limits it covers; a schedule of ours would win over it, so that goes."""
        if command.limit_a < 0:
            raise InvalidCommandError(f"a current limit cannot be negative: {command.limit_a}")
        scope = self.scope(command.connector_id)
        profile = ProfileSpec(
            profile_id=ProfileIds.limit(scope),
            purpose=TX_DEFAULT,
            start=standing_start(),
            periods=[(0, command.limit_a)],
        )
        result = await self._set_profile(scope, profile)
        if result.accepted:
            self.state.limits[scope] = command.limit_a
            replaced = ProfileIds.replaced_scopes(scope, self.state.connector_count)
            for other in replaced:
                self.state.limits.pop(other, None)
            await self._clear_quietly([ProfileIds.limit(other) for other in replaced])
            connectors = list(self.state.transactions) if scope == 0 else [scope]
            await self._clear_quietly(
                [ProfileIds.schedule(c) for c in connectors if c in self.state.transactions]
            )
        return result

    async def _set_charger_max(self, limit_a: float) -> CommandResult:
        """The charger's overall maximum: one profile of its own on the whole charger, next to
        (and capping) the limits and schedules of its connectors, which stay."""
        if limit_a < 0:
            raise InvalidCommandError(f"a current limit cannot be negative: {limit_a}")
        profile = ProfileSpec(
            profile_id=ProfileIds.CHARGER_MAX,
            purpose=self.max_purpose,
            start=standing_start(),
            periods=[(0, limit_a)],
        )
        result = await self._set_profile(0, profile)
        if result.accepted:
            self.state.charger_max = limit_a
        return result

    async def _clear_charger_max(self) -> CommandResult:
        """Remove the overall maximum of ours (nothing else)."""
        if not self.state.may_hold([ProfileIds.CHARGER_MAX]):
            self.state.charger_max = None
            return CommandResult(accepted=True, status="Unknown")
        status = await self._clear_profile(ProfileIds.CHARGER_MAX)
        if status in {"Accepted", "Unknown"}:
            self.state.charger_max = None
        return CommandResult(accepted=status in {"Accepted", "Unknown"}, status=status)

    async def _set_schedule(self, command: SetChargingSchedule) -> CommandResult:
        """A schedule for the running transaction (TxProfile), else the scope's default."""
        start, periods = schedule_periods(command.periods)
        scope = self.scope(command.connector_id)
        transaction_id = self.state.transactions.get(scope)
        if transaction_id is not None:
            profile = ProfileSpec(
                profile_id=ProfileIds.schedule(scope),
                purpose=TX_PROFILE,
                start=start,
                periods=periods,
                transaction_id=transaction_id,
            )
        else:
            profile = ProfileSpec(
                profile_id=ProfileIds.limit(scope), purpose=TX_DEFAULT, start=start, periods=periods
            )
        result = await self._set_profile(scope, profile)
        if result.accepted and transaction_id is None:
            self.state.limits.pop(scope, None)  # no standing limit any more: a schedule
        return result

    async def _clear_profile(self, profile_id: int) -> str:
        """Clear one profile of ours; its status ("Accepted", "Unknown", or a CALLERROR code)."""
        result = await self.command(self.clear_profile_request(profile_id), ok=ACCEPTED)
        if result.status in {"Accepted", "Unknown"}:
            self.state.profile_gone(profile_id)
        return result.status

    async def _clear_quietly(self, profile_ids: list[int]) -> None:
        """Clear profiles of ours the charger may hold; a failure is only logged."""
        for profile_id in self.state.may_hold(profile_ids):
            try:
                await self._clear_profile(profile_id)
            except ChargerError as error:
                _LOGGER.debug(
                    "%s: clearing profile %s failed: %s", self.charger_id, profile_id, error
                )

    async def _clear_limits(self, connector_id: int) -> CommandResult:
        """Clear the hub's own limits and schedules of a scope (never anyone else's)."""
        scope = self.scope(connector_id)
        statuses = [
            await self._clear_profile(profile_id)
            for profile_id in self.state.may_hold(
                ProfileIds.of_scope(scope, self.state.connector_count)
            )
        ]
        if scope == 0 or self.state.connector_count <= 1:
            self.state.limits.clear()
        else:
            self.state.limits.pop(scope, None)
        accepted = "Accepted" in statuses
        return CommandResult(
            accepted=accepted or all(status == "Unknown" for status in statuses),
            status="Accepted" if accepted or not statuses else statuses[0],
            data={"statuses": statuses},
        )

    async def _read_limit(self, connector_id: int) -> CommandResult:
        """The limit in force: the charger's composite schedule where it gives one, else the
        limit it last accepted from the hub."""
        scope = self.scope(connector_id)
        limit: float | None = None
        try:
            answer = await self.call_or_unsupported(
                self.composite_request(scope, COMPOSITE_SECONDS)
            )
        except (CommandNotSupportedError, OcppCallError) as error:
            _LOGGER.debug("%s: no composite schedule: %s", self.charger_id, error)
        else:
            if answer.get("status") == "Accepted":
                limit = limit_at_start(self.composite_schedule(answer))
        if limit is not None:
            return CommandResult(
                accepted=True, status="Accepted", data={"limit_a": limit, "source": "charger"}
            )
        accepted_limit = _smaller(self.state.limits.get(scope), self.state.charger_max)
        if accepted_limit is not None:
            return CommandResult(
                accepted=True, status="Accepted", data={"limit_a": accepted_limit, "source": "hub"}
            )
        return CommandResult(accepted=False, status="Unknown", data={"limit_a": None})

    # ------------------------------------------------------------------ configuration

    async def set_config(self, key: str, value: str, *, remember: bool = True) -> str:
        """Set one configuration value; its status. Raises :class:`OcppCallError`."""
        action, payload = self.set_config_request(key, value)
        status = self.set_config_status(await self.call(action, payload))
        if remember and status in CONFIG_OK:
            self.state.configuration[key] = value
        return status

    async def _configure_value(self, key: str, value: str) -> str:
        """Set one value after boot; a CALLERROR's code is its status."""
        try:
            return await self.set_config(key, value)
        except OcppCallError as error:
            return error.code

    async def _change_configuration(self, command: ChangeConfiguration) -> CommandResult:
        try:
            status = await self.set_config(command.key, command.value)
        except OcppCallError as error:
            if error.code in UNSUPPORTED:
                raise CommandNotSupportedError(f"{self.charger_id}: {error}") from error
            return CommandResult(
                accepted=False, status=error.code, data={"description": error.description}
            )
        return CommandResult(accepted=status in CONFIG_OK, status=status)

    async def configure(self) -> None:
        """After boot: read the configuration, set the sample interval and the measurands."""
        await self.read_configuration()
        interval = self.settings.meter_interval
        if interval is not None:
            key = self.config_keys.interval
            status = await self._configure_value(key, str(interval))
            self.state.configured[key] = {"value": interval, "status": status}
        if self.settings.measurands:
            await self._configure_measurands()

    async def _configure_measurands(self) -> None:
        """Ask for the measurands the charger offers (when it said which), else try the full
        list, then the fallback."""
        key = self.config_keys.measurands
        offered = self.state.values_lists.get(key)
        tried: list[tuple[str, ...]] = []
        for candidates in (self.settings.measurands, self.settings.fallback_measurands):
            wanted = tuple(m for m in candidates if offered is None or m in offered)
            if not wanted or wanted in tried:
                continue
            tried.append(wanted)
            value = ",".join(wanted)
            status = await self._configure_value(key, value)
            self.state.configured[key] = {"value": value, "status": status}
            if status in CONFIG_OK:
                return

    async def _set_password(self, command: SetChargerPassword) -> CommandResult:
        """Set the password's configuration values in order; stop at the first refused one."""
        steps = self.password_steps(command.password, command.tls)
        statuses: dict[str, str] = {}
        for step in steps:
            try:
                status = await self.set_config(step.key, step.value, remember=not step.secret)
            except OcppCallError as error:
                status = error.code
            statuses[step.key] = status
            if status not in step.ok:
                return CommandResult(accepted=False, status=status, data=dict(statuses))
        self.authenticated_with = command.password  # this connection got it from us
        return CommandResult(accepted=True, status="Accepted", data=dict(statuses))

    # ------------------------------------------------------------------ local lists

    async def _send_local_list(self, command: PushAuthorizationList) -> CommandResult:
        """SendLocalList; an empty list is sent without the list (2.0.1 forbids ``[]``).

        Tags the protocol cannot carry are left out (counted in ``data["left_out"]``): they
        still work online, and the rest of the list is not held back by them.
        """
        entries: list[Payload] = []
        left_out = 0
        for entry in command.entries:
            if not self.tag_fits(entry.id_tag):
                left_out += 1
                continue
            if entry.status is None and command.full:
                raise InvalidCommandError("a full local list cannot remove tags (status None)")
            entries.append(self.list_entry(entry))
        if left_out:
            _LOGGER.warning(
                "%s: %s tag(s) left out of the local list: OCPP %s carries 1 to %s characters",
                self.charger_id,
                left_out,
                self.version,
                self.tag_max,
            )
        action, payload = self.local_list_request(command.version, command.full)
        if entries:
            payload["localAuthorizationList"] = entries
        result = await self.command((action, payload), ok=ACCEPTED)
        if left_out:
            result = replace(result, data={**result.data, "left_out": left_out})
        return result

    async def _local_list_version(self) -> CommandResult:
        answer = await self.call_or_unsupported(("GetLocalListVersion", {}))
        version = answer.get(self.list_version_key)
        known = isinstance(version, int) and not isinstance(version, bool) and version >= 0
        return CommandResult(
            accepted=known,
            status="Accepted" if known else "NotSupported",
            data={"version": version},
        )


def _smaller(first: float | None, second: float | None) -> float | None:
    """The smaller of two limits where there are any."""
    if first is None or second is None:
        return second if first is None else first
    return min(first, second)
