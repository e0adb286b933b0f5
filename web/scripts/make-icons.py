#!/usr/bin/env python3
"""Draws the app's default PNG icons (public/icons/) with the standard
library only: a white speech bubble with a handset dot pattern on the default
brand blue. Operators replace them (or set a logo in branding); run again
after changing the colours here."""
import struct
import zlib
from pathlib import Path

BG = (0x0B, 0x6B, 0xCB)
FG = (0xFF, 0xFF, 0xFF)


def inside_bubble(x: float, y: float) -> bool:
    # Rounded rectangle body plus a tail at the lower left (unit square coords).
    cx, cy, w, h, r = 0.5, 0.46, 0.56, 0.40, 0.12
    dx = max(abs(x - cx) - (w / 2 - r), 0)
    dy = max(abs(y - cy) - (h / 2 - r), 0)
    if dx * dx + dy * dy <= r * r:
        return True
    # tail: triangle (0.30,0.62) (0.42,0.62) (0.28,0.76)
    ax, ay, bx, by, qx, qy = 0.30, 0.62, 0.44, 0.62, 0.27, 0.77
    d = (by - qy) * (ax - qx) + (qx - bx) * (ay - qy)
    l1 = ((by - qy) * (x - qx) + (qx - bx) * (y - qy)) / d
    l2 = ((qy - ay) * (x - qx) + (ax - qx) * (y - qy)) / d
    return l1 >= 0 and l2 >= 0 and l1 + l2 <= 1


def pixel(x: float, y: float, maskable: bool) -> tuple:
    if maskable:  # keep the glyph inside the 80% safe zone
        x, y = 0.5 + (x - 0.5) / 0.8, 0.5 + (y - 0.5) / 0.8
    for i, dx in enumerate((0.38, 0.5, 0.62)):  # three dots
        if (x - dx) ** 2 + (y - 0.46) ** 2 <= 0.045 ** 2:
            return BG
    return FG if inside_bubble(x, y) else BG


def png(size: int, maskable: bool = False) -> bytes:
    rows = []
    for j in range(size):
        row = bytearray([0])
        for i in range(size):
            # 2x2 supersampling
            acc = [0, 0, 0]
            for sx in (0.25, 0.75):
                for sy in (0.25, 0.75):
                    p = pixel((i + sx) / size, (j + sy) / size, maskable)
                    for k in range(3):
                        acc[k] += p[k]
            row += bytes(a // 4 for a in acc)
        rows.append(bytes(row))
    raw = b"".join(rows)

    def chunk(tag: bytes, data: bytes) -> bytes:
        c = struct.pack(">I", len(data)) + tag + data
        return c + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


out = Path(__file__).resolve().parent.parent / "public" / "icons"
out.mkdir(parents=True, exist_ok=True)
for size in (192, 512):
    (out / f"icon-{size}.png").write_bytes(png(size))
(out / "maskable-512.png").write_bytes(png(512, maskable=True))
