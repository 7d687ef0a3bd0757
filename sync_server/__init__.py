"""The Mano relay: authenticates devices, orders and stores opaque envelopes, fans them out.

It never holds a content key and never sees plaintext."""
