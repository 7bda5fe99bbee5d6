"""Files found by benchmarks/fuzz_readers.py that once crashed, hung or over-allocated in the readers.

Each must now read or be refused with one ImageReadError line naming it, quickly, in a child process
with an address-space limit. What each one broke is in the table below (tifffile 2026.3 / opencv 4).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability.read_probe import probe_files

CASES = Path(__file__).parent / "fuzz_cases"
WAS = {
    "f1_0003_0032_zlib.tif": "ZeroDivisionError in tifffile series parsing",
    "f1_0007_0048_grey.png": "KeyError: PNG colour type outside 0, 2, 3, 4, 6",
    "f1_0001_0015_imagej.tif": "RuntimeError from tifffile's ImageJ series",
    "f1_0011_0080_ome.tif": "ZeroDivisionError in tifffile's OME series",
    "f1_0059_0129_tiled.tif": "TypeError from tifffile on a bad tag type",
    "f1_0087_0039_plain.tif": "TypeError while opening the TIFF",
    "f1_0158_0131_stack.tif": "TypeError while opening the TIFF",
    "f1_0015_0121_grey.bmp": "cv2.error escaping from cv2.imdecode",
    "f1_0448_0113_imagej.tif": "RuntimeError from tifffile's ImageJ series",
    "f1_0057_0128_plain.tif": "TypeError in tifffile series parsing",
    "f1_0250_0098_lzw.tif": "TypeError while opening the TIFF",
    "f1_0300_0060_tiled.tif": "ValueError unpacking a damaged XResolution (now: read, no pixel size)",
    "f1_0176_0133_lzw.tif": "TypeError while opening the TIFF",
    "f1_0160_0022_imagej.tif": "TypeError while opening the TIFF",
    "f1_0354_0037_zlib.tif": "hang: 8388621 x 11 header, 1 of 645279 strips present",
    "f1_0627_0082_tiled.tif": "hang: 46 x 16711714 header, 9 of 3133449 tiles present",
    "f1_0000_0003_tiled.tif": "ZeroDivisionError while decoding tiles",
    "f1_0150_0028_stack.tif": "TypeError while opening the TIFF",
    "f1_0398_0045_imagej.tif": "RuntimeError from tifffile's ImageJ series",
    "f1_0314_0011_lzw.tif": "TypeError while decoding",
    "f1_0365_0119_lzw.tif": "3 GB allocation: strip byte count far past the end of the file",
    "f1_0682_0114_tiled.tif": "TypeError while decoding tiles",
    "f1_0712_0147_stack.tif": "TypeError while decoding",
    "f1_0861_0135_lzw.tif": "a float where the compression code should be",
    "f2_0000_0060_ome.tif": "hang: two pages linked to each other, tifffile follows the loop forever",
    "f2_0002_0058_imagej.tif": "hang: a page linked to itself",
    "f2_0008_0070_float.tif": "TypeError in our strip check: text where strip offsets should be",
    "f3_0000_0033_big.tif": "OSError from our page-chain walk seeking to a huge BigTIFF offset",
    "f3_0002_0104_big.tif": "ValueError from our page-chain walk: offset too large to seek",
    "f3_0015_0016_imagej.tif": "29.5 GiB allocation: a later page claims 3523215368 x 9 pixels",
}
READ_NOW = {"f1_0300_0060_tiled.tif"}


def test_every_saved_case_is_listed():
    assert sorted(p.name for p in CASES.iterdir()) == sorted(WAS)


@pytest.fixture(scope="module")
def outcomes():
    results = probe_files([CASES / name for name in sorted(WAS)])
    return {(r["file"], r["reader"]): r for r in results}


@pytest.mark.parametrize("name", sorted(WAS))
def test_fuzz_case_is_read_or_refused_in_one_line(outcomes, name):
    for reader in ("image_info", "read_image"):
        result = outcomes[(name, reader)]
        assert result["outcome"] in ("ok", "refused"), f"{reader}: {result} (was: {WAS[name]})"
        assert result["seconds"] < 1.0, result
        if result["outcome"] == "refused":
            assert name in result["message"] and "\n" not in result["message"]
            assert "memory" not in result["message"], result
    assert (outcomes[(name, "read_image")]["outcome"] == "ok") == (name in READ_NOW)
