#!/bin/bash
# Put build/sealtrace and the shared libraries it loads (all but glibc's)
# into .gpu-bundle/, for a GPU host that has none of our Debian packages.
set -euo pipefail
cd "$(dirname "$0")/../.."
rm -rf .gpu-bundle && mkdir -p .gpu-bundle/lib
cp build/sealtrace .gpu-bundle/
ldd build/sealtrace | awk '$3 ~ /^\// {print $3}' |
	grep -vE '/(libc|libm|libpthread|libdl|librt|ld-linux[^/]*)\.so' |
	xargs -I{} cp -L {} .gpu-bundle/lib/
du -sh .gpu-bundle
