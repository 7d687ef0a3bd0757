"""The Textual reference client, built only on mano_core's public API."""
