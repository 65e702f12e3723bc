"""Everything the hub keeps in PostgreSQL (or TimescaleDB): the only package that imports psycopg.

Public API:

* :func:`connect`, :func:`wait_for_database` — connections, errors mapped to ``StoreUnavailable`` /
  ``StoreError``;
* :func:`migrate` — versioned schema plus the TimescaleDB-or-plain decision (:class:`StorageInfo`);
* :func:`apply_batch` — one transaction: quarantine, time series, liveness, alerts, device status;
* :func:`sweep_stale` — offline agents that went silent, and their alerts;
* :class:`Database` (a worker's own connection) and :class:`ReadStore` (the web's pool);
* the read queries in :mod:`hub.store.queries`.
"""

from hub.store.batch import apply_batch
from hub.store.connection import Connection, connect, wait_for_database
from hub.store.handle import Database, ReadStore
from hub.store.migrate import migrate
from hub.store.records import (
    Accepted,
    AgentRow,
    AlertRow,
    BatchResult,
    DeviceRow,
    Item,
    Rejected,
    SitesSnapshot,
    StorageInfo,
)
from hub.store.sweep import sweep_stale

__all__ = [
    "Accepted",
    "AgentRow",
    "AlertRow",
    "BatchResult",
    "Connection",
    "Database",
    "DeviceRow",
    "Item",
    "ReadStore",
    "Rejected",
    "SitesSnapshot",
    "StorageInfo",
    "apply_batch",
    "connect",
    "migrate",
    "sweep_stale",
    "wait_for_database",
]
