"""TensorBoard event files: the few protobuf messages we need, encoded and read by hand.

A file is a sequence of TFRecords (length, CRC of the length, payload, CRC of the payload);
each payload is an `Event`. Only the fields gradstudio writes are understood (wall_time,
step, file_version, summary values with simple_value or a text tensor); other fields are
skipped, so files written by TensorFlow or PyTorch read too. Writing by hand keeps
tensorboard and protobuf out of the dependencies.
"""

from __future__ import annotations

import math
import os
import struct
from pathlib import Path

from .crc32c import masked_crc32c

FILE_VERSION = "brain.Event:2"
_DT_STRING = 7  # TensorProto.dtype for strings

# wire types
_VARINT, _FIXED64, _BYTES, _FIXED32 = 0, 1, 2, 5


class TFEventsError(ValueError):
    """An event file is damaged or is not an event file."""


# -- encoding ------------------------------------------------------------------------------
def _varint(n: int) -> bytes:
    if n < 0:
        n += 1 << 64  # int64 two's complement, ten bytes
    out = bytearray()
    while True:
        low = n & 0x7F
        n >>= 7
        if n:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def _key(field: int, wire: int) -> bytes:
    return _varint(field << 3 | wire)


def _bytes_field(field: int, payload: bytes) -> bytes:
    return _key(field, _BYTES) + _varint(len(payload)) + payload


def scalar_value(tag: str, value: float) -> bytes:
    """Summary.Value{tag, simple_value} (a float32, as TensorBoard stores scalars; values beyond
    float32's range, as a diverged loss reaches, become infinities)."""
    try:
        packed = struct.pack("<f", value)
    except OverflowError:
        packed = struct.pack("<f", math.copysign(math.inf, value))
    return _bytes_field(1, tag.encode()) + _key(2, _FIXED32) + packed


def text_value(tag: str, text: str) -> bytes:
    """Summary.Value holding a string tensor that TensorBoard's text plugin shows (markdown)."""
    plugin = _bytes_field(1, _bytes_field(1, b"text"))  # SummaryMetadata{plugin_data{plugin_name}}
    tensor = _key(1, _VARINT) + _varint(_DT_STRING) + _bytes_field(2, b"") + _bytes_field(8, text.encode())
    return _bytes_field(1, tag.encode()) + _bytes_field(9, plugin) + _bytes_field(8, tensor)


def encode_event(wall_time: float, step: int = 0, *, file_version: str | None = None,
                 values: list[bytes] | None = None) -> bytes:
    """An Event message; `values` are encoded Summary.Value messages (see scalar_value)."""
    out = _key(1, _FIXED64) + struct.pack("<d", wall_time)
    if step:
        out += _key(2, _VARINT) + _varint(step)
    if file_version is not None:
        out += _bytes_field(3, file_version.encode())
    if values is not None:
        out += _bytes_field(5, b"".join(_bytes_field(1, v) for v in values))
    return out


def frame_record(payload: bytes) -> bytes:
    """One TFRecord: uint64 length, masked CRC of it, payload, masked CRC of the payload."""
    length = struct.pack("<Q", len(payload))
    return (length + struct.pack("<I", masked_crc32c(length))
            + payload + struct.pack("<I", masked_crc32c(payload)))


# -- reading -------------------------------------------------------------------------------
def _fields(data: bytes, where: int) -> list[tuple[int, int, object]]:
    """(field number, wire type, value) of one message; `where` is its file offset, for errors."""
    out = []
    i = 0

    def varint() -> int:
        nonlocal i
        n = shift = 0
        while True:
            if i >= len(data) or shift > 63:
                raise TFEventsError(f"byte {where + i}: malformed varint in event")
            b = data[i]
            i += 1
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return n

    while i < len(data):
        start = i
        key = varint()
        field, wire = key >> 3, key & 7
        if wire == _VARINT:
            value: object = varint()
        elif wire in (_FIXED64, _FIXED32):
            size = 8 if wire == _FIXED64 else 4
            value = data[i:i + size]
            i += size
        elif wire == _BYTES:
            size = varint()
            value = data[i:i + size]
            i += size
        else:
            raise TFEventsError(f"byte {where + start}: unsupported protobuf wire type {wire}")
        if i > len(data):
            raise TFEventsError(f"byte {where + start}: field {field} runs past the end of its message")
        out.append((field, wire, value))
    return out


def _decode_value(data: bytes, where: int) -> dict:
    value: dict = {}
    for field, wire, raw in _fields(data, where):
        if field == 1 and wire == _BYTES:
            value["tag"] = raw.decode("utf-8", "replace")
        elif field == 2 and wire == _FIXED32:
            value["simple_value"] = struct.unpack("<f", raw)[0]
        elif field == 8 and wire == _BYTES:
            strings = [s for f, w, s in _fields(raw, where) if f == 8 and w == _BYTES]
            if strings:
                value["text"] = b"".join(strings).decode("utf-8", "replace")
    return value


def _decode_event(data: bytes, where: int) -> dict:
    event: dict = {"wall_time": 0.0, "step": 0}
    for field, wire, raw in _fields(data, where):
        if field == 1 and wire == _FIXED64:
            event["wall_time"] = struct.unpack("<d", raw)[0]
        elif field == 2 and wire == _VARINT:
            event["step"] = raw - (1 << 64) if raw >= 1 << 63 else raw
        elif field == 3 and wire == _BYTES:
            event["file_version"] = raw.decode("utf-8", "replace")
        elif field == 5 and wire == _BYTES:
            event["summary"] = [_decode_value(v, where) for f, w, v in _fields(raw, where) if f == 1 and w == _BYTES]
    return event


def read_records(path: str | os.PathLike) -> list[tuple[int, bytes]]:
    """(offset, payload) of every TFRecord, both CRCs checked."""
    path = Path(path)
    data = path.read_bytes()
    records = []
    at = 0
    while at < len(data):
        if len(data) - at < 12:
            raise TFEventsError(f"{path}: byte {at}: file ends inside a record header (truncated file?)")
        length_bytes = data[at:at + 8]
        (length,) = struct.unpack("<Q", length_bytes)
        (length_crc,) = struct.unpack("<I", data[at + 8:at + 12])
        if masked_crc32c(length_bytes) != length_crc:
            raise TFEventsError(f"{path}: byte {at}: record length fails its CRC check (damaged or not an event file)")
        body = at + 12
        if len(data) - body < length + 4:
            raise TFEventsError(f"{path}: byte {at}: record of {length} bytes runs past the end of the file (truncated?)")
        payload = data[body:body + length]
        (payload_crc,) = struct.unpack("<I", data[body + length:body + length + 4])
        if masked_crc32c(payload) != payload_crc:
            raise TFEventsError(f"{path}: byte {at}: record payload fails its CRC check (damaged between bytes "
                                f"{body} and {body + length})")
        records.append((body, payload))
        at = body + length + 4
    return records


def read_events(path: str | os.PathLike) -> list[dict]:
    """Every event in a file, as dicts: wall_time, step, and file_version or summary (a list of
    {tag, simple_value | text}). Raises TFEventsError naming the byte offset of a damaged record."""
    events = []
    for offset, payload in read_records(path):
        try:
            events.append(_decode_event(payload, offset))
        except TFEventsError as exc:
            raise TFEventsError(f"{Path(path)}: {exc}") from None
    return events
