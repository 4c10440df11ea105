#!/usr/bin/env bash
# Spark GPU discovery script (spark.{driver,executor}.resource.gpu.discoveryScript): prints the GPUs
# this container may use as Spark's ResourceInformation JSON, {"name":"gpu","addresses":["0","1"]}.
#
# Spark runs it once per executor start and fails the executor when it exits non-zero, so a node
# without a working NVIDIA driver fails loudly here instead of training on the CPU unnoticed.
# Addresses are nvidia-smi's indices of the devices visible in this container (Kubernetes' device
# plugin and YARN's GPU isolation expose only the allocated ones); when CUDA_VISIBLE_DEVICES is set
# (standalone workers, bare metal), only the listed devices are reported.
# NVIDIA_SMI overrides the nvidia-smi command (tests).
set -euo pipefail

smi="${NVIDIA_SMI:-nvidia-smi}"
if ! command -v "$smi" >/dev/null 2>&1; then
  echo "getGpusResources.sh: '$smi' not found on PATH: no NVIDIA driver in this container/node, cannot discover GPUs" >&2
  exit 1
fi
if ! indices="$("$smi" --query-gpu=index --format=csv,noheader 2>&1)"; then
  echo "getGpusResources.sh: '$smi --query-gpu=index' failed: $indices" >&2
  exit 1
fi

addresses=()
while IFS= read -r line; do
  line="${line//[[:space:]]/}"
  [[ -z "$line" ]] && continue
  if [[ ! "$line" =~ ^[0-9]+$ ]]; then
    echo "getGpusResources.sh: unexpected nvidia-smi output line: '$line'" >&2
    exit 1
  fi
  addresses+=("$line")
done <<< "$indices"

if [[ -n "${CUDA_VISIBLE_DEVICES:-}" ]]; then
  IFS=',' read -r -a visible <<< "$CUDA_VISIBLE_DEVICES"
  kept=()
  for a in "${addresses[@]}"; do
    for v in "${visible[@]}"; do [[ "$a" == "$v" ]] && kept+=("$a"); done
  done
  addresses=("${kept[@]+"${kept[@]}"}")
fi

if [[ ${#addresses[@]} -eq 0 ]]; then
  echo "getGpusResources.sh: nvidia-smi lists no usable GPU${CUDA_VISIBLE_DEVICES:+ (CUDA_VISIBLE_DEVICES=$CUDA_VISIBLE_DEVICES)}" >&2
  exit 1
fi

json=""
for a in "${addresses[@]}"; do json+="${json:+,}\"$a\""; done
printf '{"name":"gpu","addresses":[%s]}\n' "$json"
