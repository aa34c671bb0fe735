"""Cutting an import file into chunks that worker processes read on their own.

The main process only looks at bytes: it cuts the file after a line break, counts the lines of
each chunk (so every chunk knows the physical line it starts on) and hands the chunks out. A CSV
cut must not fall inside a quoted field; the cut is put where the number of quotes since the
chunk's start is even, which is right for every well-formed file. It is then *proven* right by the
worker: a worker that reads a chunk reports whether its last record ended exactly at the chunk's
end. Chunk k+1 was read from a true record start if chunk k was, and ended cleanly; the first
chunk starts after the header. When a chunk did not end cleanly (a stray quote, say), the caller
joins it with the next one and reads them again, so the rows are always those a single reader
going through the whole file would produce.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

BOM = b"\xef\xbb\xbf"
CHUNK_BYTES = 1024 * 1024
# Newlines tried backwards from a block's end when looking for an even number of quotes.
_CUT_ATTEMPTS = 64
# A block may grow this many times the chunk size before it is cut without the quote rule.
_MAX_GROWTH = 16


@dataclass(frozen=True)
class Chunk:
    data: bytes
    first_line: int  # the physical line number of the chunk's first byte
    lines: int  # line breaks in data (\n, \r\n or a lone \r, as universal newlines count them)
    last: bool

    def followed_by(self, other: Chunk) -> Chunk:
        """This chunk and the next one as one chunk."""
        return Chunk(self.data + other.data, self.first_line, self.lines + other.lines, other.last)


def count_lines(data: bytes) -> int:
    return data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")


def read_header(stream: IO[bytes]) -> tuple[bytes, bytes]:
    """(the first physical line with its line break, the bytes read after it), BOM removed."""
    buffer = b""
    while True:
        block = stream.read(64 * 1024)
        buffer += block
        if buffer.startswith(BOM):
            buffer = buffer[len(BOM) :]
        end = _first_break(buffer, at_eof=not block)
        if end >= 0 or not block:
            end = end if end >= 0 else len(buffer)
            return buffer[:end], buffer[end:]


def _first_break(data: bytes, *, at_eof: bool) -> int:
    """The position after the first line break, or -1 if more data could change it."""
    newline, carriage = data.find(b"\n"), data.find(b"\r")
    if carriage >= 0 and (newline < 0 or carriage < newline):
        if carriage + 1 < len(data):
            return carriage + 2 if data[carriage + 1 : carriage + 2] == b"\n" else carriage + 1
        return carriage + 1 if at_eof else -1
    return newline + 1 if newline >= 0 else -1


def cut_chunks(
    stream: IO[bytes], *, first_line: int, head: bytes = b"", quoted: bool, size: int = CHUNK_BYTES
) -> Iterator[Chunk]:
    """The rest of ``stream`` (after ``head``, already read) in chunks that end after a line break."""
    pending: Chunk | None = None
    buffer = b""
    line = first_line
    for block in _blocks(head, stream, size):
        buffer += block
        cut = _cut(buffer, quoted=quoted, force=len(buffer) >= _MAX_GROWTH * size)
        if cut <= 0:
            continue
        if pending is not None:
            yield pending
        pending = Chunk(buffer[:cut], line, count_lines(buffer[:cut]), last=False)
        buffer = buffer[cut:]
        line += pending.lines
    if buffer:
        if pending is not None:
            yield pending
        pending = Chunk(buffer, line, count_lines(buffer), last=False)
    if pending is not None:
        yield Chunk(pending.data, pending.first_line, pending.lines, last=True)


def _blocks(head: bytes, stream: IO[bytes], size: int) -> Iterator[bytes]:
    for start in range(0, len(head), size):
        yield head[start : start + size]
    while block := stream.read(size):
        yield block


def _cut(buffer: bytes, *, quoted: bool, force: bool) -> int:
    """Where to end a chunk: after the last line break with an even number of quotes before it.

    Returns -1 when no such place was found (read more). A lone \\r counts as a line break only
    when the buffer holds no \\n at all (old Mac files); it is never the buffer's last byte, since
    a \\n may follow in the next block.
    """
    position = buffer.rfind(b"\n")
    if position < 0:
        position = buffer.rfind(b"\r", 0, len(buffer) - 1)
        separator = b"\r"
    else:
        separator = b"\n"
    if position < 0 or not quoted:
        return position + 1
    quotes = buffer.count(b'"', 0, position)
    candidate = position
    for _ in range(_CUT_ATTEMPTS):
        if quotes % 2 == 0:
            return candidate + 1
        previous = buffer.rfind(separator, 0, candidate)
        if previous < 0:
            break
        quotes -= buffer.count(b'"', previous, candidate)
        candidate = previous
    return position + 1 if force else -1
