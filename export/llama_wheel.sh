#!/bin/sh
# llama-cpp-python, built from source once and installed from a wheel cache afterwards.
#
# Why: PyPI has no wheel of llama-cpp-python for this platform, and building it takes about
# 3 minutes of both cores. CI starts from a clean clone each time, so the built wheel is kept
# outside the clone, in a directory that persists between runs:
#   $APPLIANCE_WHEELS, else /var/cache/appliance/wheels as root, else ~/.cache/appliance/wheels.
#
# Build options (CMAKE_ARGS) and why:
#   -DGGML_NATIVE=OFF     no -march=native: the wheel runs on any x86-64 CPU with AVX2/FMA/F16C
#                         (ggml then enables exactly those, x86-64-v3), not only on the build
#                         machine's CPU model — the cache may be shared by other machines of CI.
#   -DLLAVA_BUILD=OFF     no multimodal (mtmd/llava) library: unused, and a third of the build.
#   -DLLAMA_BUILD_{TESTS,EXAMPLES,TOOLS,SERVER}=OFF   only the libraries the binding loads.
#   -DLLAMA_CURL=OFF      no model downloads from the library itself: the box is offline.
# Override with CMAKE_ARGS in the environment when building for another CPU (e.g. an ARM box).
#
# Usage: export/llama_wheel.sh [python]   (default: .venv/bin/python)
set -eu

VERSION=0.3.36
PYTHON=${1:-.venv/bin/python}

if [ -n "${APPLIANCE_WHEELS:-}" ]; then
    CACHE=$APPLIANCE_WHEELS
elif [ "$(id -u)" = 0 ]; then
    CACHE=/var/cache/appliance/wheels
else
    CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/appliance/wheels
fi

if "$PYTHON" -c "import importlib.metadata as m, sys; \
sys.exit(m.version('llama_cpp_python') != '$VERSION')" 2>/dev/null; then
    echo "llama-cpp-python $VERSION is installed"
    exit 0
fi

mkdir -p "$CACHE"
# The wheel is tagged py3-none-linux_<arch> (a ctypes binding: any Python 3, one platform).
ARCH=$(uname -m)
if ! ls "$CACHE"/llama_cpp_python-"$VERSION"-*"$ARCH".whl >/dev/null 2>&1; then
    echo "building llama-cpp-python $VERSION once (3–16 minutes on 2 cores, depending on load); cached in $CACHE"
    BUILD=$(mktemp -d)
    trap 'rm -rf "$BUILD"' EXIT
    CMAKE_ARGS=${CMAKE_ARGS:-"-DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF -DLLAMA_BUILD_TESTS=OFF \
-DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_CURL=OFF"} \
    CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)} \
        "$PYTHON" -m pip wheel --quiet --no-deps --no-cache-dir \
        "llama-cpp-python==$VERSION" -w "$BUILD"
    # Moved in whole, so that a build cut off halfway never leaves a broken wheel in the cache.
    for wheel in "$BUILD"/*.whl; do
        mv "$wheel" "$CACHE/.$(basename "$wheel").part"
        mv "$CACHE/.$(basename "$wheel").part" "$CACHE/$(basename "$wheel")"
    done
    echo "built $(ls "$CACHE"/llama_cpp_python-"$VERSION"-*"$ARCH".whl)"
else
    echo "llama-cpp-python $VERSION from the wheel cache $CACHE"
fi
# The binding's own dependencies (numpy, jinja2, diskcache, typing-extensions) from the index.
"$PYTHON" -m pip install --quiet --find-links "$CACHE" --no-index "llama-cpp-python==$VERSION" \
    --no-deps
"$PYTHON" -m pip install --quiet "numpy>=1.20" "typing-extensions>=4.5" "diskcache>=5.6.1" \
    "jinja2>=2.11.3"
echo "llama-cpp-python $VERSION installed"
