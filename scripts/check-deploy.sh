#!/usr/bin/env bash
# Checks that the deploy files work as written, as far as this machine can tell without a
# container runtime or a cluster:
# - deploy/Dockerfile: the runtime stage creates /data and gives it to the user it runs as,
#   works in /data, copies the binary from where the build stage puts it, uses the toolchain
#   rust-toolchain.toml pins; .dockerignore keeps target/ and .git out of the build context.
# - deploy/tradeengine.service: StateDirectory=, ConfigurationDirectory= and WorkingDirectory=
#   are set; the configuration and data dir the engine writes lie in the state directory (the
#   only writable place under ProtectSystem=strict); the environment file lies in the
#   configuration directory; the install steps (unit header and README) install the encrypted
#   keys file into the state directory (0600, the service user's) and put its passphrase's
#   variable in the environment file; `systemd-analyze verify` passes when it is installed.
# - deploy/tradeengine.example.toml: every `file:` path in it resolves (relative to the
#   configuration's folder, the state directory) inside the unit's state or configuration
#   directory, and the install steps install it there.
# - deploy/k8s/tradeengine.yaml: no volume is mounted inside another (a Secret inside the
#   read-only ConfigMap mount cannot be set up); --config lies in the ConfigMap's mount; the
#   encrypted keys file the header names lies in the keys mount.
# - With a built binary (TRADEENGINE_BIN, else target/debug/tradeengine if present): a
#   configuration in a copy of the unit's state directory passes `config check` and can be
#   rewritten by `config weights`, run from the unit's working directory; so does the example
#   configuration with a keys file made by `credentials set` (fake keys).
# - With CHECK_DEPLOY_BUILD=1 and a reachable Docker daemon (or podman): builds the image and
#   checks, inside it, the user, /data's owner and that /data is writable (needs network to
#   pull base images and crates; not run in CI).
# Exit code 1 names every failed check. Usage: scripts/check-deploy.sh
set -uo pipefail
cd "$(dirname "$0")/.."

failures=0
ok() { printf 'ok    %s\n' "$1"; }
fail() { printf 'FAIL  %s\n' "$1"; failures=$((failures + 1)); }
skip() { printf 'skip  %s\n' "$1"; }
check() { # check "description" command...
  local what="$1"; shift
  if "$@" >/dev/null 2>&1; then ok "$what"; else fail "$what"; fi
}

# --- Dockerfile -------------------------------------------------------------------------------
dockerfile=deploy/Dockerfile
# The runtime stage: everything after the last FROM.
runtime="$(awk '/^FROM /{buf=""} {buf=buf $0 "\n"} END{printf "%s", buf}' "$dockerfile")"
build_stage="$(awk '/^FROM /{n++} n==1' "$dockerfile")"
user="$(printf '%s' "$runtime" | sed -n 's/^USER \([^:]*\).*/\1/p' | tail -n1)"
check "Dockerfile: the runtime stage runs as a named non-root user ($user)" \
  test -n "$user" -a "$user" != root -a "$user" != 0
check "Dockerfile: the user is created in the runtime stage" \
  grep -Eq "useradd .*[[:space:]]$user([[:space:]]|$)" <<<"$runtime"
check "Dockerfile: /data is created" grep -Eq 'mkdir -p /data' <<<"$runtime"
check "Dockerfile: /data is owned by $user" grep -Eq "chown $user(:$user)? /data" <<<"$runtime"
# The directory must exist with its owner before VOLUME, so a fresh named volume copies both.
first_line() { grep -n "$1" <<<"$runtime" | head -n1 | cut -d: -f1; }
chown_at="$(first_line "chown $user")"
volume_at="$(first_line '^VOLUME /data')"
user_at="$(first_line '^USER ')"
check "Dockerfile: /data is chowned before USER and VOLUME" \
  test -n "$chown_at" -a -n "$volume_at" -a -n "$user_at" -a "${chown_at:-0}" -lt "${volume_at:-0}" -a "${chown_at:-0}" -lt "${user_at:-0}"
check "Dockerfile: WORKDIR /data (relative paths and ./tradeengine.toml resolve in the volume)" \
  grep -Eq '^WORKDIR /data$' <<<"$runtime"
check "Dockerfile: the entrypoint's data dir is /data" \
  grep -Eq '^ENTRYPOINT .*"--data-dir", "/data"' <<<"$runtime"
build_dir="$(sed -n 's/^WORKDIR //p' <<<"$build_stage" | tail -n1)"
check "Dockerfile: the binary is copied from where the build stage builds it" \
  grep -Eq "^COPY --from=build ${build_dir}/target/release/tradeengine /usr/local/bin/tradeengine$" <<<"$runtime"
check "Dockerfile: the build stage builds the release binary with the lock file" \
  grep -Eq 'cargo build --release --locked -p tradeengine' <<<"$build_stage"
channel="$(sed -n 's/^channel = "\([0-9]*\.[0-9]*\).*/\1/p' rust-toolchain.toml)"
check "Dockerfile: the build image's Rust ($channel) is the pinned toolchain's" \
  grep -Eq "^FROM rust:${channel}(-| )" "$dockerfile"
check ".dockerignore exists" test -f .dockerignore
for pattern in 'target/' '.git/'; do
  check ".dockerignore excludes $pattern" grep -qxF "$pattern" .dockerignore
done

# --- systemd ----------------------------------------------------------------------------------
unit=deploy/tradeengine.service
key() { sed -n "s/^$1=//p" "$unit" | tail -n1; }
state_dir="$(key StateDirectory)"
conf_dir="$(key ConfigurationDirectory)"
workdir="$(key WorkingDirectory)"
exec_start="$(key ExecStart)"
env_file="$(key EnvironmentFile)"
check "unit: StateDirectory= is set" test -n "$state_dir"
check "unit: ConfigurationDirectory= is set" test -n "$conf_dir"
check "unit: WorkingDirectory= is the state directory (/var/lib/$state_dir)" \
  test "$workdir" = "/var/lib/$state_dir"
config_path="$(sed -n 's/.*--config \([^ ]*\).*/\1/p' <<<"$exec_start")"
data_path="$(sed -n 's/.*--data-dir \([^ ]*\).*/\1/p' <<<"$exec_start")"
writable=("/var/lib/$state_dir" $(key ReadWritePaths))
inside_writable() {
  local p="$1" w
  for w in "${writable[@]}"; do
    [ -n "$w" ] && case "$p" in "$w" | "$w"/*) return 0 ;; esac
  done
  return 1
}
check "unit: the configuration ($config_path) is writable under ProtectSystem=strict (config weights rewrites it)" \
  inside_writable "$(dirname "${config_path:-/nonexistent/x}")"
check "unit: the data dir ($data_path) is writable under ProtectSystem=strict" \
  inside_writable "${data_path:-/nonexistent}"
check "unit: the environment file is in the configuration directory (/etc/$conf_dir)" \
  test "$(dirname "${env_file#-}")" = "/etc/$conf_dir"
check "unit: the install steps put the configuration where ExecStart reads it" \
  grep -Eq "^#.*install .*tradeengine\.toml ${config_path}$" "$unit"
check "unit: the install steps put the environment file where EnvironmentFile= reads it" \
  grep -Eq "^#.*install .*tradeengine\.env ${env_file#-}" "$unit"
check "unit: the install steps create the service user" grep -Eq '^#.*useradd --system' "$unit"
svc_user="$(key User)"
keys_install="install -m 0600 -o $svc_user -g $svc_user credentials.age /var/lib/$state_dir/credentials.age"
check "unit: the install steps put credentials.age in the state directory, 0600, owned by $svc_user" \
  grep -Eq "^#.*${keys_install//./\\.}$" "$unit"
check "README: the install steps put credentials.age in the state directory as the unit's do" \
  grep -qF "sudo $keys_install" README.md
check "unit: the install steps say the environment file holds TRADEENGINE_CREDENTIALS_PASSPHRASE" \
  grep -Eq "^#.*install .*tradeengine\.env ${env_file#-} .*TRADEENGINE_CREDENTIALS_PASSPHRASE" "$unit"
check "README: the deploy steps say tradeengine.env holds TRADEENGINE_CREDENTIALS_PASSPHRASE" \
  bash -c "sed -n '/^### Deploying/,/^## /p' README.md | grep -q TRADEENGINE_CREDENTIALS_PASSPHRASE"

# --- The example configuration's files ---------------------------------------------------------
example=deploy/tradeengine.example.toml
mapfile -t file_refs < <(sed -n 's/^[^#]*"file:\([^"]*\)".*/\1/p' "$example")
check "example: $example names a file: path (its keys file)" test "${#file_refs[@]}" -ge 1
for ref in "${file_refs[@]}"; do
  case "$ref" in
    /*) resolved="$ref" ;;
    *) resolved="$(dirname "$config_path")/$ref" ;;
  esac
  check "example: file:$ref resolves inside the unit's state or configuration directory ($resolved)" \
    bash -c "case '$resolved' in /var/lib/$state_dir/*|/etc/$conf_dir/*) exit 0;; *) exit 1;; esac"
  check "unit: the install steps put file:$ref where it resolves ($resolved)" \
    grep -Eq "^#.*install .* $(basename "$ref") ${resolved//./\\.}$" "$unit"
done
if command -v systemd-analyze >/dev/null 2>&1; then
  # verify needs the unit's binary to exist: check a copy that runs an existing one instead.
  tmp="$(mktemp -d)"
  sed "s#^ExecStart=/usr/local/bin/tradeengine#ExecStart=$(command -v true)#" "$unit" >"$tmp/tradeengine.service"
  if out="$(systemd-analyze verify "$tmp/tradeengine.service" 2>&1)" && ! grep -qi 'unknown\|invalid\|failed' <<<"$out"; then
    ok "unit: systemd-analyze verify"
  else
    fail "unit: systemd-analyze verify: $out"
  fi
  rm -rf "$tmp"
else
  skip "unit: systemd-analyze is not installed"
fi

# --- Kubernetes -------------------------------------------------------------------------------
manifest=deploy/k8s/tradeengine.yaml
mapfile -t mounts < <(sed -n 's/.*mountPath: *\([^ ,}]*\).*/\1/p' "$manifest")
check "k8s: the manifest mounts volumes" test "${#mounts[@]}" -ge 2
nested=""
for a in "${mounts[@]}"; do
  for b in "${mounts[@]}"; do
    [ "$a" != "$b" ] && case "$b" in "$a"/*) nested="$nested $b-inside-$a" ;; esac
  done
done
check "k8s: no volume is mounted inside another${nested:+ ($nested)}" test -z "$nested"
k8s_config="$(sed -n 's/.*"--config", "\([^"]*\)".*/\1/p' "$manifest")"
config_mount="$(grep -E 'name: config, mountPath' "$manifest" | sed -n 's/.*mountPath: *\([^ ,}]*\).*/\1/p')"
check "k8s: --config ($k8s_config) is in the ConfigMap's mount ($config_mount)" \
  test -n "$config_mount" -a "$(dirname "${k8s_config:-/x/y}")" = "$config_mount"
keys_file="$(sed -n 's/.*credentials = "file:\([^"]*\)".*/\1/p' "$manifest" | head -n1)"
keys_mount="$(grep -E 'name: keys, mountPath' "$manifest" | sed -n 's/.*mountPath: *\([^ ,}]*\).*/\1/p')"
check "k8s: the keys file the header names ($keys_file) is in the keys mount ($keys_mount)" \
  test -n "$keys_mount" -a "$(dirname "${keys_file:-/x/y}")" = "$keys_mount"
check "k8s: the keys Secret is mounted read-only" grep -Eq 'name: keys, mountPath: [^,]*, readOnly: true' "$manifest"

# --- The binary against the unit's layout -----------------------------------------------------
bin="${TRADEENGINE_BIN:-target/debug/tradeengine}"
if [ -x "$bin" ]; then
  bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
  state="$(mktemp -d)"
  chmod 0750 "$state"
  sed -e 's#^data_dir = .*#data_dir = "data"#' examples/demo.toml >"$state/tradeengine.toml"
  # What the unit's EnvironmentFile= provides (obviously fake values): config check, like run,
  # refuses a configuration whose secret variables are not set.
  export TRADEENGINE_REST_TOKEN="fake-rest-token-for-deploy-check"
  export TRADEENGINE_TV_SECRET="fake-tv-secret-for-deploy-check"
  check "binary: config check passes on a configuration in the state directory" \
    bash -c "cd '$state' && '$bin' --config '$state/tradeengine.toml' config check"
  check "binary: config weights rewrites it there (atomic write beside it)" \
    bash -c "cd '$state' && '$bin' --config '$state/tradeengine.toml' config weights --symbol BTCUSDT --set demo=0.4 --set tradingview=0.3 --set api=0.2 -y && grep -q 'demo = 0.4' '$state/tradeengine.toml'"
  rm -rf "$state"
  # The example configuration as the install steps lay it out, with a keys file of fake keys.
  state="$(mktemp -d)"
  chmod 0750 "$state"
  cp "$example" "$state/tradeengine.toml"
  export TRADEENGINE_CREDENTIALS_PASSPHRASE="fake-passphrase-for-deploy-check"
  export TRADINGVIEW_SECRET="fake-tv-secret-for-deploy-check"
  export TRADEENGINE_READ_TOKEN="fake-read-token-for-deploy-check"
  export TRADEENGINE_CONTROL_TOKEN="fake-control-token-for-deploy-check"
  export DEPLOYCHECK_API_KEY="fake-key" DEPLOYCHECK_API_SECRET="fake-secret"
  accounts="$(sed -n 's/^name = "\([^"]*\)"/\1/p' "$example")"
  made=1
  for account in $accounts; do
    (cd "$state" && "$bin" credentials set --account "$account" --file credentials.age \
      --from-env DEPLOYCHECK --work-factor 10 </dev/null >/dev/null 2>&1) || made=0
  done
  check "binary: credentials set writes the example's keys file in the state directory" \
    test "$made" = 1 -a -f "$state/credentials.age"
  check "binary: config check passes on the example configuration laid out as the unit has it" \
    bash -c "cd '$state' && '$bin' --config '$state/tradeengine.toml' --data-dir '$state' config check"
  rm -rf "$state"
else
  skip "binary: no built binary at $bin (set TRADEENGINE_BIN)"
fi

# --- Container build --------------------------------------------------------------------------
if [ "${CHECK_DEPLOY_BUILD:-0}" = 1 ]; then
  engine=""
  if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
    engine=docker
  elif command -v podman >/dev/null 2>&1; then
    engine=podman
  fi
  if [ -n "$engine" ]; then
    if "$engine" build -f "$dockerfile" -t tradeengine:check . >/dev/null; then
      ok "image: builds with $engine"
      check "image: runs as $user" bash -c "[ \"\$($engine run --rm --entrypoint id tradeengine:check -un)\" = '$user' ]"
      check "image: /data is owned by $user" bash -c "[ \"\$($engine run --rm --entrypoint stat tradeengine:check -c %U /data)\" = '$user' ]"
      check "image: /data is writable by the service user" \
        "$engine" run --rm --entrypoint sh tradeengine:check -c 'touch /data/probe && rm /data/probe'
      check "image: the binary runs" "$engine" run --rm tradeengine:check --version
    else
      fail "image: $engine build failed"
    fi
  else
    skip "image: no Docker daemon and no podman on this machine"
  fi
else
  skip "image: not built (set CHECK_DEPLOY_BUILD=1 with a container runtime and network)"
fi

if [ "$failures" -gt 0 ]; then
  printf '%s deploy check(s) failed\n' "$failures"
  exit 1
fi
echo "deploy files: all checks passed"
