"""Constants for the ev_sessions integration."""

from __future__ import annotations

import logging
from typing import Final

DOMAIN: Final = "ev_sessions"
LOGGER = logging.getLogger(__package__)

# Config entry kinds: one hub per HA instance, one entry per charger.
CONF_ENTRY_TYPE: Final = "entry_type"
ENTRY_TYPE_HUB: Final = "hub"
ENTRY_TYPE_CHARGER: Final = "charger"
HUB_UNIQUE_ID: Final = "ev_sessions_hub"

# Hub settings
CONF_OCPP_PORT: Final = "ocpp_port"
CONF_OCPP_HOST: Final = "ocpp_host"
CONF_SSL_CERTFILE: Final = "ssl_certfile"
CONF_SSL_KEYFILE: Final = "ssl_keyfile"
CONF_REJECT_UNKNOWN: Final = "reject_unknown_chargers"
CONF_METER_INTERVAL: Final = "meter_interval"
CONF_DB_URL: Final = "db_url"
CONF_SLOW_MAX_KW: Final = "slow_max_kw"
CONF_FAST_MIN_KW: Final = "fast_min_kw"

DEFAULT_OCPP_PORT: Final = 9000
DEFAULT_OCPP_HOST: Final = "0.0.0.0"  # noqa: S104  (chargers connect from the LAN)
DEFAULT_METER_INTERVAL: Final = 10
DEFAULT_SLOW_MAX_KW: Final = 3.7
DEFAULT_FAST_MIN_KW: Final = 11.0
DB_FILENAME: Final = "ev_sessions.db"

# Charger settings
CONF_PROTOCOL: Final = "protocol"
PROTOCOL_OCPP: Final = "ocpp"
PROTOCOL_MODBUS: Final = "modbus"
CONF_CHARGER_ID: Final = "charger_id"
CONF_MODEL: Final = "model"
CONF_UNIT_ID: Final = "unit_id"
DEFAULT_MODBUS_PORT: Final = 502

# Events fired on the HA bus
EVENT_SESSION_STARTED: Final = f"{DOMAIN}_session_started"
EVENT_CHARGING_FINISHED: Final = f"{DOMAIN}_charging_finished"
EVENT_SESSION_ENDED: Final = f"{DOMAIN}_session_ended"
