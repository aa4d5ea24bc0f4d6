"""FIPS mode (common/tls/fips.h, docs/security.md) with the REAL OpenSSL FIPS
provider, built by scripts/build-fips-provider (cached outside the tree).

The provider's directory comes from $FJORD_FIPS_DIR, else from running
`scripts/build-fips-provider | tail -1` at the repo root. When neither gives a
loadable provider the tests FAIL: FIPS mode is not something to skip quietly.
FJORD_SKIP_FIPS=1 is the explicit opt-out (tests/e2e/README.md).

The kernel's flag file (/proc/sys/crypto/fips_enabled) is a file of the
test's own through `fips_flag_file`, so each case can say "1", "0" or nothing.

- Start-up refusals: `enabled` with the flag missing or "0", or with a wrong
  openssl_module_directory, exits non-zero with the cause and the file on
  stderr, and none of its ports ever accepted a connection (controller and
  broker alike).
- One cluster, three controller members and two brokers in `enabled`:
  every member and broker reports `enabled` (Status, `fjord controller
  status`, `fjord cluster info`, /metrics); `fjord security user create`
  refuses a 13-character password naming `password` and accepts 14; a PLAIN
  login with a 13-character password is refused saying why.
- Over TLS (both brokers serve kafka_tls): librdkafka produces and consumes
  over SASL_SSL with SCRAM-SHA-256 and SCRAM-SHA-512, and a client offering
  only ChaCha20-Poly1305 is refused while an AES-GCM suite is accepted.
- A third broker in `permissive` with no flag file starts, logs the warning,
  and shows as the odd one out: `fjord cluster info` lists it as permissive
  and the leader's fjord_cluster_non_homogenous_fips_mode is 1.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import socket
import ssl
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import (BROKER, BINARY, BUILD_DIR, REPO_ROOT, Broker, Cluster, fjord, free_port,
                      kcat, md, metric, parse_metrics, pb, wait_until)

RDKAFKA_CLIENT = BUILD_DIR / "bin" / "rdkafka_client"
TOPIC = "payments"
ADMIN = ("fips-admin", "admin-password-1234")  # 19 characters
SHA512_USER = ("fips-sha512", "sha512-password-99")


# ----------------------------------------------------------- the provider


def _provider_dir() -> tuple[Path, str]:
    """The provider's directory, or a reason it is unavailable (every test
    then fails with it; the rest of the suite still runs)."""
    if os.environ.get("FJORD_SKIP_FIPS") == "1":
        pytest.skip("FJORD_SKIP_FIPS=1: FIPS tests opted out", allow_module_level=True)
    given = os.environ.get("FJORD_FIPS_DIR")
    if given:
        d = Path(given)
    else:
        p = subprocess.run(["bash", "-c", "scripts/build-fips-provider | tail -1"],
                           cwd=REPO_ROOT, capture_output=True, text=True, timeout=1800)
        if p.returncode != 0 or not p.stdout.strip():
            return Path("/nonexistent"), (
                "FIPS provider unavailable: scripts/build-fips-provider failed (set "
                f"FJORD_FIPS_DIR, or FJORD_SKIP_FIPS=1 to opt out):\n{p.stderr}")
        d = Path(p.stdout.strip().splitlines()[-1])
    for f in ("fips.so", "fipsmodule.cnf", "openssl.cnf"):
        if not (d / f).is_file():
            return d, (f"FIPS provider unavailable: {d} has no {f} (FJORD_FIPS_DIR or "
                       "scripts/build-fips-provider; FJORD_SKIP_FIPS=1 to opt out)")
    return d, ""


FIPS_DIR, FIPS_UNAVAILABLE = _provider_dir()


@pytest.fixture(autouse=True)
def _require_provider():
    if FIPS_UNAVAILABLE:
        pytest.fail(FIPS_UNAVAILABLE, pytrace=False)


def fips_lines(mode: str, flag_file: Path, module_dir: Path | None = None) -> str:
    return (f"fips_mode: {mode}\n"
            f"openssl_config_file: {FIPS_DIR / 'openssl.cnf'}\n"
            f"openssl_module_directory: {module_dir or FIPS_DIR}\n"
            f"fips_flag_file: {flag_file}\n")


def with_config_tail(member, tail: str) -> None:
    """Makes `member` (conftest.Member) append `tail` to every config it writes."""
    write = member.write_config

    def write_config(*a, **kw):
        p = write(*a, **kw)
        with open(p, "a", encoding="utf-8") as f:
            f.write(tail)
        return p

    member.write_config = write_config


def flag_file(dirpath: Path, contents: str | None) -> Path:
    p = dirpath / "fips_enabled"
    if contents is not None:
        p.write_text(contents)
    return p


# ------------------------------------------------- start-up refusals


def run_watching_ports(argv: list, ports: list[int], timeout: float = 15.0):
    """Runs a process of ours to its exit while trying to connect to `ports`
    the whole time; returns (exit status, stderr, ports that accepted)."""
    accepted: set[int] = set()
    p = subprocess.Popen(["/usr/bin/setpriv", "--pdeathsig", "SIGKILL", "--", *argv],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True, start_new_session=True)
    done = threading.Event()

    def probe():
        while not done.is_set():
            for port in ports:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.05):
                        accepted.add(port)
                except OSError:
                    pass
            time.sleep(0.001)

    t = threading.Thread(target=probe, daemon=True)
    t.start()
    try:
        _, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        _, err = p.communicate()
        raise AssertionError(f"{argv[0]} still running after {timeout}s (killed): {err}")
    finally:
        time.sleep(0.05)  # one more round of probes after the exit
        done.set()
        t.join()
    return p.returncode, err, accepted


def controller_argv(tmp: Path, tail: str) -> tuple[list, list[int], Path]:
    api, peer, metrics = free_port(), free_port(), free_port()
    data = tmp / "data"
    cfg = tmp / "controller.yaml"
    cfg.write_text(
        "node_id: 1\n"
        f"data_dir: {data}\n"
        f"listen: {{api: 127.0.0.1:{api}, peer: 127.0.0.1:{peer}, metrics: 127.0.0.1:{metrics}}}\n"
        f"initial_members:\n  - {{id: 1, peer: 127.0.0.1:{peer}, api: 127.0.0.1:{api}}}\n"
        + tail)
    return [str(BINARY), "--config", str(cfg)], [api, peer, metrics], data


def broker_argv(tmp: Path, tail: str) -> tuple[list, list[int], Path]:
    kafka, metrics = free_port(), free_port()
    data = tmp / "data"
    cfg = tmp / "broker.yaml"
    cfg.write_text(
        "node_id: 1\n"
        f"data_dir: {data}\n"
        f"controllers: [127.0.0.1:{free_port()}]\n"
        f"listen:\n  kafka: 127.0.0.1:{kafka}\n  metrics: 127.0.0.1:{metrics}\n" + tail)
    return [str(BROKER), "--config", str(cfg)], [kafka, metrics], data


@pytest.mark.parametrize("daemon", ["controller", "broker"])
@pytest.mark.parametrize("case", ["flag missing", "flag 0", "wrong module directory"])
def test_enabled_refuses_to_start_before_listening(tmp_path: Path, daemon: str, case: str):
    flag = flag_file(tmp_path, {"flag missing": None, "flag 0": "0\n"}.get(case, "1\n"))
    wrong_dir = tmp_path / "no-provider-here"
    wrong_dir.mkdir()
    tail = fips_lines("enabled", flag, wrong_dir if case == "wrong module directory" else None)
    argv, ports, data = (controller_argv if daemon == "controller" else broker_argv)(tmp_path,
                                                                                     tail)
    rc, err, accepted = run_watching_ports(argv, ports)
    assert rc != 0, f"fjord-{daemon} started in FIPS mode with {case}:\n{err}"
    assert not accepted, f"fjord-{daemon} listened on {sorted(accepted)} before refusing"
    # Nothing of the node was made either: the check runs before the data dir.
    assert not data.exists()
    expected = {
        "flag missing": [f"File '{flag}' does not exist", "cannot start in FIPS mode"],
        "flag 0": [f"File '{flag}' not reporting '1'", "cannot start in FIPS mode"],
        "wrong module directory": [f"Failed to load 'fips' provider from {wrong_dir}",
                                   str(wrong_dir / "fips.so")],
    }[case]
    for text in expected:
        # Once as the log line (level ERROR), once as the exit reason.
        assert err.count(text) >= 2, f"stderr lacks {text!r} twice:\n{err}"
    assert " ERROR fips: " in err, err
    assert f"fjord-{daemon}: " in err, err


# ------------------------------------------------- a cluster in FIPS mode


def make_certs(d: Path) -> tuple[Path, Path, Path]:
    """A private CA (EC P-256) and a server certificate for 127.0.0.1."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)

    def name(cn):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name("fips test CA")).issuer_name(
        name("fips test CA")).public_key(ca_key.public_key()).serial_number(
            x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
          .not_valid_after(now + datetime.timedelta(days=2)).add_extension(
              x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(
                  ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(name("broker-2")).issuer_name(
        ca.subject).public_key(key.public_key()).serial_number(
            x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=2)).add_extension(
                x509.SubjectAlternativeName([
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1"))
                ]), critical=False).sign(ca_key, hashes.SHA256()))
    paths = (d / "ca.crt", d / "broker.crt", d / "broker.key")
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                          serialization.NoEncryption()))
    os.chmod(paths[2], 0o600)
    return paths


class FipsCluster:
    def __init__(self, cluster: Cluster, brokers: dict[int, Broker], ca: Path, root: Path):
        self.cluster = cluster
        self.brokers = brokers
        self.ca = ca
        self.root = root


def add_broker(cluster: Cluster, root: Path, broker_id: int, tail: str) -> Broker:
    b = Broker(cluster, root, broker_id)
    with open(b.dir / "broker.yaml", "a", encoding="utf-8") as f:
        f.write(tail)
    b.start()
    return b


def applied_revision(b: Broker) -> int:
    samples = parse_metrics(http_get(b.metrics_port))
    return int(metric(samples, "fjord_broker_applied_revision") or 0)


def http_get(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        return r.read().decode()


@pytest.fixture(scope="module")
def fips(tmp_path_factory) -> FipsCluster:
    if FIPS_UNAVAILABLE:
        pytest.fail(FIPS_UNAVAILABLE, pytrace=False)
    root = tmp_path_factory.mktemp("fips")
    flag = flag_file(root, "1\n")
    c = Cluster(root / "cluster")
    c.root.mkdir()
    brokers: dict[int, Broker] = {}
    try:
        for m in c.add(range(1, 4), founders=True):
            with_config_tail(m, fips_lines("enabled", flag))
        c.start()
        c.wait_for_leader(timeout=15)
        ca, cert, key = make_certs(root)
        # Every broker of the cluster serves TLS: a client of the topic
        # reaches whichever broker leads a partition, over one protocol.
        for i in (1, 2):
            brokers[i] = add_broker(
                c, root, i,
                fips_lines("enabled", flag) + f"kafka_tls: {{enabled: true, cert_file: {cert}, "
                f"key_file: {key}, truststore_file: {ca}}}\n")
        for name, password, mech in ((*ADMIN, "scram-sha-256"), (*SHA512_USER, "scram-sha-512")):
            fjord(c, "security", "user", "create", name, "--password", password, "--mechanism",
                  mech)
        r = c.call("SetClusterConfig", pb.SetClusterConfigRequest(upsert={
            "enable_sasl": "true", "sasl_mechanisms": "SCRAM,PLAIN",
            "superusers": f"{ADMIN[0]},{SHA512_USER[0]}"}))
        assert all(x.code == pb.OK for x in r.results.values()), r
        r = c.call("CreateTopics", pb.CreateTopicsRequest(topics=[
            pb.CreateTopicsRequest.Item(name=TOPIC, partitions=2, replication_factor=1)]))
        assert r.topics[0].result.code == pb.OK, r
        for b in brokers.values():
            wait_until(lambda b=b: applied_revision(b) >= r.revision, 10,
                       f"broker {b.id} to apply revision {r.revision}")
        yield FipsCluster(c, brokers, ca, root)
    finally:
        for b in brokers.values():
            b.stop()
        c.stop_all()


def test_every_node_reports_enabled(fips: FipsCluster):
    c = fips.cluster
    leader = c.wait_for_leader()
    # Followers announce their mode on their Raft streams to the leader.
    def all_enabled():
        s = leader.status()
        return s if all(m.fips_mode == md.FIPS_MODE_ENABLED for m in s.members) else None

    st = wait_until(all_enabled, 10, "every member's mode known at the leader")
    assert st.fips_mode == md.FIPS_MODE_ENABLED and len(st.members) == 3
    out = json.loads(fjord(c, "controller", "status", "--format", "json").stdout)
    assert out["fips_mode"] == "enabled"
    assert [m["fips_mode"] for m in out["members"]] == ["enabled"] * 3, out
    text = fjord(c, "controller", "status").stdout
    assert "FIPS_MODE" in text and text.count("enabled") == 3, text

    info = json.loads(fjord(c, "cluster", "info", "--format", "json").stdout)
    assert {b["id"]: b["fips_mode"] for b in info["brokers"]} == {1: "enabled", 2: "enabled"}
    yaml_out = fjord(c, "cluster", "info", "--format", "yaml").stdout
    assert yaml_out.count('fips_mode: "enabled"') == 2, yaml_out

    for m in c.members.values():
        assert metric(parse_metrics(http_get(m.metrics_port)), "fjord_fips_mode") == 2
    for b in fips.brokers.values():
        assert metric(parse_metrics(http_get(b.metrics_port)), "fjord_fips_mode") == 2
    assert metric(parse_metrics(http_get(leader.metrics_port)),
                  "fjord_cluster_non_homogenous_fips_mode") == 0
    # Only the leader exports the cluster-wide figure.
    for m in c.members.values():
        if m is not leader:
            assert metric(parse_metrics(http_get(m.metrics_port)),
                          "fjord_cluster_non_homogenous_fips_mode") is None


def test_user_create_needs_14_characters(fips: FipsCluster):
    c = fips.cluster
    p = fjord(c, "security", "user", "create", "short-pw", "--password", "x" * 13, check=False)
    assert p.returncode != 0
    assert "INVALID_ARGUMENT" in p.stderr and "password: 13 characters" in p.stderr, p.stderr
    assert "FIPS mode needs at least 14" in p.stderr, p.stderr
    users = json.loads(fjord(c, "security", "user", "list", "--format", "json").stdout)
    assert "short-pw" not in json.dumps(users)

    fjord(c, "security", "user", "create", "long-pw", "--password", "y" * 14)
    p = fjord(c, "security", "user", "update", "long-pw", "--password", "z" * 13, "--mechanism",
              "scram-sha-256", check=False)
    assert p.returncode != 0 and "password: 13 characters" in p.stderr, p.stderr
    fjord(c, "security", "user", "delete", "long-pw")

    # A credential derived by the caller (Kafka's AlterUserScramCredentials)
    # hides the password; what FIPS can check is its salt (SP 800-132: 16
    # bytes at least).
    def given(salt: bytes) -> pb.UserResponse:
        cred = md.ScramCredential(mechanism="SCRAM-SHA-256", salt=salt, iterations=4096,
                                  stored_key=b"s" * 32, server_key=b"k" * 32)
        return c.call("CreateUser", pb.CreateUserRequest(name="derived", credential=cred))

    r = given(b"8 bytes!")
    assert r.result.code == pb.INVALID_ARGUMENT and r.result.field == "credential.salt", r
    assert "FIPS mode needs a salt of at least 16 bytes" in r.result.message, r
    r = given(b"sixteen bytes!!!")
    assert r.result.code == pb.OK, r
    fjord(c, "security", "user", "delete", "derived")


def test_plain_login_with_a_short_password_is_refused(fips: FipsCluster):
    b = fips.brokers[1]
    tls = ["-X", "security.protocol=SASL_SSL", "-X", f"ssl.ca.location={fips.ca}"]
    p = kcat("-b", b.bootstrap, "-L", *tls, "-X", "sasl.mechanisms=PLAIN", "-X",
             f"sasl.username={ADMIN[0]}", "-X", "sasl.password=thirteen-char", "-m", "2")
    assert p.returncode != 0
    assert "FIPS mode needs a password of at least 14 characters" in p.stderr, p.stderr
    ok = kcat("-b", b.bootstrap, "-L", *tls, "-X", "sasl.mechanisms=PLAIN", "-X",
              f"sasl.username={ADMIN[0]}", "-X", f"sasl.password={ADMIN[1]}", "-m", "5")
    assert ok.returncode == 0 and TOPIC in ok.stdout, ok.stderr


def rdkafka(*args: str) -> dict:
    p = subprocess.run([str(RDKAFKA_CLIENT), *args], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, f"rdkafka_client {' '.join(args)}:\n{p.stdout}\n{p.stderr}"
    return json.loads(p.stdout.strip().splitlines()[-1])


def produce_consume(bootstrap: str, user: tuple[str, str], mechanism: str, *security: str):
    auth = ["--set", f"sasl.mechanisms={mechanism}", "--set", f"sasl.username={user[0]}",
            "--set", f"sasl.password={user[1]}", *security]
    produced = rdkafka("produce", "--bootstrap", bootstrap, "--topic", TOPIC, "--count", "200",
                       "--size", "1024", *auth)
    assert produced["delivered"] == 200 and produced["failed"] == 0, produced
    consumed = rdkafka("consume", "--bootstrap", bootstrap, "--topic", TOPIC, "--count", "200",
                       "--timeout-s", "20", *auth)
    assert consumed["consumed"] >= 200, consumed


# ------------------------------------------------------------ over TLS


def test_tls_scram_produce_and_consume_with_librdkafka(fips: FipsCluster):
    tls = ["--set", "security.protocol=SASL_SSL", "--set", f"ssl.ca.location={fips.ca}"]
    b = fips.brokers[1]
    produce_consume(b.bootstrap, ADMIN, "SCRAM-SHA-256", *tls)
    produce_consume(b.bootstrap, SHA512_USER, "SCRAM-SHA-512", *tls)


def test_tls_refuses_a_chacha20_only_client(fips: FipsCluster):
    b = fips.brokers[2]

    def handshake(ciphers: str | None) -> str:
        ctx = ssl.create_default_context(cafile=str(fips.ca))
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        if ciphers:
            ctx.set_ciphers(ciphers)
        with socket.create_connection(("127.0.0.1", b.port), timeout=3) as raw:
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
                return s.cipher()[0]

    # An approved suite works (so the refusal below is about the cipher).
    assert "GCM" in handshake(None)
    with pytest.raises(ssl.SSLError) as e:
        handshake("ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305")
    assert "HANDSHAKE_FAILURE" in str(e.value).upper() or "NO_SHARED_CIPHER" in str(
        e.value).upper() or "ALERT" in str(e.value).upper(), e.value


# ----------------------------------------------- a broker in another mode


def test_permissive_broker_without_flag_starts_warns_and_shows_as_mixed(fips: FipsCluster):
    c = fips.cluster
    b3 = add_broker(c, fips.root, 3, fips_lines("permissive", fips.root / "no-such-flag"))
    try:
        log = b3.log()
        assert f"File '{fips.root / 'no-such-flag'}' does not exist" in log, log
        assert "not a supported configuration" in log and " WARN fips: " in log, log
        assert metric(parse_metrics(http_get(b3.metrics_port)), "fjord_fips_mode") == 1

        def modes():
            info = json.loads(fjord(c, "cluster", "info", "--format", "json").stdout)
            return {b["id"]: b["fips_mode"] for b in info["brokers"]}

        assert wait_until(lambda: modes().get(3) == "permissive", 10, "broker 3 registered")
        assert modes() == {1: "enabled", 2: "enabled", 3: "permissive"}
        table = fjord(c, "cluster", "info", "--print-brokers").stdout
        assert "FIPS_MODE" in table and "permissive" in table, table

        leader = c.wait_for_leader()
        assert metric(parse_metrics(http_get(leader.metrics_port)),
                      "fjord_cluster_non_homogenous_fips_mode") == 1
    finally:
        b3.stop()
