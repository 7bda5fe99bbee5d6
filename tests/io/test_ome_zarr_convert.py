"""`convert`: any readable image -> an OME-Zarr pyramid (mean 2 x 2 levels until under one chunk), read back
through the lazy source; big TIFFs are read region by region; outputs never replace what exists."""

import cv2
import numpy as np
import pytest
import tifffile

from unet_studio.cli.main import main
from unet_studio.core.errors import StudioError
from unet_studio.core.images import read_image
from unet_studio.io import multiscale_image
from unet_studio.io.ome_zarr import open_multiscale
from unet_studio.io.ome_zarr_convert import convert_to_ome_zarr
from unet_studio.io.ome_zarr_write import downsample_mean, level_shapes

pytest.importorskip("zarr")


def test_levels_halve_until_under_one_chunk():
    assert level_shapes(5000, 3000, 1024) == [(5000, 3000), (2500, 1500), (1250, 750), (625, 375)]
    assert level_shapes(1000, 1000, 1024) == [(1000, 1000)]


def test_mean_downsampling_rounds_and_repeats_the_odd_edge():
    block = np.array([[0, 1, 10], [2, 3, 20], [4, 4, 30]], np.uint8)
    np.testing.assert_array_equal(downsample_mean(block), [[2, 15], [4, 30]])


@pytest.mark.parametrize("ngff", ["0.4", "0.5"])
def test_tiff_round_trip_reads_regions_only(tmp_path, monkeypatch, ngff):
    image = np.random.default_rng(0).integers(0, 65535, (300, 200), dtype=np.uint16)
    source = tmp_path / "big.tif"
    tifffile.imwrite(source, image, tile=(64, 64), resolution=(1 / 0.65, 1 / 0.65), metadata={"unit": "um"},
                     imagej=True)
    regions = []
    original = multiscale_image.MultiscaleImage.read

    def recording(self, level, y0, y1, x0, x1):
        regions.append((y1 - y0) * (x1 - x0))
        return original(self, level, y0, y1, x0, x1)

    monkeypatch.setattr(multiscale_image.MultiscaleImage, "read", recording)
    out = convert_to_ome_zarr(source, tmp_path / "big.ome.zarr", chunk=64, ngff=ngff)
    monkeypatch.undo()
    assert max(regions) <= 64 * 64 and len(regions) == 5 * 4
    with open_multiscale(out) as lazy:
        assert lazy.levels == ((300, 200), (150, 100), (75, 50), (38, 25))
        assert lazy.dtype == np.uint16 and lazy.pixel_size_um == pytest.approx(0.65)
        np.testing.assert_array_equal(lazy.read(0, 0, 300, 0, 200), image)
        np.testing.assert_array_equal(lazy.read(1, 0, 150, 0, 100), downsample_mean(image))
        np.testing.assert_array_equal(lazy.read(2, 0, 75, 0, 50), downsample_mean(downsample_mean(image)))
    assert not list(tmp_path.glob(".*tmp-*"))


def test_rgb_png_through_the_cli_and_existing_output_refused(tmp_path, capsys):
    rgb = np.random.default_rng(1).integers(0, 255, (90, 130, 3), dtype=np.uint8)
    source = tmp_path / "rgb.png"
    cv2.imwrite(str(source), rgb[:, :, ::-1])
    out = tmp_path / "rgb.ome.zarr"
    assert main(["convert", str(source), "--out", str(out), "--chunk", "32", "--ngff", "0.5"]) == 0
    with open_multiscale(out) as lazy:
        assert lazy.channels == 3 and lazy.channel_names == ("red", "green", "blue")
        np.testing.assert_array_equal(lazy.read(0, 0, 90, 0, 130), read_image(source).pixels)
    assert main(["convert", str(source), "--out", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err
    with pytest.raises(StudioError, match="must end in .ome.zarr"):
        convert_to_ome_zarr(source, tmp_path / "x.tif")


def test_metadata_is_read_by_ome_zarr_py(tmp_path):
    reader = pytest.importorskip("ome_zarr.reader")
    io = pytest.importorskip("ome_zarr.io")
    image = np.arange(100 * 80, dtype=np.uint16).reshape(100, 80)
    source = tmp_path / "a.tif"
    tifffile.imwrite(source, image)
    out = convert_to_ome_zarr(source, tmp_path / "a.ome.zarr", chunk=32)
    nodes = list(reader.Reader(io.parse_url(str(out)))())
    data = nodes[0].data
    assert len(data) == 3 and tuple(data[0].shape) == (100, 80)
    np.testing.assert_array_equal(np.asarray(data[0]), image)
