#!/usr/bin/env bash
# Installs what the tests need outside Maven, only when it is missing, and fails loudly otherwise.
# Maven runs it before the tests (see pom.xml, exec-maven-plugin "test-deps"), so `mvn verify` on a
# fresh machine needs nothing else:
#  - Debian's python3-torch / python3-torchvision / python3-pil: the reference for the ResNet and
#    preprocessing parity tests (generated in the test run, never copied numbers);
#  - dataset-fashion-mnist: the real data set of the quickstart and the transfer experiment;
#  - Jupyter's nbconvert/nbclient/ipykernel, pandas, matplotlib and a pyarrow wheel (from the
#    machine's wheelhouse) to execute the notebooks headless against real job outputs.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
packages=(python3-torch python3-torchvision python3-pil dataset-fashion-mnist
          jupyter-nbconvert python3-nbclient python3-ipykernel python3-pandas python3-matplotlib python3-nbformat)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if (( ${#missing[@]} )); then
  echo "[test-deps] installing Debian packages: ${missing[*]}" >&2
  sudo_cmd=(); [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
fi
/usr/bin/python3 -c "import torch, torchvision, PIL" || { echo "[test-deps] torch/torchvision/PIL not importable by /usr/bin/python3" >&2; exit 1; }
if [[ -x "$root/notebooks/install-python-deps.sh" ]]; then
  "$root/notebooks/install-python-deps.sh"
fi
echo "[test-deps] ok" >&2
