"""`unet-studio doctor`: CPU facts from /proc/cpuinfo, the report, and the measured speed of a model."""

import json

import torch

from unet_studio.cli.main import main
from unet_studio.inference.config import PredictConfig
from unet_studio.models import ModelConfig
from unet_studio.runtime import precision as policy
from unet_studio.runtime.cpu import read_cpu_info
from unet_studio.training.speed_check import check_speed, tiled_pixels

EPYC = """processor	: 0
vendor_id	: AuthenticAMD
cpu family	: 25
model		: 1
model name	: AMD EPYC 7B13
cpu MHz		: 2450.000
flags		: fpu sse sse2 avx fma avx2 bmi2
processor	: 1
model name	: AMD EPYC 7B13
"""
NAPLES = """vendor_id	: AuthenticAMD
cpu family	: 23
model		: 1
model name	: AMD EPYC 7551
cpu MHz		: 2000.000
flags		: fpu sse sse2 avx fma avx2
"""
ROME = NAPLES.replace("model\t\t: 1", "model\t\t: 49").replace("7551", "7742")
XEON = """model name	: Intel(R) Xeon(R) Platinum 8480+
cpu MHz		: 2000.000
flags		: fma avx2 avx512f avx512_bf16 amx_bf16 amx_tile
"""


def test_cpu_features_and_fp32_peak_from_cpuinfo(tmp_path):
    (tmp_path / "epyc").write_text(EPYC)
    (tmp_path / "xeon").write_text(XEON)
    epyc, xeon = read_cpu_info(tmp_path / "epyc"), read_cpu_info(tmp_path / "xeon")
    assert epyc.model == "AMD EPYC 7B13" and epyc.features == ("AVX2", "FMA") and not epyc.has_native_bf16
    assert epyc.fp32_peak_gflops(threads=2) == 2 * 2.45 * 32  # two cores, 8-lane FMA x 2 units
    assert xeon.features == ("AVX2", "FMA", "AVX-512", "AVX-512 BF16", "AMX BF16") and xeon.has_native_bf16
    assert xeon.fp32_peak_gflops(threads=1) == 2.0 * 64
    assert "AVX-512 BF16" in xeon.summary()
    assert read_cpu_info(tmp_path / "missing").model  # never empty, even without /proc/cpuinfo


def test_first_zen_cores_count_half_the_avx2_flops(tmp_path):
    (tmp_path / "naples").write_text(NAPLES)
    (tmp_path / "rome").write_text(ROME)
    naples, rome = read_cpu_info(tmp_path / "naples"), read_cpu_info(tmp_path / "rome")
    assert naples.half_width_vectors and naples.fp32_peak_gflops(threads=2) == 2 * 2.0 * 16
    assert "128-bit FMA units" in naples.summary()
    assert not rome.half_width_vectors and rome.fp32_peak_gflops(threads=2) == 2 * 2.0 * 32


def test_doctor_json_names_the_machine_and_why_not_bf16(monkeypatch, capsys):
    monkeypatch.setattr(policy, "_cpu_bf16_supported", lambda: False)
    assert main(["doctor", "--device", "cpu", "--no-speed", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["device"]["chosen"] == "cpu" and report["threads"] == torch.get_num_threads()
    assert report["torch"]["version"] == torch.__version__ and report["cpu"]["model"]
    assert report["mixed_precision_support"]["bf16"] == "CPU has no native bf16 (AVX-512 BF16 / AMX)"
    assert any(line.startswith("CUDA") for line in report["devices"])


def test_doctor_text_lists_cpu_devices_and_precision(capsys):
    assert main(["doctor", "--device", "cpu", "--no-speed"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("CPU: ") and "torch " in out and "using: cpu" in out and "mixed precision: bf16" in out


def test_speed_check_measures_training_and_prediction(monkeypatch):
    monkeypatch.setattr(policy, "_cpu_bf16_supported", lambda: False)
    tiny = ModelConfig(depth=2, base_channels=4)
    speed = check_speed(torch.device("cpu"), PredictConfig(64, 16), train_steps=1, predict_side=96, model_config=tiny)
    assert speed.precision == "fp32" and speed.engine == "onnxruntime"
    assert speed.train_patches_per_s > 0 and speed.predict_megapixels_per_s > 0
    assert speed.train_gflops > 0 and speed.predict_gflops > 0


def test_tiled_pixels_count_every_overlapping_tile():
    assert tiled_pixels(1024, PredictConfig(512, 64), 16) == (3 * 384) ** 2
    assert tiled_pixels(512, PredictConfig(512, 64), 16) == 512**2
