"""OCPP 1.6J / 2.0.1 adapter: a websocket central system speaking normalized events.

The HA glue creates one :class:`OcppServer` with a :class:`~..events.ChargerHandler`, starts it,
and sends commands with :meth:`OcppServer.execute`.
"""

from .connection import ChargerNotAcceptedError, OcppCallError
from .server import OcppServer, charger_id_from_path
from .state import OcppServerSettings, TransactionIdFactory

__all__ = [
    "ChargerNotAcceptedError",
    "OcppCallError",
    "OcppServer",
    "OcppServerSettings",
    "TransactionIdFactory",
    "charger_id_from_path",
]
