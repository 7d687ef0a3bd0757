"""The encrypted local store of a device: documents (updates and snapshots), encrypted records
and the sync outbox, in one SQLite file. See ``LocalStore``."""

from .kdf import DEFAULT_KDF, INTERACTIVE_KDF, TEST_KDF, KdfParams
from .local_store import LocalStore
from .transaction import StoreTransaction
from .types import LoadedDocument, OutboxItem

__all__ = [
    "DEFAULT_KDF",
    "INTERACTIVE_KDF",
    "TEST_KDF",
    "KdfParams",
    "LoadedDocument",
    "LocalStore",
    "OutboxItem",
    "StoreTransaction",
]
