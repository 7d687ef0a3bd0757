"""A document's type for display, sniffed from its first bytes with puremagic.

Why puremagic: pure Python (nothing to compile on a phone or a locked-down laptop), a large
signature table kept up to date (PDF, JPEG, PNG, HEIC, WebP, TIFF, office documents…) and
still maintained, where ``filetype`` has had no release since 2022. The type is a hint for
the interface (an icon, "PDF"), never a security decision: a body is shown as data only."""

from __future__ import annotations

import re
from typing import Final

import puremagic

SNIFF_BYTES: Final = 8192  # bytes looked at (signatures sit in the first few hundred)
FALLBACK: Final = "application/octet-stream"
_MIME = re.compile(r"[a-z0-9][a-z0-9.+-]{0,63}/[a-z0-9][a-z0-9.+-]{0,63}")


def sniff(data: bytes, name: str = "") -> str:
    """The MIME type of ``data`` (``name``'s extension breaks ties), or FALLBACK."""
    head = data[:SNIFF_BYTES]
    if not head:
        return FALLBACK
    try:
        found = puremagic.from_string(head, mime=True, filename=name or None)
    except (puremagic.PureError, ValueError):
        found = ""
    if not found and _looks_like_text(head):
        return "text/plain"
    return clean(found)


def clean(mime: str) -> str:
    """``mime`` if it has the shape of a MIME type (lower-cased), else FALLBACK: a type given
    by a caller or written by a teammate is shown, never trusted as markup."""
    mime = mime.strip().lower()
    return mime if _MIME.fullmatch(mime) else FALLBACK


def _looks_like_text(head: bytes) -> bool:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(ch.isprintable() or ch in "\t\r\n" for ch in text)
