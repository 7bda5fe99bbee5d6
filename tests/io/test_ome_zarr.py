"""The lazy multiscale source: OME-Zarr 0.4 (zarr v2) and 0.5 (zarr v3) folders built here by hand from the
NGFF spec, and pyramidal / tiled TIFFs; levels, scales, pixel size, channels, region reads."""

import numpy as np
import pytest
import tifffile

from unet_studio.core.errors import ImageReadError
from unet_studio.io.ome_zarr import is_multiscale_path, open_multiscale

zarr = pytest.importorskip("zarr")


def _pyramid(image: np.ndarray, n_levels: int) -> list[np.ndarray]:
    """Level i = image[..., ::2**i, ::2**i] (axes last two Y, X)."""
    return [image[..., :: 2**i, :: 2**i] for i in range(n_levels)]


def _write_ngff(folder, image, axes, version, pixel_um=0.25, chunks=32, channel_labels=None):
    """An OME-Zarr image written with plain zarr and NGFF metadata as the 0.4 / 0.5 spec spells it."""
    zarr_format = 2 if version == "0.4" else 3
    group = zarr.open_group(str(folder), mode="w", zarr_format=zarr_format)
    datasets = []
    for i, level in enumerate(_pyramid(image, 3)):
        array = group.create_array(str(i), shape=level.shape, dtype=level.dtype,
                                   chunks=tuple(1 if a in "tcz" else chunks for a in axes))
        array[...] = level
        scale = [2.0**i * pixel_um if a in "yx" else 1.0 for a in axes]
        datasets.append({"path": str(i), "coordinateTransformations": [{"type": "scale", "scale": scale}]})
    kinds = {"t": "time", "c": "channel", "z": "space", "y": "space", "x": "space"}
    ngff_axes = [{"name": a, "type": kinds[a], **({"unit": "micrometer"} if a in "yx" else {})} for a in axes]
    multiscales = [{"version": version, "name": "test", "axes": ngff_axes, "datasets": datasets}] if version == "0.4" \
        else [{"name": "test", "axes": ngff_axes, "datasets": datasets}]
    attrs = {"multiscales": multiscales}
    if channel_labels:
        attrs["omero"] = {"channels": [{"label": name, "color": "FFFFFF"} for name in channel_labels]}
    group.attrs.update(attrs if version == "0.4" else {"ome": {"version": "0.5", **attrs}})
    return folder


@pytest.fixture
def gray():
    rng = np.random.default_rng(0)
    return rng.integers(0, 65535, (200, 150), dtype=np.uint16)


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_ome_zarr_levels_scale_pixel_size_and_regions(tmp_path, gray, version):
    folder = _write_ngff(tmp_path / "a.ome.zarr", gray, "yx", version)
    assert is_multiscale_path(folder)
    with open_multiscale(folder) as image:
        assert image.levels == ((200, 150), (100, 75), (50, 38))
        assert [image.level_scale(i) for i in range(3)] == [1.0, 2.0, 4.0]
        assert image.channels == 1 and image.dtype == np.uint16
        assert image.pixel_size_um == pytest.approx(0.25)
        np.testing.assert_array_equal(image.read(0, 10, 50, 20, 90), gray[10:50, 20:90])
        np.testing.assert_array_equal(image.read(1, 5, 30, 0, 75), gray[::2, ::2][5:30])
        np.testing.assert_array_equal(image.read(2, 40, 999, 30, 999), gray[::4, ::4][40:, 30:])  # clipped
        assert image.read(0, 300, 400, 0, 10).shape == (0, 0)
        assert image.level_for_scale(3.0) == 1 and image.level_for_scale(0.5) == 0


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_ome_zarr_channels_come_last_and_other_axes_read_at_zero(tmp_path, version):
    rng = np.random.default_rng(1)
    image = rng.integers(0, 255, (2, 3, 2, 64, 80), dtype=np.uint8)  # t, c, z, y, x
    folder = _write_ngff(tmp_path / "b.ome.zarr", image, "tczyx", version, channel_labels=["dapi", "gfp", "rfp"])
    with open_multiscale(folder) as lazy:
        assert lazy.channels == 3 and lazy.levels[0] == (64, 80)
        assert lazy.channel_names == ("dapi", "gfp", "rfp")
        region = lazy.read(0, 8, 40, 16, 70)
        assert region.shape == (32, 54, 3)
        np.testing.assert_array_equal(region, np.moveaxis(image[0, :, 0, 8:40, 16:70], 0, -1))


def test_a_region_read_decodes_only_the_chunks_it_overlaps(tmp_path, gray):
    """Chunks outside the region are overwritten with garbage: reading the region must not touch them."""
    folder = _write_ngff(tmp_path / "c.ome.zarr", gray, "yx", "0.5")
    chunk_files = [p for p in (folder / "0" / "c").rglob("*") if p.is_file()]
    region_chunks = {folder / "0" / "c" / "0" / "0"}
    for path in chunk_files:
        if path not in region_chunks:
            path.write_bytes(b"not a chunk")
    with open_multiscale(folder) as image:
        np.testing.assert_array_equal(image.read(0, 0, 32, 0, 32), gray[:32, :32])
        with pytest.raises(ImageReadError, match="cannot read level 0 region"):
            image.read(0, 0, 64, 0, 64)


def test_pyramidal_ome_tiff_is_read_level_by_level(tmp_path, gray):
    path = tmp_path / "slide.ome.tif"
    with tifffile.TiffWriter(path, ome=True) as writer:
        writer.write(gray, subifds=2, tile=(64, 64), metadata={"PhysicalSizeX": 0.5, "PhysicalSizeY": 0.5})
        for level in _pyramid(gray, 3)[1:]:
            writer.write(level, subfiletype=1, tile=(64, 64))
    assert is_multiscale_path(path)
    with open_multiscale(path) as image:
        assert image.levels == ((200, 150), (100, 75), (50, 38))
        assert image.level_scale(2) == pytest.approx(150 / 38)
        assert image.pixel_size_um == pytest.approx(0.5)
        np.testing.assert_array_equal(image.read(1, 30, 90, 10, 60), gray[::2, ::2][30:90, 10:60])


def test_tiled_rgb_tiff_has_channels_last(tmp_path):
    rgb = np.random.default_rng(2).integers(0, 255, (96, 128, 3), dtype=np.uint8)
    path = tmp_path / "rgb.tif"
    tifffile.imwrite(path, rgb, tile=(32, 32), photometric="rgb")
    assert not is_multiscale_path(path)  # small and single-level: the ordinary reader is enough
    with open_multiscale(path) as image:
        assert image.levels == ((96, 128),) and image.channels == 3
        np.testing.assert_array_equal(image.read(0, 10, 70, 40, 100), rgb[10:70, 40:100])


def test_ordinary_paths_and_bad_stores_say_why(tmp_path):
    plain = tmp_path / "plain.zarr"
    zarr.open_group(str(plain), mode="w")
    assert not is_multiscale_path(plain)
    assert not is_multiscale_path(tmp_path / "missing.ome.zarr")
    with pytest.raises(ImageReadError, match="no multiscales metadata"):
        open_multiscale(plain)
    with pytest.raises(ImageReadError, match="file not found"):
        open_multiscale(tmp_path / "missing.ome.zarr")
    broken = _write_ngff(tmp_path / "broken.ome.zarr", np.zeros((40, 40), np.uint8), "yx", "0.4")
    import shutil
    shutil.rmtree(broken / "1")
    with pytest.raises(ImageReadError, match="broken.ome.zarr: cannot read OME-Zarr metadata"):
        open_multiscale(broken)
