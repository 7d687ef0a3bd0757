"""Encrypted documents attached to persons and medical records (``team.documents``).

``service`` is the API, ``held`` what this device holds and its upkeep, ``body`` seals
and opens bodies (pure), ``bodies`` keeps them on the device (LRU, uploads, relay
deletions), ``mime`` sniffs types for display. The relay side is mano_core.sync.documents
(the client) and sync_server/handlers_files.py."""

from mano_core.documents.service import DocumentRemote, Documents, Progress, normalise_folder
from mano_core.model.records import Document, HealthDocument

__all__ = ["Document", "DocumentRemote", "Documents", "HealthDocument", "Progress",
           "normalise_folder"]
