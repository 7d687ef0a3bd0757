"""Moving a team from MANO (SocialGouv/mano): its vocabulary and defaults, and the import of
the files MANO writes (its full export and its persons example file). docs/reports.md,
"Migrating from MANO"."""

from __future__ import annotations

from .migrate import FieldReport, MigrationResult, Notice, Problem, SheetReport, import_mano

__all__ = ["FieldReport", "MigrationResult", "Notice", "Problem", "SheetReport", "import_mano"]
