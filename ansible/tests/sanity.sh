#!/usr/bin/env bash
# The fjord.cluster collection's offline checks: unit tests of the plan logic,
# ansible-test sanity, ansible-doc of every module, and ansible-galaxy collection build.
#
# ansible-test needs the collection under ansible_collections/fjord/cluster, so it
# runs on a copy in a temp dir. Skipped sanity tests, all because ansible-test
# installs their pinned requirements into a virtualenv with pip from PyPI, which
# this machine cannot reach: ansible-doc (covered below by Debian's ansible-doc on
# every module), validate-modules, pylint, pep8, yamllint, import, runtime-metadata,
# changelog (needs antsibull-changelog; the collection keeps no changelog yet),
# pslint (PowerShell; the collection has none).
set -euo pipefail
collection=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "==> unit tests (tests/unit)"
/usr/bin/python3 -m pytest -q -p no:cacheprovider "$collection/tests/unit"

mkdir -p "$work/ansible_collections/fjord"
cp -r "$collection" "$work/ansible_collections/fjord/cluster"
rm -rf "$work/ansible_collections/fjord/cluster/tests/output"
find "$work" -name __pycache__ -prune -exec rm -rf {} +

echo "==> ansible-test sanity (offline-capable tests)"
(cd "$work/ansible_collections/fjord/cluster" &&
  ansible-test sanity --python 3.11 \
    --skip-test ansible-doc --skip-test validate-modules --skip-test pylint --skip-test pep8 \
    --skip-test yamllint --skip-test import --skip-test runtime-metadata --skip-test changelog \
    --skip-test pslint)

echo "==> ansible-doc of every module"
for m in "$collection"/plugins/modules/*.py; do
  name=$(basename "$m" .py)
  ANSIBLE_COLLECTIONS_PATH=$work ansible-doc -t module "fjord.cluster.$name" >/dev/null
  echo "fjord.cluster.$name: documentation parses"
done

echo "==> ansible-galaxy collection build"
(cd "$work/ansible_collections/fjord/cluster" && ansible-galaxy collection build --output-path "$work")
ls "$work"/fjord-cluster-*.tar.gz
