#!/usr/bin/env bash
# Spark GPU discovery script (spark.{driver,executor}.resource.gpu.discoveryScript): prints the GPUs
# this container may use as Spark's ResourceInformation JSON, {"name":"gpu","addresses":["0","1"]}.
#
# Spark runs it once per executor start and fails the executor when it exits non-zero, so a node
# without a working NVIDIA driver fails loudly here instead of training on the CPU unnoticed.
# Addresses are nvidia-smi's indices of the devices visible in this container (Kubernetes' device
# plugin and YARN's GPU isolation expose only the allocated ones); when CUDA_VISIBLE_DEVICES is set
# (standalone workers, bare metal), only the listed devices are reported.
#
# It also fails when a GPU cannot run the GPU jar's kernels: nd4j-cuda-11.6 1.0.0-M2.1 (the newest ND4J
# CUDA build on Maven Central) carries machine code for sm_37 to sm_86 and no PTX, so the driver has
# nothing to compile for a newer major architecture (Hopper H100/H200 are 9.0): without this check the
# executor would start and the first CUDA kernel would fail ("no kernel image is available"). A GPU of
# compute capability X.Y runs code built for X.Z with Z <= Y. ND4J_CUDA_SASS overrides the list (a jar
# built with another ND4J). Drivers too old to report compute_cap skip the check, with a warning.
# NVIDIA_SMI overrides the nvidia-smi command (tests).
set -euo pipefail

smi="${NVIDIA_SMI:-nvidia-smi}"
sass="${ND4J_CUDA_SASS:-37 50 52 60 61 70 75 80 86}"
if ! command -v "$smi" >/dev/null 2>&1; then
  echo "getGpusResources.sh: '$smi' not found on PATH: no NVIDIA driver in this container/node, cannot discover GPUs" >&2
  exit 1
fi
if ! listing="$("$smi" --query-gpu=index,compute_cap --format=csv,noheader 2>/dev/null)"; then
  if ! listing="$("$smi" --query-gpu=index --format=csv,noheader 2>&1)"; then
    echo "getGpusResources.sh: '$smi --query-gpu=index' failed: $listing" >&2
    exit 1
  fi
  echo "getGpusResources.sh: warning: '$smi' does not report compute_cap (driver older than R510?): not checking that the GPUs can run ND4J's CUDA kernels" >&2
fi

# Whether compute capability MAJOR.MINOR can run code built for one of $sass.
runs_kernels() {
  local major="$1" minor="$2" arch
  for arch in $sass; do
    if [[ "${arch:0:${#arch}-1}" == "$major" && "${arch: -1}" -le "$minor" ]]; then
      return 0
    fi
  done
  return 1
}

addresses=()
declare -A capability=()
while IFS= read -r line; do
  line="${line//[[:space:]]/}"
  [[ -z "$line" ]] && continue
  if [[ ! "$line" =~ ^([0-9]+)(,[0-9]+\.[0-9]+)?$ ]]; then
    echo "getGpusResources.sh: unexpected nvidia-smi output line: '$line'" >&2
    exit 1
  fi
  addresses+=("${BASH_REMATCH[1]}")
  capability["${BASH_REMATCH[1]}"]="${BASH_REMATCH[2]#,}"
done <<< "$listing"

if [[ -n "${CUDA_VISIBLE_DEVICES:-}" ]]; then
  IFS=',' read -r -a visible <<< "$CUDA_VISIBLE_DEVICES"
  kept=()
  for a in "${addresses[@]}"; do
    for v in "${visible[@]}"; do [[ "$a" == "$v" ]] && kept+=("$a"); done
  done
  addresses=("${kept[@]+"${kept[@]}"}")
fi

for a in "${addresses[@]+"${addresses[@]}"}"; do
  cc="${capability[$a]}"
  if [[ -n "$cc" ]] && ! runs_kernels "${cc%.*}" "${cc#*.}"; then
    echo "getGpusResources.sh: GPU $a has compute capability $cc, which ND4J's CUDA kernels do not support (machine code for sm_${sass// /, sm_}; no PTX): run these executors on GPUs that one of those covers (same major version, minor at least as high; e.g. A100 8.0, A10 8.6, L4 8.9), or on CPU executors" >&2
    exit 1
  fi
done

if [[ ${#addresses[@]} -eq 0 ]]; then
  echo "getGpusResources.sh: nvidia-smi lists no usable GPU${CUDA_VISIBLE_DEVICES:+ (CUDA_VISIBLE_DEVICES=$CUDA_VISIBLE_DEVICES)}" >&2
  exit 1
fi

json=""
for a in "${addresses[@]}"; do json+="${json:+,}\"$a\""; done
printf '{"name":"gpu","addresses":[%s]}\n' "$json"
