#!/usr/bin/env bash
# Set up UNet Studio in ./.venv. Used by the README's quick start and by CI, so both stay the same.
#   bash .ci/setup.sh          the application
#   bash .ci/setup.sh --dev    plus the test tools
# On a machine without an NVIDIA GPU the CPU build of torch is installed first (a plain `torch` would pull
# several GB of CUDA packages). With a GPU, pip picks the CUDA build. Set UNET_STUDIO_TORCH to override,
# e.g. UNET_STUDIO_TORCH="torch==2.13.0".
set -euo pipefail
cd "$(dirname "$0")/.."
extras=""
[ "${1:-}" = "--dev" ] && extras="[dev]"
python3 -m venv .venv
py=.venv/bin/python
if [ -n "${UNET_STUDIO_TORCH:-}" ]; then
  torch_spec="$UNET_STUDIO_TORCH"
elif command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  torch_spec="torch"
else
  torch_spec="torch==2.13.0"
fi
if ! "$py" -c "import torch" >/dev/null 2>&1; then
  echo "setup: installing $torch_spec" >&2
  "$py" -m pip install --quiet --disable-pip-version-check "$torch_spec"
fi
"$py" -m pip install --quiet --disable-pip-version-check -e ".$extras"
echo "setup: ready ($("$py" -c 'import torch; print("torch", torch.__version__)'))" >&2
