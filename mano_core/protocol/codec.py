"""The one codec of the sync protocol: a message <-> one msgpack-encoded websocket frame.

msgspec decodes and validates in one pass (types, lengths, ranges from messages.py), so a
hostile frame is refused before any of it reaches the relay's logic."""

from __future__ import annotations

import msgspec

from mano_core import bounded, limits
from mano_core.errors import RemoteProtocolError, TooDeepError
from mano_core.protocol.codes import ErrorCode
from mano_core.protocol.messages import AnyMessage, Message

_encoder = msgspec.msgpack.Encoder()
_decoder: msgspec.msgpack.Decoder[AnyMessage] = msgspec.msgpack.Decoder(AnyMessage)


def encode(message: Message) -> bytes:
    """Encode one message as the payload of one binary websocket frame."""
    return _encoder.encode(message)


def decode(frame: bytes, max_frame: int = limits.MAX_FRAME_SIZE) -> AnyMessage:
    """Decode and validate one frame.

    Raises RemoteProtocolError with code FRAME_TOO_LARGE (checked before decoding) or
    BAD_FRAME (not msgpack, nested beyond limits.MAX_MSGPACK_DEPTH (checked before decoding),
    unknown type, a field of the wrong type or out of its limits)."""
    if len(frame) > max_frame:
        raise RemoteProtocolError(
            f"frame of {len(frame)} bytes exceeds the limit of {max_frame}",
            ErrorCode.FRAME_TOO_LARGE,
        )
    try:
        bounded.check_depth(frame)
    except TooDeepError as exc:
        raise RemoteProtocolError(f"invalid message: {exc}", ErrorCode.BAD_FRAME) from exc
    try:
        return _decoder.decode(frame)
    except msgspec.ValidationError as exc:
        raise RemoteProtocolError(f"invalid message: {exc}", ErrorCode.BAD_FRAME) from None
    except (msgspec.DecodeError, ValueError, RecursionError):  # ValueError: bad UTF-8
        raise RemoteProtocolError("frame is not a msgpack message", ErrorCode.BAD_FRAME) from None
