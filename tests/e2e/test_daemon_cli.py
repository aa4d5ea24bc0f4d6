"""The daemons' and the CLI's command lines as packages and automation use
them (docs/packaging.md): `--version` of both daemons and `fjord version`
(text, JSON, YAML) name the release, the git revision and the build type;
without --config a daemon reads its packaged default and, when that is
missing, says which file it looked for; `fjord __generate man` writes pages
that `man` renders without warnings and that list the command's flags.

No servers: every process here exits by itself.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import BINARY, BROKER, FJORD

VERSION_LINE = re.compile(r"^(?P<prog>\S+) (?P<version>\d+\.\d+\.\d+) "
                          r"\((?P<rev>[^,]+), (?P<type>[^)]+)\)$")


def run(*argv: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=30,
                          env=env)


@pytest.mark.parametrize("binary,name", [(BINARY, "fjord-controller"), (BROKER, "fjord-broker")])
def test_daemon_version(binary: Path, name: str):
    p = run(binary, "--version")
    assert p.returncode == 0, p.stderr
    m = VERSION_LINE.match(p.stdout.strip())
    assert m, p.stdout
    assert m["prog"] == name
    assert m["type"] != "" and m["rev"] != ""


def test_fjord_version_text_json_yaml(tmp_path: Path):
    env = {**os.environ, "HOME": str(tmp_path)}
    daemon = VERSION_LINE.match(run(BINARY, "--version").stdout.strip())
    doc = json.loads(run(FJORD, "version", "--format", "json", env=env).stdout)
    assert doc == {"version": daemon["version"], "git_revision": daemon["rev"],
                   "build_type": daemon["type"]}
    text = run(FJORD, "version", env=env).stdout
    assert text == (f"fjord {doc['version']}\ngit revision: {doc['git_revision']}\n"
                    f"build type:   {doc['build_type']}\n")
    yaml_out = run(FJORD, "version", "--format", "yaml", env=env).stdout
    assert f'git_revision: "{doc["git_revision"]}"' in yaml_out
    flag = run(FJORD, "--version", env=env)
    assert flag.returncode == 0
    assert flag.stdout.strip() == (f"fjord {doc['version']} ({doc['git_revision']}, "
                                   f"{doc['build_type']})")


@pytest.mark.parametrize("binary,default", [(BINARY, "/etc/fjord/controller.yaml"),
                                            (BROKER, "/etc/fjord/broker.yaml")])
def test_daemon_default_config(binary: Path, default: str):
    """Without --config the packaged default is read; this machine may have the
    packages installed (scripts/test-packages), so only its absence is
    asserted on, and otherwise that the usage names the default."""
    usage = run(binary, "--help")
    assert usage.returncode == 0
    assert f"default: {default}" in usage.stdout
    if not os.path.exists(default):
        p = run(binary)
        assert p.returncode == 1
        assert default in p.stderr and "--config" in p.stderr, p.stderr
    p = run(binary, "--config")
    assert p.returncode == 2 and "needs a file" in p.stderr, p.stderr


@pytest.mark.skipif(shutil.which("man") is None, reason="man (man-db) is not installed")
def test_generated_man_pages_render(tmp_path: Path):
    env = {**os.environ, "HOME": str(tmp_path), "MANWIDTH": "80"}
    out = tmp_path / "man1"
    p = run(FJORD, "__generate", "man", out, env=env)
    assert p.returncode == 0, p.stderr
    pages = sorted(x.name for x in out.iterdir())
    assert "fjord.1" in pages and "fjord-topic-create.1" in pages
    assert not any("__generate" in x for x in pages)
    for name in ("fjord.1", "fjord-topic-create.1", "fjord-security-acl-create.1"):
        r = run("man", "--warnings", "-E", "UTF-8", "-l", out / name, env=env)
        assert r.returncode == 0, r.stderr
        assert r.stderr == "", (name, r.stderr)
    text = run("man", "-l", out / "fjord-topic-create.1", env=env).stdout
    assert "fjord-topic-create - " in text
    assert "--partitions" in text and "--replicas" in text
    assert "GLOBAL OPTIONS" in text and "--format" in text
    # The hidden generator is neither documented nor completed.
    root = run("man", "-l", out / "fjord.1", env=env).stdout
    assert "fjord-topic(1)" in root and "__generate" not in root
    assert "__generate" not in run(FJORD, "completion", "bash", env=env).stdout
