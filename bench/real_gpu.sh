#!/usr/bin/env bash
# Validate and profile the GPU path on a machine with a real GPU, and keep the results in the repo.
#
#   bench/real_gpu.sh pack   here, with the npm registry reachable: writes .gpu_carry/ (ignored):
#                            deno.xz (this Deno, xz-compressed), node_modules.tar.xz (the npm
#                            packages the profile imports) and the Vulkan loader .debs under .gl/
#   bench/real_gpu.sh [run]  there, without internet: unpacks what pack wrote, makes the Vulkan
#                            loader available, runs `deno task calibrate --tune` (cache in
#                            <out>/cache), `deno task validate` and
#                            `deno task profile --seq-lens $SEQ_LENS --out bench/results/<adapter>/`,
#                            and writes the logs and an environment note beside the profile's files
#
# Environment (run):
#   SEQ_LENS        lengths of the profile            (default 10,100,1000,4096,10000,16384)
#   PROFILE_ARGS    more profile flags, e.g. "--runs 5 --devices gpu"   (default none)
#   VALIDATE_ARGS   flags of validate, e.g. "--seed 7"                   (default none)
#   OUT_ROOT        where the adapter folder goes     (default bench/results)
#   DENO            a deno binary to use instead of .gpu_carry/deno.xz or the PATH's
#   SKIP_VALIDATE=1 profile only
#   DENO_WEBGPU_BACKEND, VK_DRIVER_FILES: passed through (see the device notes)
#
# Exit status: 0 when validation and profile both succeeded, else the first non-zero status
# (1 a mismatch or GPU fault, 2 no adapter or bad flags); results written so far are kept.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
CARRY="$ROOT/.gpu_carry"
GL="$ROOT/.gl"
MODE="${1:-run}"

log() { printf 'real_gpu: %s\n' "$*" >&2; }

exclude_locally() { # keep a folder out of git without touching tracked files
  local pattern="$1" exclude="$ROOT/.git/info/exclude"
  [ -d "$ROOT/.git" ] || return 0
  mkdir -p "$(dirname "$exclude")"
  grep -qxF "$pattern" "$exclude" 2>/dev/null || echo "$pattern" >>"$exclude"
}

pack() {
  exclude_locally "/.gpu_carry/"
  exclude_locally "/.gl/"
  mkdir -p "$CARRY"
  local deno_bin
  deno_bin="$(command -v deno)" || { log "no deno on PATH to pack"; exit 2; }
  deno_bin="$(readlink -f "$deno_bin")"
  log "packing $deno_bin ($(deno --version | head -1))"
  xz -T0 -6 -c "$deno_bin" >"$CARRY/deno.xz.tmp" && mv "$CARRY/deno.xz.tmp" "$CARRY/deno.xz"
  log "installing and packing the npm packages (node_modules)"
  deno install --quiet
  tar -C "$ROOT" -cf - node_modules | xz -T0 -6 >"$CARRY/node_modules.tar.xz.tmp"
  mv "$CARRY/node_modules.tar.xz.tmp" "$CARRY/node_modules.tar.xz"
  if command -v apt-get >/dev/null; then
    log "downloading the Vulkan loader .debs into .gl/"
    local lists=/tmp/real_gpu_apt_lists
    local o="-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=$lists"
    mkdir -p "$GL" "$lists/partial"
    # shellcheck disable=SC2086
    apt-get $o update >/dev/null && (cd "$GL" && apt-get $o download libvulkan1 >/dev/null) ||
      log "could not download libvulkan1: bring the loader another way"
  fi
  du -sh "$CARRY" "$GL" 2>/dev/null | sed 's/^/real_gpu: /' >&2
  log "carry .gpu_carry and .gl with the working tree, then run: bench/real_gpu.sh run"
}

find_deno() {
  if [ -n "${DENO:-}" ]; then
    echo "$DENO"
  elif [ -f "$CARRY/deno.xz" ]; then
    local bin="$CARRY/bin/deno"
    if [ ! -x "$bin" ] || [ "$CARRY/deno.xz" -nt "$bin" ]; then
      mkdir -p "$CARRY/bin"
      xz -dc "$CARRY/deno.xz" >"$bin.tmp" && chmod +x "$bin.tmp" && mv "$bin.tmp" "$bin"
    fi
    echo "$bin"
  elif command -v deno >/dev/null; then
    command -v deno
  else
    log "no Deno: run 'bench/real_gpu.sh pack' where Deno is installed, or set DENO"
    exit 2
  fi
}

setup_vulkan() {
  if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1'; then
    if compgen -G "$GL/*.deb" >/dev/null; then
      if [ "$(id -u)" -eq 0 ]; then
        log "unpacking the Vulkan loader from .gl/"
        for f in "$GL"/*.deb; do dpkg -x "$f" /; done
        ldconfig
      else
        log "unpacking the Vulkan loader from .gl/ into .gl/root (not root)"
        for f in "$GL"/*.deb; do dpkg -x "$f" "$GL/root"; done
        export LD_LIBRARY_PATH="$GL/root/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
      fi
    else
      log "no Vulkan loader (libvulkan.so.1) and no .debs in .gl/: WebGPU may find no adapter"
    fi
  fi
  local nvidia_icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f "$nvidia_icd" ] &&
    ! ls /usr/share/vulkan/icd.d/nvidia_icd*.json /etc/vulkan/icd.d/nvidia_icd*.json >/dev/null 2>&1; then
    export VK_DRIVER_FILES="$nvidia_icd"
  fi
  if [ -z "${XDG_RUNTIME_DIR:-}" ] || [ ! -d "$XDG_RUNTIME_DIR" ]; then
    XDG_RUNTIME_DIR="$(mktemp -d)"
    chmod 700 "$XDG_RUNTIME_DIR"
    export XDG_RUNTIME_DIR
  fi
}

run() {
  local deno
  deno="$(find_deno)"
  export PATH="$(dirname "$deno"):$PATH" DENO_NO_UPDATE_CHECK=1
  if [ -f "$CARRY/node_modules.tar.xz" ] &&
    { [ ! -d "$ROOT/node_modules" ] || [ "$CARRY/node_modules.tar.xz" -nt "$ROOT/node_modules" ]; }; then
    log "unpacking node_modules"
    rm -rf "$ROOT/node_modules"
    xz -dc "$CARRY/node_modules.tar.xz" | tar -C "$ROOT" -xf -
    touch "$ROOT/node_modules"
  fi
  setup_vulkan

  local adapter
  # the same backends the profiler loads (src/gpu/backends.ts)
  adapter="$("$deno" eval --quiet 'import { selectWebGpuBackends } from "./src/gpu/backends.ts";
    selectWebGpuBackends();
    const a = await navigator.gpu?.requestAdapter();
    console.log(a ? (a.info.description || a.info.vendor || "unknown-gpu") : "")' 2>/dev/null || true)"
  if [ -z "$adapter" ]; then
    log "WebGPU found no adapter (Vulkan loader and driver? VK_DRIVER_FILES?)"
    exit 2
  fi
  local slug
  slug="$(printf '%s' "$adapter" | tr '[:upper:]' '[:lower:]' | sed -E 's/[^a-z0-9]+/-/g; s/^-+|-+$//g' | cut -c1-60)"
  local out="${OUT_ROOT:-bench/results}/$slug"
  mkdir -p "$out"
  log "adapter: $adapter -> $out"

  {
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "adapter: $adapter"
    echo "git: $(git rev-parse HEAD 2>/dev/null || echo unknown)"
    "$deno" --version
    uname -a
    command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
    echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-} DENO_WEBGPU_BACKEND=${DENO_WEBGPU_BACKEND:-}"
    echo "SEQ_LENS=${SEQ_LENS:-10,100,1000,4096,10000,16384} PROFILE_ARGS=${PROFILE_ARGS:-}"
  } >"$out/environment.txt" 2>&1 || true

  local status=0
  # tuning and calibration first, cached beside the results: validate then checks the tuned
  # kernels, and the profile reports each stage's share of this GPU's ceilings
  export SELF_ATTENTION_PROFILER_CACHE_DIR="$out/cache"
  log "deno task calibrate --tune"
  set +e
  "$deno" task calibrate --tune 2>&1 | tee "$out/calibrate.txt"
  local calibrate_status=${PIPESTATUS[0]}
  set -e
  [ "$calibrate_status" -eq 0 ] || log "calibrate exited $calibrate_status"
  if [ "${SKIP_VALIDATE:-0}" != 1 ]; then
    log "deno task validate ${VALIDATE_ARGS:-}"
    # shellcheck disable=SC2086
    set +e
    "$deno" task validate ${VALIDATE_ARGS:-} 2>&1 | tee "$out/validate.txt"
    status=${PIPESTATUS[0]}
    set -e
    [ "$status" -eq 0 ] || log "validate exited $status"
  fi
  local seq_lens="${SEQ_LENS:-10,100,1000,4096,10000,16384}"
  log "deno task profile --seq-lens $seq_lens ${PROFILE_ARGS:-} --out $out"
  set +e
  # shellcheck disable=SC2086
  "$deno" task profile --seq-lens "$seq_lens" ${PROFILE_ARGS:-} --out "$out" 2>&1 |
    tee "$out/profile.txt"
  local profile_status=${PIPESTATUS[0]}
  set -e
  [ "$profile_status" -eq 0 ] || log "profile exited $profile_status"
  [ "$status" -ne 0 ] || status=$profile_status
  log "results in $out"
  exit "$status"
}

case "$MODE" in
  pack) pack ;;
  run) run ;;
  *)
    sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
