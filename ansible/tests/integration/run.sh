#!/usr/bin/env bash
# The fjord.cluster collection's integration test, on this machine for real:
#
#  1. builds the packages (scripts/build-packages BUILD_DIR), unless
#     FJORD_IT_PACKAGE_DIR names .debs already built;
#  2. runs playbooks/provision-cluster.yml on localhost: three controllers and a
#     broker installed from those packages, started as instances of the packages'
#     template units (fjord-controller@1..3, fjord-broker@1). PID 1 is not systemd
#     here, so fjord_service_manager=direct starts each unit's ExecStart as its
#     User= and waits for READY=1 (roles/service);
#  3. a topic round trip: fjord topic produce, then consume the records back;
#  4. playbooks/manage-topics-acls.yml twice (the second run must report changed=0
#     in the recap), then with changed variables in --check (the cluster must be
#     unchanged, checked with the CLI) and with --diff (diff output must be there);
#  5. playbooks/operation-rolling-restart.yml (each member and broker restarted and
#     gated on catching up);
#  6. tears down: stops the processes, purges the packages.
#
# Steps 2-6 hold flock /var/lock/fjord-package-test.lock: the packaging test
# installs the same packages on this machine.
#
# Development aid: FJORD_IT_BIN_DIR=<build>/bin uses the collection's
# local_binaries install method instead of packages (not what CI runs).
#
# Environment: BUILD_DIR (default build), FJORD_IT_KEEP=1 keeps the cluster running.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
collection=$(cd "$here/../.." && pwd)
root=$(cd "$collection/.." && pwd)
build_dir=${BUILD_DIR:-$root/build}

state=$(mktemp -d /tmp/fjord-ansible-it.XXXXXX)
export FJORD_IT_STATE=$state
mkdir -p "$state/collections/ansible_collections/fjord"
ln -s "$collection" "$state/collections/ansible_collections/fjord/cluster"
export ANSIBLE_COLLECTIONS_PATH=$state/collections
export ANSIBLE_LOCALHOST_WARNING=False ANSIBLE_FORCE_COLOR=0 ANSIBLE_NOCOLOR=1
export ANSIBLE_RETRY_FILES_ENABLED=False
export FJORD_CONFIG=$state/fjord.yaml   # the profile the client role writes
inventory=$here/inventory.yml

say() { echo "==> ansible it: $*"; }
fail() { echo "ansible it: FAILED: $*" >&2; exit 1; }

install_vars=()
if [ -n "${FJORD_IT_BIN_DIR:-}" ]; then
  say "installing local binaries from $FJORD_IT_BIN_DIR (development aid, not the package path)"
  install_vars=(-e fjord_install_method=local_binaries -e "fjord_local_bin_dir=$FJORD_IT_BIN_DIR")
  purge=(remove_local_binaries)
else
  pkg_dir=${FJORD_IT_PACKAGE_DIR:-}
  if [ -z "$pkg_dir" ]; then
    if [ ! -x "$root/scripts/build-packages" ]; then
      fail "scripts/build-packages does not exist yet: the integration test installs the packages it builds (packaging/), so it cannot run until packaging has landed"
    fi
    say "building packages: scripts/build-packages $build_dir"
    "$root/scripts/build-packages" "$build_dir"
    pkg_dir=$build_dir/packages
  fi
  ls "$pkg_dir"/fjord_*.deb "$pkg_dir"/fjord-controller_*.deb "$pkg_dir"/fjord-broker_*.deb >/dev/null ||
    fail "no fjord, fjord-controller and fjord-broker .debs in $pkg_dir"
  install_vars=(-e fjord_install_method=package -e "fjord_package_dir=$pkg_dir")
  purge=(dpkg --purge fjord-broker fjord-controller fjord)
fi

run_playbook() {
  # ansible-playbook ARGS... > log; the recap's changed= for localhost on stdout.
  local log=$1
  shift
  ansible-playbook -i "$inventory" "${install_vars[@]}" "$@" >"$log" 2>&1 || {
    cat "$log" >&2
    fail "ansible-playbook $* (log above)"
  }
  sed -n 's/^localhost *: .*changed=\([0-9]*\).*/\1/p' "$log" | tail -1
}

fjord_cli() { fjord --profile ansible-it "$@"; }

# What the local_binaries method installed, unless a package owns it.
remove_local_binaries() {
  local f
  for f in /usr/bin/fjord /usr/bin/fjord-controller /usr/bin/fjord-broker \
    /usr/lib/systemd/system/fjord-controller@.service /usr/lib/systemd/system/fjord-broker@.service; do
    dpkg -S "$f" >/dev/null 2>&1 || rm -f "$f"
  done
}

teardown() {
  local rc=$?
  if [ "${FJORD_IT_KEEP:-}" = 1 ]; then
    say "FJORD_IT_KEEP=1: leaving the cluster running (state $state)"
    return
  fi
  say "teardown: stopping the daemons, purging"
  for unit in fjord-broker@1 fjord-controller@3 fjord-controller@2 fjord-controller@1; do
    /usr/bin/python3 /usr/local/libexec/fjord_direct_service.py stop "$unit" >/dev/null 2>&1 || true
  done
  "${purge[@]}" >/dev/null 2>&1 || true
  rm -rf /var/lib/fjord/controller-1 /var/lib/fjord/controller-2 /var/lib/fjord/controller-3 \
    /var/lib/fjord/broker-1 /etc/fjord/controller-[123].yaml /etc/fjord/broker-1.yaml \
    /etc/sysctl.d/90-fjord.conf /usr/local/libexec/fjord_direct_service.py /run/fjord \
    /var/cache/fjord/packages /var/log/fjord/fjord-controller@[123].log /var/log/fjord/fjord-broker@1.log
  rm -rf "$state"
  # Purging the packages removes the fjord user and its directories (packaging's
  # contract); with local binaries the test removes what system_setup created.
  if [ -n "${FJORD_IT_BIN_DIR:-}" ] && ! dpkg -s fjord >/dev/null 2>&1; then
    rmdir /var/lib/fjord /etc/fjord /var/log/fjord 2>/dev/null || true
    userdel fjord 2>/dev/null || true
  fi
  exit "$rc"
}

exec 9>/var/lock/fjord-package-test.lock
say "waiting for /var/lock/fjord-package-test.lock"
flock 9
trap teardown EXIT

say "provision-cluster.yml (3 controllers, 1 broker on localhost; fjord_service_manager=direct)"
run_playbook "$state/provision.log" "$collection/playbooks/provision-cluster.yml" >/dev/null
fjord_cli cluster health --format json >"$state/health.json" || fail "cluster health"
for _ in $(seq 1 30); do
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["healthy"] and d["all_nodes"]==[1] else 1)' \
    "$state/health.json" && break
  sleep 1
  fjord_cli cluster health --format json >"$state/health.json"
done
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["healthy"] else 1)' \
  "$state/health.json" || fail "cluster not healthy: $(cat "$state/health.json")"

say "provision-cluster.yml again must change nothing"
changed=$(run_playbook "$state/provision2.log" "$collection/playbooks/provision-cluster.yml")
[ "$changed" = 0 ] || { cat "$state/provision2.log" >&2; fail "second provision: changed=$changed"; }

say "topic round trip"
fjord_cli topic create it-roundtrip -p 1 --if-not-exists >/dev/null
printf 'k1 one\nk2 two\nk3 three\n' | fjord_cli topic produce it-roundtrip -f '%k %v\n' >/dev/null
got=$(fjord_cli topic consume it-roundtrip -n 3 -f '%k=%v\n')
[ "$got" = $'k1=one\nk2=two\nk3=three' ] || fail "consumed: $got"

vars=$here/state-1.yml
say "manage-topics-acls.yml, first run"
changed=$(run_playbook "$state/m1.log" "$collection/playbooks/manage-topics-acls.yml" -e "@$vars")
[ "$changed" -gt 0 ] || fail "first run changed nothing ($state/m1.log)"
say "manage-topics-acls.yml, second run must change nothing"
changed=$(run_playbook "$state/m2.log" "$collection/playbooks/manage-topics-acls.yml" -e "@$vars")
[ "$changed" = 0 ] || { cat "$state/m2.log" >&2; fail "second run: changed=$changed"; }

say "--check with changed variables: reported, not made"
before=$(fjord_cli topic describe it-orders --format json; fjord_cli security acl list --format json;
  fjord_cli security role list --format json; fjord_cli cluster config get log_retention_ms --format json)
changed=$(run_playbook "$state/m3.log" "$collection/playbooks/manage-topics-acls.yml" -e "@$vars" \
  -e "@$here/state-2.yml" --check --diff)
[ "$changed" -gt 0 ] || fail "check mode reported no change ($state/m3.log)"
after=$(fjord_cli topic describe it-orders --format json; fjord_cli security acl list --format json;
  fjord_cli security role list --format json; fjord_cli cluster config get log_retention_ms --format json)
[ "$before" = "$after" ] || fail "check mode changed the cluster"
grep -q '^+.*"retention.ms": "7200000"' "$state/m3.log" || { cat "$state/m3.log" >&2; fail "no diff output in --check --diff"; }

say "--diff applying the changed variables"
changed=$(run_playbook "$state/m4.log" "$collection/playbooks/manage-topics-acls.yml" -e "@$vars" \
  -e "@$here/state-2.yml" --diff)
[ "$changed" -gt 0 ] || fail "applying state-2 changed nothing"
grep -q '^-.*"retention.ms": "3600000"' "$state/m4.log" || { cat "$state/m4.log" >&2; fail "no before in --diff"; }
fjord_cli topic describe it-orders --format json | grep -q '"7200000"' || fail "retention.ms not applied"
fjord_cli topic describe it-orders --format json | grep -q '"partitions": 4' || fail "partitions not added"

say "operation-rolling-restart.yml"
run_playbook "$state/rr.log" "$collection/playbooks/operation-rolling-restart.yml" >/dev/null
grep -q 'caught up' "$state/rr.log" || { cat "$state/rr.log" >&2; fail "rolling restart gate not seen"; }
got=$(fjord_cli topic consume it-roundtrip -n 3 -f '%v\n' | tr '\n' ' ')
[ "$got" = "one two three " ] || fail "after the rolling restart consumed: $got"

say "passed"
