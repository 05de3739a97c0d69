"""Files a mischievous student or a damaged disk supplies: pictures whose headers say anything,
built with valid checksums so that a parser gets past its first checks."""

import base64
import struct
import zlib

EPS = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 100 100\nnewpath 0 0 moveto 100 100 lineto stroke\n%%EOF\n"


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_with_header(width: int, height: int, depth: int, colour: int, body: bytes) -> bytes:
    """A PNG whose header says anything, and whose pixel data is ``body``."""
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0))
        + png_chunk(b"IDAT", zlib.compress(body))
        + png_chunk(b"IEND", b"")
    )


def huge_png(side: int) -> bytes:
    """A PNG of side x side black pixels in a few hundred kilobytes: decoded, it takes side * side
    bytes (a 9,000 x 9,000 one took a server from 1 GB to 3.7 GB)."""
    return png_with_header(side, side, 8, 0, b"".join(b"\x00" + bytes(side) for _ in range(side)))


def data_url(png: bytes) -> str:
    """What the canvas sends: its PNG as a data: URL."""
    return "data:image/png;base64," + base64.b64encode(png).decode()
