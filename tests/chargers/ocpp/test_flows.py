"""End-to-end flows: real OcppServer and real simulated charge points over real sockets."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from custom_components.ev_sessions.chargers.events import (
    AuthorizationStatus,
    BootDecision,
    ChargerConnected,
    ChargerDisconnected,
    ConnectorState,
    MeterSample,
    SampleContext,
    StatusChanged,
    TagPresented,
    TransactionEnded,
    TransactionStarted,
)

from .helpers import charge_point, running_server, settle, url, wait_until

pytestmark = pytest.mark.usefixtures("socket_enabled")


async def test_boot_16_reports_charger_info() -> None:
    async with (
        running_server() as (server, handler),
        charge_point(server, "CP1", serial="SN-42", connectors=2) as cp,
    ):
        connected = await handler.wait_for(ChargerConnected)
        assert cp.boot_status == "Accepted"
        assert cp.heartbeat_interval == 60
        assert connected.charger_id == "CP1"
        assert connected.info.protocol == "ocpp1.6"
        assert connected.info.vendor == "ev_sessions"
        assert connected.info.model == "Simulator"
        assert connected.info.serial == "SN-42"
        assert connected.info.firmware == "1.0.0"
        status = await handler.wait_for(StatusChanged, 2)
        assert {(e.connector_id, e.state) for e in handler.of(StatusChanged)} == {
            (1, ConnectorState.AVAILABLE),
            (2, ConnectorState.AVAILABLE),
        }
        assert status.error_code is None
        assert server.is_connected("CP1")
        assert server.connected() == ["CP1"]
    disconnected = handler.of(ChargerDisconnected)
    assert [e.charger_id for e in disconnected] == ["CP1"]


async def test_boot_201_reports_charger_info() -> None:
    async with (
        running_server() as (server, handler),
        charge_point(server, "CS1", version="2.0.1", serial="SN-7") as cp,
    ):
        connected = await handler.wait_for(ChargerConnected)
        assert cp.protocol == "ocpp2.0.1"
        assert connected.info.protocol == "ocpp2.0.1"
        assert connected.info.serial == "SN-7"
        assert connected.info.vendor == "ev_sessions"
        status = await handler.wait_for(StatusChanged)
        assert (status.connector_id, status.state) == (1, ConnectorState.AVAILABLE)
        assert server.charger_diagnostics("CS1")["protocol"] == "ocpp2.0.1"


async def test_charging_session_16_exact_events() -> None:
    async with (
        running_server() as (server, handler),
        charge_point(server, "CP1", meter_start_wh=1000, phases=3, soc_pct=40.0) as cp,
    ):
        await cp.plug_in(1)
        assert await cp.swipe("TAG12345") == "Accepted"
        tag = await handler.wait_for(TagPresented)
        assert (tag.id_tag, tag.status, tag.connector_id) == (
            "TAG12345",
            AuthorizationStatus.ACCEPTED,
            None,
        )
        transaction_id = await cp.start(1, "TAG12345")
        started = await handler.wait_for(TransactionStarted)
        assert started.transaction_id == transaction_id
        assert started.connector_id == 1
        assert started.id_tag == "TAG12345"
        assert started.meter_start_wh == 1000
        assert started.offline is False
        cp.connector(1).energy_wh = 1500.4
        await cp.send_meter_values(1)
        sample = await handler.wait_for(MeterSample)
        assert sample.transaction_id == transaction_id
        assert sample.connector_id == 1
        assert sample.context is SampleContext.PERIODIC
        assert sample.energy_register_wh == 1500
        assert isinstance(sample.energy_register_wh, int)
        assert sample.power_w == 7400.0
        assert sample.current_a == (10.72, 10.72, 10.72)
        assert sample.voltage_v == (230.0, 230.0, 230.0)
        assert sample.soc_pct == 40.0
        cp.connector(1).energy_wh = 2000
        await cp.stop(1, "EVDisconnected", id_tag="TAG12345")
        ended = await handler.wait_for(TransactionEnded)
        assert ended.transaction_id == transaction_id
        assert ended.connector_id == 1
        assert ended.meter_stop_wh == 2000
        assert ended.reason == "EVDisconnected"
        assert ended.id_tag == "TAG12345"
        # the StopTransaction's transactionData came first, as a Transaction.End sample
        end_sample = handler.of(MeterSample)[-1]
        assert end_sample.context is SampleContext.TRANSACTION_END
        assert end_sample.energy_register_wh == 2000
        assert handler.events.index(end_sample) < handler.events.index(ended)
        assert [e.state for e in handler.of(StatusChanged)] == [
            ConnectorState.AVAILABLE,
            ConnectorState.PREPARING,
            ConnectorState.CHARGING,
            ConnectorState.FINISHING,
        ]
        assert server.charger_diagnostics("CP1")["active_transactions"] == {}


async def test_charging_session_201_exact_events() -> None:
    async with (
        running_server() as (server, handler),
        charge_point(server, "CS1", version="2.0.1", meter_start_wh=500) as cp,
    ):
        await cp.plug_in(1)
        assert await cp.swipe("RFID-0001") == "Accepted"
        transaction_id = await cp.start(1, "RFID-0001")
        started = await handler.wait_for(TransactionStarted)
        assert started.transaction_id == transaction_id
        assert started.connector_id == 1
        assert started.id_tag == "RFID-0001"
        assert started.meter_start_wh == 500
        begin = await handler.wait_for(MeterSample)
        assert begin.context is SampleContext.TRANSACTION_BEGIN
        assert begin.transaction_id == transaction_id
        charging = await handler.wait_for(
            StatusChanged, where=lambda e: e.state is ConnectorState.CHARGING
        )
        assert charging.connector_id == 1
        cp.connector(1).energy_wh = 900
        await cp.send_meter_values(
            1,
            sampled_values=[
                {
                    "value": 0.9,
                    "measurand": "Energy.Active.Import.Register",
                    "unitOfMeasure": {"unit": "kWh"},
                },
                {"value": 7.2, "measurand": "Power.Active.Import", "unitOfMeasure": {"unit": "kW"}},
                {
                    "value": 16,
                    "measurand": "Current.Import",
                    "phase": "L2",
                    "unitOfMeasure": {"unit": "A"},
                },
            ],
        )
        sample = await handler.wait_for(MeterSample, 2)
        assert sample.energy_register_wh == 900
        assert sample.power_w == 7200.0
        assert sample.current_a == (None, 16.0, None)
        assert sample.transaction_id == transaction_id
        cp.connector(1).energy_wh = 1234
        await cp.stop(1, "Local")
        ended = await handler.wait_for(TransactionEnded)
        assert ended.transaction_id == transaction_id
        assert ended.connector_id == 1
        assert ended.meter_stop_wh == 1234
        assert ended.reason == "Local"
        assert ended.offline is False
        finishing = await handler.wait_for(
            StatusChanged, where=lambda e: e.state is ConnectorState.FINISHING
        )
        assert finishing.connector_id == 1


async def test_pending_then_accepted_without_reconnect() -> None:
    async with running_server() as (server, handler):
        handler.boot["NEW1"] = BootDecision.PENDING
        async with charge_point(server, "NEW1", connect=False) as cp:
            booting = asyncio.create_task(cp.connect())
            await asyncio.sleep(0.3)
            assert cp.boot_status == "Pending"
            assert cp.heartbeat_interval == 1
            assert handler.of(ChargerConnected) == []
            # while pending, other messages are refused
            reply = await cp.send_raw('[2,"hb1","Heartbeat",{}]')
            assert reply is not None
            assert reply[:3] == [4, "hb1", "SecurityError"]
            server.accept("NEW1")
            await asyncio.wait_for(booting, 3)
            assert cp.boot_status == "Accepted"
            assert cp.requests_for("TriggerMessage") == [{"requestedMessage": "BootNotification"}]
            connected = await handler.wait_for(ChargerConnected)
            assert connected.charger_id == "NEW1"
            assert cp._connect_count == 1  # no reconnect
            assert len(handler.boot_requests) == 1  # the second boot was accepted by the user


async def test_rejected_boot() -> None:
    async with running_server() as (server, handler):
        handler.boot["BAD"] = BootDecision.REJECTED
        async with charge_point(server, "BAD", connect=False) as cp:
            await cp.connect(boot=False)
            assert await cp.boot(until_accepted=False) == "Rejected"
            assert server.charger_diagnostics("BAD")["rejected"] is True


async def test_reject_unknown_and_known() -> None:
    async with running_server(reject_unknown=True, known=lambda cid: cid == "KNOWN") as (
        server,
        _handler,
    ):
        async with charge_point(server, "STRANGER", connect=False) as cp:
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await cp.connect()
            assert refused.value.status == 404
        async with charge_point(server, "KNOWN") as cp:
            assert cp.boot_status == "Accepted"


async def test_basic_auth_good_wrong_missing(caplog: pytest.LogCaptureFixture) -> None:
    passwords = {"SEC1": "s3cret-password"}
    async with running_server(password_for=passwords.get) as (server, _handler):
        async with charge_point(server, "SEC1", password="s3cret-password") as cp:
            assert cp.boot_status == "Accepted"
        for password in ("wrong", None, "wrong"):
            async with charge_point(server, "SEC1", connect=False, password=password) as cp:
                with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                    await cp.connect()
                assert refused.value.status == 401
                assert refused.value.headers is not None
                assert refused.value.headers["WWW-Authenticate"].startswith("Basic")
        warnings = [
            r
            for r in caplog.records
            if r.levelname == "WARNING" and "Basic authentication" in r.getMessage()
        ]
        assert len(warnings) == 1
        assert "SEC1" in warnings[0].getMessage()
        # a charger without a password configured needs none
        async with charge_point(server, "OPEN1") as cp:
            assert cp.boot_status == "Accepted"


async def test_prefix_path_and_no_subprotocol() -> None:
    async with (
        running_server() as (server, handler),
        charge_point(server, "CP%201", connect=False, offer_protocol=False) as cp,
    ):
        await cp.connect(url(server, "CP%201", prefix="/ocpp/v16"))
        connected = await handler.wait_for(ChargerConnected)
        assert connected.charger_id == "CP 1"
        assert connected.info.protocol == "ocpp1.6"
        assert server.is_connected("CP 1")
        overview = server.diagnostics()
        assert overview["connected"] == ["CP 1"]
        assert overview["port"] == server.port
        assert overview["chargers"]["CP 1"]["info"]["protocol"] == "ocpp1.6"


async def test_multi_connector_16_and_two_evse_201() -> None:
    async with (
        running_server() as (server, handler),
        charge_point(server, "DUO", connectors=2) as duo,
        charge_point(server, "EVSE2", version="2.0.1", connectors=2) as evse2,
    ):
        await duo.plug_in(2)
        tx2 = await duo.start(2, "TAGB")
        await evse2.plug_in(2)
        tx_b = await evse2.start(2, "TAGC")
        started = await handler.wait_for(TransactionStarted, 2)
        by_charger = {e.charger_id: e for e in handler.of(TransactionStarted)}
        assert started is not None
        assert (by_charger["DUO"].connector_id, by_charger["DUO"].transaction_id) == (2, tx2)
        assert (by_charger["EVSE2"].connector_id, by_charger["EVSE2"].transaction_id) == (2, tx_b)
        await duo.send_meter_values(2)
        sample = await handler.wait_for(MeterSample, where=lambda e: e.charger_id == "DUO")
        assert (sample.connector_id, sample.transaction_id) == (2, tx2)
        assert server.charger_diagnostics("DUO")["active_transactions"] == {"2": tx2}
        assert server.charger_diagnostics("EVSE2")["active_transactions"] == {"2": tx_b}


async def test_reconnect_mid_transaction_keeps_transaction() -> None:
    async with running_server() as (server, handler), charge_point(server, "CP1") as cp:
        await cp.plug_in(1)
        transaction_id = await cp.start(1, "TAG1")
        await cp.disconnect()
        await handler.wait_for(ChargerDisconnected)
        await cp.connect()
        # reconnect without reboot: connected again with what the server knew
        await handler.wait_for(ChargerConnected, 2)
        assert len(handler.boot_requests) == 1
        await cp.send_meter_values(1)
        sample = await handler.wait_for(MeterSample)
        assert sample.transaction_id == transaction_id
        await cp.stop(1)
        ended = await handler.wait_for(TransactionEnded)
        assert (ended.transaction_id, ended.connector_id) == (transaction_id, 1)


async def test_second_connection_replaces_first() -> None:
    """With the charger's password, a second connection replaces the first (test_admission
    has the refusal of one without it)."""
    password = "dup-password-0123456"
    async with (
        running_server(password_for={"DUP": password}.get) as (server, handler),
        charge_point(server, "DUP", password=password) as first,
        charge_point(server, "DUP", password=password) as second,
    ):
        await handler.wait_for(ChargerConnected, 2)
        disconnected = await handler.wait_for(ChargerDisconnected)
        assert disconnected.reason == "replaced by a new connection"
        await wait_until(lambda: not first.connected)
        assert second.connected
        assert await second.swipe("T1") == "Accepted"
        assert server.connected() == ["DUP"]


async def test_offline_replay_of_unknown_transaction_keeps_timestamps() -> None:
    from datetime import UTC, datetime, timedelta

    async with running_server() as (server_a, _handler_a), charge_point(server_a, "CP1") as cp:
        await cp.plug_in(1)
        transaction_id = await cp.start(1, "TAG1")
        await cp.disconnect()
        stopped_at = datetime.now(UTC) - timedelta(minutes=10)
        cp.connector(1).energy_wh = 4321
        await cp.send_meter_values(1, timestamp=stopped_at - timedelta(minutes=1))
        await cp.stop(1, "PowerLoss", timestamp=stopped_at)
        assert cp.queued == 2
        # the hub restarted in the meantime: a new server knows nothing of the transaction
        # (the charger is configured, so it is taken back without booting)
        async with running_server(known=lambda cid: cid == "CP1") as (server_b, handler_b):
            await cp.connect(url(server_b, "CP1"))
            ended = await handler_b.wait_for(TransactionEnded)
            assert ended.transaction_id == transaction_id
            assert ended.connector_id is None
            assert ended.meter_stop_wh == 4321
            assert ended.reason == "PowerLoss"
            assert ended.at == stopped_at.replace(microsecond=stopped_at.microsecond // 1000 * 1000)
            assert ended.offline is True
            samples = handler_b.of(MeterSample)
            assert samples[0].at < ended.at
            assert samples[0].offline is True
            assert samples[0].transaction_id == transaction_id
            assert cp.queued == 0
            await cp.disconnect()


async def test_offline_201_flag() -> None:
    async with (
        running_server() as (server, handler),
        charge_point(server, "CS1", version="2.0.1") as cp,
    ):
        await cp.plug_in(1)
        transaction_id = await cp.start(1, "TAG1")
        await cp.disconnect()
        await cp.stop(1, "Local")
        await cp.connect()
        ended = await handler.wait_for(TransactionEnded)
        assert ended.transaction_id == transaction_id
        assert ended.offline is True
        assert ended.connector_id == 1


async def test_server_stop_leaves_nothing_behind() -> None:
    before = asyncio.all_tasks()
    async with running_server() as (server, handler):
        cp16 = await _connected(server, "A")
        cp201 = await _connected(server, "B", version="2.0.1")
        await cp16.plug_in(1)
        await cp16.start(1, "TAG")
        await server.stop()
        assert server.connected() == []
        assert len(handler.of(ChargerDisconnected)) == 2
        await cp16.close()
        await cp201.close()
    await settle(handler)
    leftover = asyncio.all_tasks() - before
    assert leftover == set()


async def _connected(server, charger_id: str, **config):  # type: ignore[no-untyped-def]
    from simulators.ocpp import SimConfig, SimulatedChargePoint

    cp = SimulatedChargePoint(url(server, charger_id), SimConfig(charger_id=charger_id, **config))
    await cp.connect()
    return cp
