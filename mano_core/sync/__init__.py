"""Sync client pieces (asyncio drivers around the sans-I/O protocol in mano_core.protocol)."""
