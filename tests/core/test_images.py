"""Reading real files of every supported format, and one-line errors for every kind of bad file."""

import struct
import time
import zlib

import cv2
import numpy as np
import pytest
import tifffile
from PIL import Image

from unet_studio.core.errors import ImageReadError
from unet_studio.core.images import IMAGE_SUFFIXES, image_info, list_images, read_image


def _rgb(h=20, w=30, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_with_header(path, width, height):
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr)
    path.write_bytes(data + _png_chunk(b"IDAT", zlib.compress(b"\0" * 64)) + _png_chunk(b"IEND", b""))
    return path


@pytest.mark.parametrize("suffix", [".png", ".bmp"])
def test_lossless_rgb_round_trips_in_rgb_order(tmp_path, suffix):
    rgb = _rgb()
    path = tmp_path / f"a{suffix}"
    cv2.imwrite(str(path), rgb[:, :, ::-1])
    image = read_image(path)
    assert image.pixels.dtype == np.uint8 and image.pixels.shape == (20, 30, 3)
    np.testing.assert_array_equal(image.pixels, rgb)
    assert image.channel_names == ("red", "green", "blue") and image.n_planes == 1
    info = image_info(path)
    assert (info.height, info.width, info.channels, info.n_planes) == (20, 30, 3, 1)


def test_jpeg_colour_and_grey(tmp_path):
    colour = np.zeros((16, 16, 3), np.uint8)
    colour[..., 0] = 200
    cv2.imwrite(str(tmp_path / "c.jpg"), colour[:, :, ::-1])
    cv2.imwrite(str(tmp_path / "g.jpeg"), np.full((16, 16), 90, np.uint8))
    red = read_image(tmp_path / "c.jpg").pixels
    assert red.shape == (16, 16, 3) and abs(int(red[..., 0].mean()) - 200) < 4 and red[..., 2].mean() < 4
    grey = read_image(tmp_path / "g.jpeg").pixels
    assert grey.shape == (16, 16, 1) and abs(int(grey.mean()) - 90) < 3


def test_png_16_bit_grey_keeps_dtype(tmp_path):
    data = np.arange(40 * 50, dtype=np.uint16).reshape(40, 50) * 31
    cv2.imwrite(str(tmp_path / "a.png"), data)
    image = read_image(tmp_path / "a.png")
    assert image.pixels.dtype == np.uint16
    np.testing.assert_array_equal(image.pixels[..., 0], data)
    assert image_info(tmp_path / "a.png").dtype == "uint16"


def test_palette_png_becomes_rgb_and_one_bit_becomes_0_255(tmp_path):
    palette = Image.fromarray(_rgb()).convert("P")
    palette.save(tmp_path / "p.png")
    Image.fromarray(np.eye(8, dtype=bool)).save(tmp_path / "b.png")
    assert read_image(tmp_path / "p.png").pixels.shape == (20, 30, 3)
    one_bit = read_image(tmp_path / "b.png").pixels
    assert one_bit.dtype == np.uint8 and set(np.unique(one_bit)) == {0, 255}
    np.testing.assert_array_equal(one_bit[..., 0] == 255, np.eye(8, dtype=bool))


def test_alpha_is_dropped_and_header_agrees(tmp_path):
    rgba = np.dstack([_rgb(), np.full((20, 30), 7, np.uint8)])
    cv2.imwrite(str(tmp_path / "a.png"), rgba[:, :, [2, 1, 0, 3]])
    image = read_image(tmp_path / "a.png")
    np.testing.assert_array_equal(image.pixels, rgba[..., :3])
    assert image_info(tmp_path / "a.png").channels == 3


@pytest.mark.parametrize("shape", [(1, 1), (1, 20000), (20000, 1)])
def test_tiny_and_thin_images_load(tmp_path, shape):
    cv2.imwrite(str(tmp_path / "a.png"), np.full(shape, 5, np.uint8))
    assert read_image(tmp_path / "a.png").pixels.shape == (*shape, 1)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16, np.float32, np.float64])
def test_tiff_dtypes_are_kept(tmp_path, dtype):
    data = (np.arange(24 * 16).reshape(24, 16) % 200).astype(dtype)
    tifffile.imwrite(tmp_path / "a.tif", data)
    image = read_image(tmp_path / "a.tif")
    assert image.pixels.dtype == dtype
    np.testing.assert_array_equal(image.pixels[..., 0], data)


def test_tiff_rgb_and_multichannel(tmp_path):
    tifffile.imwrite(tmp_path / "rgb.tif", _rgb(), photometric="rgb")
    five = np.random.default_rng(1).integers(0, 4000, (5, 12, 14)).astype(np.uint16)
    tifffile.imwrite(tmp_path / "five.tif", five, photometric="minisblack", planarconfig="separate")
    np.testing.assert_array_equal(read_image(tmp_path / "rgb.tif").pixels, _rgb())
    image = read_image(tmp_path / "five.tif")
    np.testing.assert_array_equal(image.pixels, np.moveaxis(five, 0, -1))
    assert image.channel_names[0] == "channel 1" and len(image.channel_names) == 5


def test_plain_stack_reads_the_chosen_plane(tmp_path):
    stack = np.arange(4 * 8 * 9, dtype=np.uint16).reshape(4, 8, 9)
    tifffile.imwrite(tmp_path / "s.tif", stack, photometric="minisblack")
    image = read_image(tmp_path / "s.tif", plane=2)
    assert image.n_planes == 4 and image.plane == 2
    np.testing.assert_array_equal(image.pixels[..., 0], stack[2])
    with pytest.raises(ImageReadError, match=r"s\.tif: plane 4 out of range \(the file has 4 plane"):
        read_image(tmp_path / "s.tif", plane=4)


def test_ome_tiff_channels_planes_and_pixel_size(tmp_path):
    data = np.arange(2 * 3 * 4 * 10 * 12, dtype=np.float32).reshape(2, 3, 4, 10, 12)
    meta = {"axes": "TCZYX", "PhysicalSizeX": 0.5, "PhysicalSizeXUnit": "nm", "Channel": {"Name": ["a", "b", "c"]}}
    tifffile.imwrite(tmp_path / "x.ome.tif", data, ome=True, metadata=meta)
    image = read_image(tmp_path / "x.ome.tif", plane=6)  # planes run over T then Z: t=1, z=2
    np.testing.assert_array_equal(image.pixels, np.moveaxis(data[1, :, 2], 0, -1))
    assert image.n_planes == 8 and image.channel_names == ("a", "b", "c")
    assert image.pixel_size_um == pytest.approx(0.0005)
    assert image_info(tmp_path / "x.ome.tif").n_planes == 8


def test_imagej_hyperstack_and_resolution(tmp_path):
    data = np.arange(2 * 3 * 2 * 6 * 7, dtype=np.uint16).reshape(2, 3, 2, 6, 7)
    tifffile.imwrite(tmp_path / "ij.tif", data, imagej=True, resolution=(4.0, 4.0),
                     metadata={"axes": "TZCYX", "unit": "um"})
    image = read_image(tmp_path / "ij.tif", plane=4)
    np.testing.assert_array_equal(image.pixels, np.moveaxis(data[1, 1], 0, -1))
    assert image.pixel_size_um == pytest.approx(0.25) and image.n_planes == 6


def test_tiff_resolution_in_centimetres(tmp_path):
    tifffile.imwrite(tmp_path / "a.tif", np.zeros((4, 4), np.uint8), resolution=(20000, 20000),
                     resolutionunit="CENTIMETER")
    assert image_info(tmp_path / "a.tif").pixel_size_um == pytest.approx(0.5)
    tifffile.imwrite(tmp_path / "b.tif", np.zeros((4, 4), np.uint8))
    assert read_image(tmp_path / "b.tif").pixel_size_um is None


def test_non_finite_floats_load(tmp_path):
    tifffile.imwrite(tmp_path / "a.tif", np.array([[np.nan, np.inf], [1, -np.inf]], np.float32))
    pixels = read_image(tmp_path / "a.tif").pixels
    assert np.isnan(pixels[0, 0, 0]) and np.isposinf(pixels[0, 1, 0]) and pixels[1, 0, 0] == 1


def test_list_images_by_suffix_sorted(tmp_path):
    for name in ["b.PNG", "a.ome.tif", "c.tiff", "d.txt", ".hidden.png", "e.jpeg"]:
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "sub.png").mkdir()
    assert [p.name for p in list_images(tmp_path)] == ["a.ome.tif", "b.PNG", "c.tiff", "e.jpeg"]
    assert ".tif" in IMAGE_SUFFIXES
    with pytest.raises(ImageReadError, match="folder not found"):
        list_images(tmp_path / "nope")


def _bad_files(tmp_path):
    """(file, expected reason) for every kind of bad input."""
    good_png = tmp_path / "good.png"
    cv2.imwrite(str(good_png), _rgb(64, 64))
    cv2.imwrite(str(tmp_path / "good.jpg"), _rgb(64, 64))
    cv2.imwrite(str(tmp_path / "good.bmp"), _rgb(64, 64))
    tifffile.imwrite(tmp_path / "good.tif", np.arange(64 * 64, dtype=np.uint16).reshape(64, 64), compression="zlib")
    cases = {"empty.png": (b"", "empty file"), "text.png": (b"hello, I am text\n", "not a PNG image"),
             "text.tif": (b"just some words here", "not a TIFF image"), "notes.txt": (b"x", "unsupported file type")}
    for name, (data, _) in cases.items():
        (tmp_path / name).write_bytes(data)
    for name in ["good.png", "good.jpg", "good.bmp", "good.tif"]:
        data = (tmp_path / name).read_bytes()
        (tmp_path / f"cut_{name}").write_bytes(data[: len(data) // 2])
    tifffile.imwrite(tmp_path / "many.tif", np.zeros((8, 8, 100), np.uint8), photometric="minisblack",
                     planarconfig="contig")
    expected = {name: reason for name, (_, reason) in cases.items()}
    expected |= {f"cut_good.{ext}": "truncated" for ext in ["png", "jpg", "bmp"]}
    expected |= {"cut_good.tif": "corrupt", "many.tif": "100 channels", "missing.png": "file not found",
                 _png_with_header(tmp_path / "bomb.png", 200000, 200000).name: "too large",
                 _png_with_header(tmp_path / "zero.png", 0, 10).name: "zero-size side"}
    return expected


def test_every_bad_file_gives_one_line_error_naming_it(tmp_path):
    for name, reason in _bad_files(tmp_path).items():
        for reader in (read_image, image_info):
            if reader is image_info and name.startswith("cut_"):
                continue  # headers of truncated files may be intact: only decoding notices
            started = time.perf_counter()
            with pytest.raises(ImageReadError) as info:
                reader(tmp_path / name)
            message = str(info.value)
            assert name in message and reason in message and "\n" not in message, message
            assert time.perf_counter() - started < 1.0, name


def test_tiff_resolution_in_micrometres(tmp_path):
    tifffile.imwrite(tmp_path / "um.tif", np.zeros((4, 4), np.uint16), resolution=(4.0, 4.0),
                     resolutionunit="MICROMETER")
    assert read_image(tmp_path / "um.tif").pixel_size_um == pytest.approx(0.25)
