"""The person's documents: the documents widget (``tui.widgets.person_documents``, which
binds its own keys and redraws itself) placed as a tab of the file."""

from __future__ import annotations

from textual.app import ComposeResult

from tui.widgets.person_documents import PersonDocuments

from .tab import PersonTab, register


class DocumentsTab(PersonTab):
    name = "documents"

    def compose(self) -> ComposeResult:
        yield PersonDocuments(self.person_id)


register(DocumentsTab, after="medical")
