"""Fuzz the image readers for a bounded time: mutate valid seed files, read them in child processes.

    python benchmarks/fuzz_readers.py --seconds 300 --out /tmp/fuzz-findings

Seeds cover every format (PNG grey/16-bit/RGB/RGBA/palette/1-bit, JPEG, BMP, TIFF plain/zlib/LZW/
tiled/float/RGB/stack/OME/ImageJ/BigTIFF). Mutations: bit flips, interesting byte and integer values
in headers, truncation, byte-run deletion and insertion, PNG chunk splicing, splices between seeds.
Each file goes through image_info and read_image (tests.reliability.read_probe: 5 s alarm, 3 GiB
address-space limit). A finding is anything but success or ImageReadError: another exception, a
crash, a hang, or a refusal for lack of memory (a huge allocation). Findings are copied to --out and
the counts printed as JSON. Not part of the test run.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import shutil
import struct
import sys
import tempfile
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import tifffile
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.reliability.read_probe import probe_files  # noqa: E402

INTERESTING = (0, 1, 2, 3, 7, 8, 15, 16, 255, 256, 0x7FFF, 0xFFFF, 0x10000, 0x7FFFFFFF, 0xFFFFFFFF, 65535 * 3)


def _encode(suffix: str, array: np.ndarray) -> bytes:
    ok, data = cv2.imencode(suffix, array)
    assert ok
    return data.tobytes()


def _pil(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def _tiff(array: np.ndarray, **kwargs) -> bytes:
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, array, **kwargs)
    return buffer.getvalue()


def make_seeds() -> dict[str, bytes]:
    """Small valid files of every supported kind, keyed by file name (the suffix picks the reader)."""
    rng = np.random.default_rng(0)
    grey = rng.integers(0, 256, (23, 17), dtype=np.uint8)
    rgb = rng.integers(0, 256, (19, 21, 3), dtype=np.uint8)
    u16 = rng.integers(0, 65536, (13, 11), dtype=np.uint16)
    palette = Image.fromarray(grey // 64, mode="P")
    palette.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255])
    return {
        "grey.png": _encode(".png", grey), "u16.png": _encode(".png", u16), "rgb.png": _encode(".png", rgb),
        "rgba.png": _pil(Image.fromarray(np.dstack([rgb, rgb[:, :, :1]]), mode="RGBA"), "PNG"),
        "palette.png": _pil(palette, "PNG"), "bits.png": _pil(Image.fromarray(grey > 128), "PNG"),
        "grey.jpg": _encode(".jpg", grey), "rgb.jpg": _encode(".jpg", rgb),
        "rgb.bmp": _encode(".bmp", rgb), "grey.bmp": _encode(".bmp", grey),
        "plain.tif": _tiff(grey), "zlib.tif": _tiff(u16, compression="zlib"),
        "lzw.tif": _tiff(grey, compression="lzw"), "tiled.tif": _tiff(np.tile(grey, (2, 2)), tile=(16, 16)),
        "float.tif": _tiff(rng.random((9, 7), dtype=np.float32)), "rgb.tif": _tiff(rgb, photometric="rgb"),
        "stack.tif": _tiff(rng.integers(0, 256, (3, 8, 9), dtype=np.uint8)),
        "ome.tif": _tiff(rng.integers(0, 256, (2, 3, 8, 9), dtype=np.uint8), ome=True,
                         metadata={"axes": "ZCYX", "PhysicalSizeX": 0.5}),
        "imagej.tif": _tiff(rng.integers(0, 256, (2, 2, 8, 9), dtype=np.uint8), imagej=True,
                            metadata={"axes": "ZCYX"}, resolution=(2.0, 2.0)),
        "big.tif": _tiff(grey, bigtiff=True),
        "packbits.tif": _tiff(grey, compression="packbits"),
    }


def _png_chunks(data: bytes) -> list[bytes] | None:
    """Split a PNG into its chunks (with length and CRC), or None if it does not parse."""
    chunks, pos = [], 8
    while pos + 12 <= len(data):
        length = struct.unpack(">I", data[pos: pos + 4])[0]
        chunks.append(data[pos: pos + 12 + length])
        pos += 12 + length
    return chunks if chunks and pos == len(data) else None


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def mutate(data: bytes, seeds: list[bytes], rng: random.Random) -> bytes:
    """One to three random mutations of ``data``."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        kind = rng.choice(("flip", "byte", "int", "truncate", "delete", "insert", "splice", "png-chunk", "png-ihdr"))
        if not out:
            break
        head = min(len(out), rng.choice((32, 128, len(out))))  # headers matter most
        if kind == "flip":
            for _ in range(rng.randint(1, 8)):
                pos = rng.randrange(head)
                out[pos] ^= 1 << rng.randrange(8)
        elif kind == "byte":
            out[rng.randrange(head)] = rng.choice((0, 1, 0x7F, 0x80, 0xFF))
        elif kind == "int" and len(out) >= 4:
            pos, size = rng.randrange(max(1, head - 3)), rng.choice((2, 4))
            value = rng.choice(INTERESTING) & (0xFFFF if size == 2 else 0xFFFFFFFF)
            packed = value.to_bytes(size, rng.choice(("little", "big")))
            out[pos: pos + size] = packed
        elif kind == "truncate":
            del out[rng.randrange(len(out)):]
        elif kind == "delete":
            pos = rng.randrange(len(out))
            del out[pos: pos + rng.randint(1, 64)]
        elif kind == "insert":
            pos = rng.randrange(len(out))
            out[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 32)))
        elif kind == "splice":
            other = rng.choice(seeds)
            start, size = rng.randrange(len(other)), rng.randint(4, 256)
            pos = rng.randrange(len(out))
            out[pos: pos + size] = other[start: start + size]
        elif kind == "png-chunk" and (chunks := _png_chunks(bytes(out))):
            i, j = rng.randrange(len(chunks)), rng.randrange(len(chunks))
            action = rng.choice(("drop", "dup", "swap"))
            if action == "drop":
                chunks.pop(i)
            elif action == "dup":
                chunks.insert(j, chunks[i])
            else:
                chunks[i], chunks[j] = chunks[j], chunks[i]
            out = bytearray(b"\x89PNG\r\n\x1a\n" + b"".join(chunks))
        elif kind == "png-ihdr" and out.startswith(b"\x89PNG") and len(out) > 33:
            body = bytearray(out[16:29])  # width, height, depth, colour, compression, filter, interlace
            field = rng.randrange(7)
            if field < 2:
                body[4 * field: 4 * field + 4] = struct.pack(">I", rng.choice(INTERESTING) & 0xFFFFFFFF)
            else:
                body[6 + field] = rng.choice((0, 1, 2, 3, 4, 6, 8, 16, 255))
            out[8:33] = _chunk(b"IHDR", bytes(body))
    return bytes(out)


def is_finding(result: dict) -> bool:
    if result["outcome"] == "refused":
        return "memory" in result["message"]
    return result["outcome"] != "ok" or result["seconds"] > 2.0


def _probe_batch(paths: list[Path]) -> list[dict]:
    """Probe a batch; if the child dies or hangs, probe each file alone to find the culprit."""
    try:
        return probe_files(paths, timeout_s=60)
    except AssertionError as batch_error:
        if len(paths) == 1:
            return [{"file": paths[0].name, "reader": "process", "outcome": "died", "seconds": 0,
                     "message": str(batch_error)[:300]}]
        return [r for path in paths for r in _probe_batch([path])]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=300, help="time budget (default 300)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch", type=int, default=150, help="files per reader process")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", default=None, help="folder for findings (default: a temp folder)")
    args = parser.parse_args()
    out = Path(args.out or tempfile.mkdtemp(prefix="fuzz-findings-"))
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(args.seed)
    seeds = make_seeds()
    seed_bytes = list(seeds.values())
    started, tried, findings, kinds = time.monotonic(), 0, [], {}
    with tempfile.TemporaryDirectory(prefix="fuzz-") as scratch, ThreadPoolExecutor(args.workers) as pool:
        round_no = 0
        while time.monotonic() - started < args.seconds:
            batches = []
            for worker in range(args.workers):
                folder = Path(scratch) / f"r{round_no}w{worker}"
                folder.mkdir()
                batch = []
                for index in range(args.batch):
                    name = rng.choice(list(seeds))
                    path = folder / f"{index:04d}_{name}"
                    path.write_bytes(mutate(seeds[name], seed_bytes, rng))
                    batch.append(path)
                batches.append(batch)
            for batch, results in zip(batches, pool.map(_probe_batch, batches)):
                tried += len(batch)
                by_name = {p.name: p for p in batch}
                for result in filter(is_finding, results):
                    target = out / f"{len(findings):04d}_{result['file']}"
                    shutil.copyfile(by_name[result["file"]], target)
                    key = f"{result['outcome']}: {result.get('message', '')[:60]}"
                    kinds[key] = kinds.get(key, 0) + 1
                    findings.append({**result, "saved": str(target)})
                shutil.rmtree(batch[0].parent)
            round_no += 1
    summary = {"inputs_tried": tried, "reader_calls": 2 * tried, "findings": len(findings),
               "distinct": kinds, "seconds": round(time.monotonic() - started, 1), "findings_folder": str(out)}
    (out / "findings.json").write_text(json.dumps(findings, indent=2))
    print(json.dumps(summary, indent=2))
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
