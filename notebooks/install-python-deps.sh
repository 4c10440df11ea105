#!/usr/bin/env bash
# Installs what executing the notebooks needs, for NotebookContractTest and for analysts on Debian 12:
# Debian's Jupyter/pandas/matplotlib packages (apt, needs root) plus a pyarrow wheel in a private
# folder (Debian 12 packages no Parquet reader for Python).
#
#   notebooks/install-python-deps.sh [TARGET_DIR]     (default: target/pydeps under the repository)
#   PYTHONPATH=TARGET_DIR /usr/bin/python3 -m nbconvert --to notebook --execute notebooks/X.ipynb
#
# Idempotent: installs only what is missing. Exits non-zero, saying what failed, if anything is
# still missing afterwards. Env: PYARROW_VERSION (default 25.0.1), PYTHON (default /usr/bin/python3).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target="${1:-$root/target/pydeps}"
python="${PYTHON:-/usr/bin/python3}"
pyarrow_version="${PYARROW_VERSION:-25.0.1}"
apt_packages=(jupyter-nbconvert python3-nbclient python3-ipykernel python3-pandas python3-matplotlib python3-pip)

missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "[install-python-deps] apt-get install ${missing[*]}" >&2
  if [[ $(id -u) -ne 0 ]]; then
    echo "[install-python-deps] error: installing Debian packages needs root (missing: ${missing[*]})" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

installed="$(PYTHONPATH="$target" "$python" -c 'import pyarrow; print(pyarrow.__version__)' 2>/dev/null || true)"
if [[ "$installed" != "$pyarrow_version" ]]; then
  echo "[install-python-deps] pip install --target $target pyarrow==$pyarrow_version" >&2
  mkdir -p "$target"
  # --no-deps: numpy comes from Debian (python3-pandas), so the wheel must not bring a second one.
  "$python" -m pip install --quiet --disable-pip-version-check --upgrade --target "$target" --no-deps \
    "pyarrow==$pyarrow_version" >&2
fi

if ! PYTHONPATH="$target" "$python" -c 'import pyarrow, pandas, matplotlib, nbconvert, nbclient, ipykernel, nbformat' 2>&1; then
  echo "[install-python-deps] error: the notebook engine is still incomplete (see the import error above)" >&2
  exit 1
fi
echo "[install-python-deps] ok: $(PYTHONPATH="$target" "$python" -c 'import pyarrow, pandas, matplotlib; print("pyarrow", pyarrow.__version__, "pandas", pandas.__version__, "matplotlib", matplotlib.__version__)') in $target" >&2
