#!/usr/bin/env bash
# Brings the Debian libraries cascade builds with to the GPU machine, which has no network
# and lacks them.
#   scripts/gpu-deps.sh download   on a machine with apt: the .deb files into .debs/
#   scripts/gpu-deps.sh unpack     on the GPU machine: unpacks .debs/ into /tmp/deps and
#                                  writes /tmp/deps/env.sh (PKG_CONFIG_PATH,
#                                  CMAKE_PREFIX_PATH; DEPS_LIBRARY_PATH for running tests)
# Debian 12 packages run on Ubuntu 24.04 (its glibc 2.39 is newer than their 2.36).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(libpcre2-dev libpcre2-8-0 libpcre2-16-0 libpcre2-32-0 libpcre2-posix3
          libutf8proc-dev libutf8proc2
          libopenblas-dev libopenblas-pthread-dev libopenblas0 libopenblas0-pthread libgfortran5
          libxxhash-dev libxxhash0
          libcpp-httplib-dev libcpp-httplib0.11 libbrotli-dev libbrotli1 zlib1g-dev)
prefix=/tmp/deps

case "${1:-}" in
  download)
    mkdir -p .debs
    (cd .debs && apt-get download "${packages[@]}") || {
      apt-get update -q && (cd .debs && apt-get download "${packages[@]}")
    }
    ls .debs
    ;;
  unpack)
    ls .debs/*.deb >/dev/null 2>&1 || { echo "gpu-deps: no .debs/*.deb (run 'download' first)" >&2; exit 1; }
    mkdir -p "$prefix"
    for deb in .debs/*.deb; do dpkg -x "$deb" "$prefix"; done
    multiarch=$prefix/usr/lib/x86_64-linux-gnu
    # pkg-config files name /usr; point them at the unpacked tree.
    find "$prefix/usr" -name '*.pc' -exec sed -i -E \
      -e "s#^prefix=/usr\$#prefix=$prefix/usr#" \
      -e "s#^(libdir|includedir)=/usr/#\\1=$prefix/usr/#" {} +
    cat > "$prefix/env.sh" <<ENV
export PKG_CONFIG_PATH=$multiarch/pkgconfig:$multiarch/openblas-pthread/pkgconfig\${PKG_CONFIG_PATH:+:\$PKG_CONFIG_PATH}
export CMAKE_PREFIX_PATH=$prefix/usr\${CMAKE_PREFIX_PATH:+:\$CMAKE_PREFIX_PATH}
# For running what was built against them (not exported globally: other programs keep
# the system's own libraries).
DEPS_LIBRARY_PATH=$multiarch:$multiarch/openblas-pthread
ENV
    debs=(.debs/*.deb)
    echo "gpu-deps: unpacked ${#debs[@]} packages into $prefix"
    ;;
  *)
    echo "usage: scripts/gpu-deps.sh download|unpack" >&2
    exit 2
    ;;
esac
