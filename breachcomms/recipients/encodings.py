"""Customer files that are not UTF-8: converted once, when they are uploaded.

The import reads UTF-8 only (its chunks are cut on byte boundaries). Other files come from
spreadsheets: Excel's "Unicode text" is UTF-16 with a byte order mark, recognised here by that
mark; its plain "CSV" is the Windows code page of the PC's language (Windows-1252 in Sweden and
Indonesia, Windows-1251 in Russia), which no byte order mark announces, so the uploader names it.
``to_utf8`` converts such a file into a temporary UTF-8 copy, which is what gets stored and read.
"""

from __future__ import annotations

import codecs
import contextlib
import tempfile
from collections.abc import Iterator
from typing import IO

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from breachcomms.core.numbers import grouped

UTF8 = "utf-8"
# What the upload form offers besides "UTF-8 (or UTF-16 with its byte order mark)"; the command
# takes any text encoding Python knows.
CHOICES = [
    ("", _("UTF-8 (or UTF-16 with a byte order mark)")),
    ("cp1252", _("Windows-1252: Excel in Western Europe, the Americas and Indonesia")),
    ("cp1251", _("Windows-1251: Excel in Russian and other Cyrillic")),
    ("cp1250", _("Windows-1250: Excel in Central Europe")),
    ("koi8_r", _("KOI8-R: older Russian systems")),
    ("iso8859_15", _("ISO-8859-15 (Latin-9)")),
]
# Longest first: UTF-32 little-endian starts with the UTF-16 little-endian mark.
_MARKS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_BLOCK = 1024 * 1024


class EncodingError(ValueError):
    """The file cannot be converted as asked (the message says why and what to do)."""


def source_encoding(head: bytes, named: str = "") -> str:
    """The encoding to convert the file from (``UTF8``: none), from its first bytes and the
    encoding the uploader named. A byte order mark is certain and wins."""
    for mark, encoding in _MARKS:
        if head.startswith(mark):
            return encoding
    if not named:
        return UTF8
    try:
        info = codecs.lookup(named)
    except LookupError:
        raise EncodingError(
            gettext("%(name)s is not an encoding this system knows (try cp1252 or cp1251).") % {"name": named}
        ) from None
    if not getattr(info, "_is_text_encoding", True):
        raise EncodingError(gettext("%(name)s is not a text encoding.") % {"name": named})
    return UTF8 if info.name in ("utf-8", "utf-8-sig") else info.name


def to_utf8(stream: IO[bytes], encoding: str) -> IO[bytes]:
    """A temporary file with ``stream`` converted from ``encoding`` to UTF-8, at its start.

    Bytes the encoding does not define stay as they were (so their rows are rejected as not UTF-8
    and the rest load). A file that is valid UTF-8 with letters beyond ASCII was not in a legacy
    encoding: converting it would garble every such letter, so that is refused.
    """
    decoder = codecs.getincrementaldecoder(encoding)(errors="surrogateescape")
    check = codecs.getincrementaldecoder(UTF8)(errors="strict")
    utf8_so_far, ascii_only = not encoding.startswith("utf-"), True
    out = tempfile.SpooledTemporaryFile(max_size=8 * _BLOCK)  # noqa: SIM115 - returned to the caller
    done = 0
    try:
        while True:
            block = stream.read(_BLOCK)
            final = not block
            if utf8_so_far:
                ascii_only = ascii_only and block.isascii()
                try:
                    check.decode(block, final)
                except UnicodeDecodeError:
                    utf8_so_far = False
            try:
                out.write(decoder.decode(block, final).encode(UTF8, "surrogateescape"))
            except UnicodeError as exc:
                position = done + getattr(exc, "start", 0)
                raise EncodingError(
                    gettext(
                        "The file starts like %(encoding)s but is broken near byte %(position)s; "
                        "save it again from the program that made it."
                    )
                    % {"encoding": encoding.upper(), "position": grouped(position)}
                ) from None
            done += len(block)
            if final:
                break
    except BaseException:
        out.close()
        raise
    if utf8_so_far and not ascii_only:
        out.close()
        raise EncodingError(
            gettext(
                "The file is already UTF-8, not %(encoding)s: converting it would garble its letters. "
                "Import it without choosing an encoding."
            )
            % {"encoding": encoding}
        )
    out.seek(0)
    return out  # type: ignore[return-value]


@contextlib.contextmanager
def as_utf8(stream: IO[bytes], named: str = "") -> Iterator[tuple[IO[bytes], str]]:
    """``stream`` as UTF-8 (a converted temporary copy if it is in another encoding; see
    source_encoding) and the encoding it was in. ``stream`` must be seekable."""
    head = stream.read(4096)
    stream.seek(0)
    source = source_encoding(head, named)
    if source == UTF8:
        yield stream, source
        return
    with to_utf8(stream, source) as converted:
        yield converted, source
