"""Shadow links from a secured source (issue 17, docs/shadow-links.md): the
source is `fjord dev start --name ssrc --sasl --tls` (SASL/SCRAM and TLS on
its Kafka listener), the shadow an ordinary dev cluster `--name sdst`. The
link authenticates with the source's superuser over SCRAM, trusts the source's
dev CA by file, and a topic's records arrive at the same offsets; a wrong
password is refused at create, naming the failure, with nothing created.

Both clusters are purged at the end, pass or fail (test_shadow_links.Dev).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from test_shadow_links import Dev, wait_until, write

REPLICATION_TIMEOUT = 60


@pytest.fixture(scope="module")
def dev(tmp_path_factory):
    d = Dev(tmp_path_factory.mktemp("shadow-secured-home"))
    try:
        for name, flags in (("ssrc", ["--sasl", "--tls"]), ("sdst", [])):
            p = d.run("dev", "start", "--name", name, "-n", "1", *flags, "--timeout", "90s",
                      timeout=180)
            assert p.returncode == 0, f"dev start --name {name}:\n{p.stdout}\n{p.stderr}"
        yield d
    finally:
        for name in ("sdst", "ssrc"):
            d.purge(name)


def link_yaml(dev: Dev, name: str, password: str | None = None) -> str:
    st = dev.json("dev", "status", "--name", "ssrc")
    # What `dev start --sasl --tls` wrote: the superuser (0600) and the CA.
    creds = json.loads((dev.state("ssrc") / "sasl.json").read_text())
    ca = dev.state("ssrc") / "tls" / "ca.crt"
    servers = st["bootstrap_servers"]
    servers = servers if isinstance(servers, list) else servers.split(",")
    return f"""name: {name}
client_options:
  bootstrap_servers: [{", ".join(servers)}]
  tls_settings:
    enabled: true
    tls_file_settings: {{ca_path: {ca}}}
  authentication_configuration:
    scram_configuration:
      username: {creds["user"]}
      password: "{password if password is not None else creds["password"]}"
      scram_mechanism: {creds["mechanism"]}
topic_metadata_sync_options:
  interval: 1s
  auto_create_shadow_topic_filters:
    - {{pattern_type: PREFIX, filter_type: INCLUDE, name: sec-}}
"""


def test_a_sasl_and_tls_source_replicates_and_a_wrong_password_is_refused(dev: Dev,
                                                                         tmp_path: Path):
    # A wrong password: the preflight fails naming SASL, nothing is created.
    bad = write(tmp_path, "bad.yaml", link_yaml(dev, "secured", password="wrong-password"))
    p = dev.run("--profile", "sdst", "shadow", "create", "-c", str(bad), "--no-confirm")
    assert p.returncode == 1, p.stdout + p.stderr
    assert "SASL" in p.stderr, p.stderr
    listed = dev.json("--profile", "sdst", "shadow", "list")
    assert listed == [] or listed is None, listed

    dev.ok("--profile", "ssrc", "topic", "create", "sec-orders", "-p", "2")
    dev.ok("--profile", "ssrc", "topic", "produce", "sec-orders", "-k", "k",
           stdin="".join(f"v{i}\n" for i in range(20)))
    good = write(tmp_path, "good.yaml", link_yaml(dev, "secured"))
    p = dev.ok("--profile", "sdst", "shadow", "create", "-c", str(good), "--no-confirm")
    assert 'Successfully created shadow link "secured"' in p.stdout, p.stdout

    def copied():
        st = dev.json("--profile", "sdst", "shadow", "status", "secured")
        for t in st.get("topics") or []:
            if t["name"] == "sec-orders":
                parts = t.get("partitions") or []
                if len(parts) == 2 and sum(max(0, x["dst_hwm"]) for x in parts) == 20:
                    return st
        return None
    wait_until(copied, REPLICATION_TIMEOUT, "sec-orders copied over SASL and TLS")
