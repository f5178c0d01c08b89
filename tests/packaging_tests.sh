#!/usr/bin/env bash
# The install tree and the Debian package of a build (tests/CMakeLists.txt: packaging_tests).
#   tests/packaging_tests.sh BUILD_DIR
# 1. cmake --install --prefix into a temp dir: the programs, the example configuration, the
#    systemd units; `topup-node --check` accepts the installed configuration;
#    systemd-analyze verify accepts the units (skipped, and said, where it cannot run).
# 2. cpack -G DEB: the package holds the same, marks the configuration a conffile, carries
#    the maintainer scripts, and its dependencies come from dpkg-shlibdeps.
set -euo pipefail
build=$(cd "$1" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# --- 1. cmake --install ----------------------------------------------------------------------
prefix=$work/prefix
cmake --install "$build" --prefix "$prefix" >"$work/install.log"
for program in topup-node topup-cli topup-provider-sim; do
  [[ -x $prefix/bin/$program ]] || fail "bin/$program not installed"
done
config=$prefix/etc/topup/node.json
[[ -f $config ]] || fail "etc/topup/node.json not installed"
grep -q '"/var/lib/topup/topup.db"' "$config" || fail "the store of $config is not in /var/lib/topup"
units=$prefix/lib/systemd/system
for unit in topup-node.service topup-archive.service topup-archive.timer; do
  [[ -f $units/$unit ]] || fail "$unit not installed"
done
grep -qx "ExecStart=$prefix/bin/topup-node --config $config --drain-ms 20000" \
  "$units/topup-node.service" || fail "the unit does not run the installed node on the installed configuration"
grep -qx "Type=notify" "$units/topup-node.service" || fail "the unit is not Type=notify"
"$prefix/bin/topup-node" --config "$config" --check >"$work/check.out" 2>&1 \
  || fail "topup-node --check refuses the installed configuration: $(cat "$work/check.out")"
"$prefix/bin/topup-cli" --help >/dev/null || fail "the installed topup-cli does not run"

# systemd-analyze verify: loads the units as systemd would. It exits 0 on a directive it
# ignores (a typo, an unknown system call group) and only warns: any output fails too.
if command -v systemd-analyze >/dev/null; then
  verified=0
  SYSTEMD_LOG_LEVEL=warning systemd-analyze verify "$units/topup-node.service" \
    "$units/topup-archive.service" "$units/topup-archive.timer" >"$work/verify.out" 2>&1 \
    || verified=$?
  if grep -qiE "Failed to (initialize manager|setup|connect to bus)|Operation not permitted" \
       "$work/verify.out"; then
    echo "SKIP systemd-analyze verify: it cannot run here: $(head -3 "$work/verify.out")"
  elif ((verified != 0)) || [[ -s $work/verify.out ]]; then
    fail "systemd-analyze verify (exit $verified): $(cat "$work/verify.out")"
  else
    echo "systemd-analyze verify: the units are accepted"
  fi
else
  echo "SKIP systemd-analyze verify: systemd-analyze is not installed"
fi

# --- 2. the Debian package -------------------------------------------------------------------
(cd "$work" && cpack --config "$build/CPackConfig.cmake" -G DEB -B "$work/deb" >"$work/cpack.log" 2>&1) \
  || fail "cpack: $(tail -20 "$work/cpack.log")"
deb=$(ls "$work"/deb/topup_*.deb)
dpkg-deb --field "$deb" Depends >"$work/depends"
for library in libcaf libsoci libspdlog libjemalloc libsystemd0 libc6 adduser; do
  grep -q "$library" "$work/depends" || fail "Depends lacks $library: $(cat "$work/depends")"
done
dpkg-deb --contents "$deb" >"$work/contents"
for path in ./usr/bin/topup-node ./usr/bin/topup-cli ./usr/bin/topup-provider-sim \
            ./etc/topup/node.json ./usr/lib/systemd/system/topup-node.service \
            ./usr/lib/systemd/system/topup-archive.timer ./usr/share/doc/topup/README.md; do
  grep -q " $path\$" "$work/contents" || fail "the package lacks $path"
done
mkdir "$work/control" "$work/root"
dpkg-deb --control "$deb" "$work/control"
grep -qx "/etc/topup/node.json" "$work/control/conffiles" || fail "node.json is not a conffile"
for script in postinst prerm postrm; do
  [[ -x $work/control/$script ]] || fail "the package has no $script"
done
grep -q "adduser --system" "$work/control/postinst" || fail "postinst makes no topup user"
dpkg-deb --extract "$deb" "$work/root"
grep -qx "ExecStart=/usr/bin/topup-node --config /etc/topup/node.json --drain-ms 20000" \
  "$work/root/usr/lib/systemd/system/topup-node.service" \
  || fail "the packaged unit does not run /usr/bin/topup-node on /etc/topup/node.json"
"$work/root/usr/bin/topup-node" --config "$work/root/etc/topup/node.json" --check >/dev/null \
  || fail "the packaged topup-node --check refuses the packaged configuration"
echo "package $(basename "$deb"): $(stat -c %s "$deb") bytes; Depends: $(cat "$work/depends")"
