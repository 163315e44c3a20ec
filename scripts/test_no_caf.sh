#!/usr/bin/env bash
# The reactor alone, as on a machine without CAF (.ci/run runs this):
#   scripts/test_no_caf.sh [BUILD_DIR] [extra cmake args...]
# Configures with FASTNET_BUILD_ACTORS=OFF and CAF's package search disabled,
# and builds with every CAF header shadowed by one that stops the compile:
# Debian installs CAF's headers in /usr/include, where the compiler would
# find them with no help from CMake. Then checks that no link line names
# libcaf, and runs the reactor tests and the install test (which also checks
# that asking the installed package for actors fails). Needs what
# scripts/setup.sh installs, minus CAF; installs nothing itself.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build-nocaf}"
shift || true

# A shadow of each CAF header found on the compiler's search path, passed with
# -isystem (searched before the system directories).
shadow="$build/caf-shadow"
rm -rf "$shadow"
mkdir -p "$shadow"
dirs=$(c++ -x c++ -E -v /dev/null 2>&1 | sed -n '/^#include <...> search starts here:/,/^End of search list/p' |
  sed -n 's/^ //p')
count=0
for dir in $dirs; do
  [[ -d "$dir/caf" ]] || continue
  while IFS= read -r header; do
    mkdir -p "$shadow/$(dirname "$header")"
    echo "#error \"<$header> included in a build without CAF\"" >"$shadow/$header"
    count=$((count + 1))
  done < <(cd "$dir" && find caf -type f)
done
echo "no-caf: $count CAF headers shadowed"
# The shadow must work, or the build below proves nothing.
if echo '#include <caf/config.hpp>' | c++ -isystem "$shadow" -fsyntax-only -x c++ - 2>/dev/null; then
  echo "no-caf: <caf/config.hpp> still compiles with the shadow" >&2
  exit 1
fi

# Examples stay on: without fastnet::actors they must skip themselves.
# CMAKE_DISABLE_FIND_PACKAGE_CAF makes a search for CAF that the option
# failed to prevent find nothing (or fail, when REQUIRED); it is unused when
# all is well, hence --no-warn-unused-cli.
"$root/scripts/build.sh" "$build" --no-warn-unused-cli -DFASTNET_BUILD_ACTORS=OFF \
  -DCMAKE_DISABLE_FIND_PACKAGE_CAF=ON -DFASTNET_BUILD_BENCH=OFF \
  -DCMAKE_CXX_FLAGS="-isystem $shadow" "$@"

# Nothing links CAF either (link.txt: Makefiles; build.ninja: Ninja).
if grep -rlE 'libcaf_|-lcaf_' "$build" --include=link.txt --include=build.ninja; then
  echo "no-caf: the link lines above name CAF" >&2
  exit 1
fi

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
cd "$build"
ctest --output-on-failure -j "${FASTNET_JOBS:-2}" -L 'reactor|package'
