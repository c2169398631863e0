#!/usr/bin/env bash
# Install what the compatibility suite needs beside the project's own venv, into compat/.site (git-ignored):
#   reference/  torchvision 0.28.0 for the PyTorch side (no dependencies: it runs beside the venv's torch 2.13.0)
#   common/     scikit-learn for the textbook's k-fold program (both sides), without its own NumPy, when the
#               environment lacks it (the project's `train` extra has it); six for the spatial transformer
#               tutorial's `from six.moves import urllib` (both sides)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
python="${PYTHON:-python}"
"$python" -m pip install -q --no-deps --target "$here/.site/reference" torchvision==0.28.0
if ! "$python" -c "import sklearn" 2>/dev/null; then
  "$python" -m pip install -q --target "$here/.site/common" scikit-learn
fi
if ! "$python" -c "import six" 2>/dev/null; then
  "$python" -m pip install -q --no-deps --target "$here/.site/common" six
fi
rm -rf "$here/.site/common"/numpy "$here/.site/common"/numpy-* "$here/.site/common"/numpy.libs "$here/.site/common/bin"
