#!/usr/bin/env bash
# Builds target/debian/confsync_*.deb: the release binary, the systemd unit
# (ExecStart= at /usr/bin) and sysusers file, the man page and the
# bash/zsh/fish completions generated from the binary just built, the
# example configuration and the docs. Then lists it with dpkg-deb and
# checks it with lintian, which must report no error.
# Needs cargo-deb (`cargo install cargo-deb`) and lintian (Debian's package).
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --bin confsync
out=target/package
rm -rf "$out"
mkdir -p "$out/completions" "$out/systemd"
bin=target/release/confsync
"$bin" manpage | gzip -9n >"$out/confsync.1.gz"
"$bin" completions bash >"$out/completions/confsync"
"$bin" completions zsh >"$out/completions/_confsync"
"$bin" completions fish >"$out/completions/confsync.fish"
# The unit as the package installs it: the binary is /usr/bin/confsync.
sed 's|/usr/local/bin/confsync|/usr/bin/confsync|' systemd/confsync.service >"$out/systemd/confsync.service"

rm -f target/debian/confsync_*.deb
cargo deb --no-build --strip -p confsync
deb=$(ls target/debian/confsync_*.deb)
echo "== dpkg-deb --contents $deb"
dpkg-deb --contents "$deb"
echo "== lintian $deb"
# Errors fail the build; warnings and notes are printed for a person to read.
lintian --fail-on error --tag-display-limit 0 "$deb"

# The package's binary runs, and its unit starts the binary it ships.
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
dpkg-deb -x "$deb" "$root"
"$root/usr/bin/confsync" --version
grep -q '^ExecStart=/usr/bin/confsync ' "$root/usr/lib/systemd/system/confsync.service"
zcat "$root/usr/share/man/man1/confsync.1.gz" | grep -q '^\.TH confsync 1'
