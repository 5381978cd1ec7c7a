#!/usr/bin/env bash
# Makes a relocatable bundle of a Tandem build: OUT/bin holds the binaries, OUT/lib every shared
# library they load that the target machine cannot be assumed to have in the same version, and
# each file's RPATH is $ORIGIN/../lib (then /usr/local/cuda/lib64 for cuBLAS). Everything is
# stripped. Left out on purpose (the target provides them, and ours would clash with its driver
# or system): glibc (libc, libm, libdl, libpthread, librt, ld-linux), libstdc++ / libgcc_s, the
# CUDA libraries (cudart is static in our binaries; cuBLAS / cuBLASLt, libcuda, NVIDIA driver
# libraries come from the target's toolkit), NCCL and MPI.
#
# Usage: deploy/bundle.sh BUILD_DIR OUT_DIR [binary-name ...]
#   binary names are looked up under BUILD_DIR (default: tandem). Example:
#   deploy/bundle.sh /tmp/build-cuda /tmp/bundle tandem tandem_cuda_ops_test tandem_cuda_model_test
# Needs: ldd, strip and patchelf (apt-get install patchelf).
set -euo pipefail
if [[ $# -lt 2 ]]; then
  echo "usage: $0 BUILD_DIR OUT_DIR [binary-name ...]" >&2
  exit 2
fi
build=$1
out=$2
shift 2
names=("$@")
[[ ${#names[@]} -gt 0 ]] || names=(tandem)
command -v patchelf >/dev/null || { echo "bundle.sh: patchelf not found (apt-get install patchelf)" >&2; exit 1; }

rm -rf "$out"
mkdir -p "$out/bin" "$out/lib"

# Sonames the target supplies itself.
skip='^(linux-vdso|ld-linux|libc\.so|libm\.so|libdl\.so|libpthread\.so|librt\.so|libutil\.so|libstdc\+\+\.so|libgcc_s\.so|libcuda\.so|libcudart\.so|libcublas\.so|libcublasLt\.so|libnvidia|libnccl\.so|libmpi|libopen-(pal|rte)\.so)'

bins=()
for n in "${names[@]}"; do
  f=$(find "$build" -type f -name "$n" -perm -u+x -not -path '*/CMakeFiles/*' | head -1)
  [[ -n $f ]] || { echo "bundle.sh: no executable '$n' under $build" >&2; exit 1; }
  cp "$f" "$out/bin/$n"
  bins+=("$f")
done

# Every library ldd resolves for any binary, minus the skip list.
declare -A seen=()
for f in "${bins[@]}"; do
  while read -r name _ path _; do
    [[ -n ${path:-} && $path == /* ]] || continue
    [[ $name =~ $skip ]] && continue
    [[ -n ${seen[$name]:-} ]] && continue
    seen[$name]=1
    cp -L "$path" "$out/lib/$name"
  done < <(ldd "$f" | grep '=>')
done

for f in "$out"/bin/* "$out"/lib/*; do
  [[ -f $f ]] || continue
  chmod u+w "$f"
  strip --strip-unneeded "$f" 2>/dev/null || strip "$f"
  patchelf --set-rpath '$ORIGIN/../lib:/usr/local/cuda/lib64' --force-rpath "$f"
done
echo "bundle: $(ls "$out/bin" | wc -l) binaries, $(ls "$out/lib" | wc -l) libraries, $(du -sh "$out" | cut -f1) in $out"
