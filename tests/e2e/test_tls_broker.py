"""TLS on the broker, with real clients against real processes.

Certificates are made here with the `openssl` command (EC P-256 keys, a
private CA). One controller per test (TLS on its API only where the
broker->controller link is the subject), one fjord-broker with `kafka_tls`,
and clients nobody here wrote:

- kcat, kafka-python and librdkafka (tests/clients/rdkafka_client) produce
  and consume over TLS; SASL_SSL with a SCRAM user.
- Mutual TLS: the client certificate's subject, through
  principal_mapping_rules, is the principal ACLs decide on (CN=Alice may
  write, CN=Mallory is refused with TOPIC_AUTHORIZATION_FAILED); a subject no
  rule maps is refused with a log line naming it.
- Certificate reload: new files are served to new connections without a
  restart; a mismatched key is refused with a log line and the previous
  certificate keeps serving; SIGHUP reloads at once.
- Bad input, each failing with a clear error on the side that can act on it
  while the broker keeps serving others: an expired certificate at start
  (the broker exits naming the file), an untrusted CA and a wrong host
  (client errors), a plaintext client on the TLS port and a TLS client on a
  plaintext port (a broker log line each).
- The broker's link to controllers serving TLS (controller_tls), with a
  client certificate: registration, Watch and forwarded admin requests; a
  broker that does not trust the controllers' CA logs why.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import ssl
import subprocess
import time
import urllib.request
from pathlib import Path

import grpc
import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.conn import BrokerConnection
from kafka.protocol.produce import ProduceRequest
from kafka.record import MemoryRecordsBuilder

from conftest import (BROKER, BUILD_DIR, Broker, Cluster, kcat, md, pb, pb_grpc, run_to_exit,
                      spawn, wait_until)

RDKAFKA_CLIENT = BUILD_DIR / "bin" / "rdkafka_client"
TOPIC = "secure"
TOPIC_AUTHORIZATION_FAILED = 29
MAPPING_RULES = "RULE:^CN=([^,]+).*$/$1/L,DEFAULT"


# ---------------------------------------------------------------- certificates


def openssl(*args: str) -> None:
    r = subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, f"openssl {' '.join(args)}: {r.stderr}"


class Pki:
    """A private CA in `dir` and the certificates it issues, as PEM files."""

    def __init__(self, dir: Path, name: str):
        self.dir = dir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.ca = self.dir / f"{name}-ca.pem"
        self.ca_key = self.dir / f"{name}-ca.key"
        self._serial = 100
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", str(self.ca_key), "-out", str(self.ca), "-subj", f"/CN={name} CA",
                "-days", "30")

    def issue(self, name: str, subject: str, ip: str | None = None, dns: str | None = None,
              days: int = 30, key: Path | None = None) -> tuple[Path, Path]:
        """(cert, key) for `subject` ("/CN=x/O=y"); a new key unless `key`."""
        self._serial += 1
        cert = self.dir / f"{name}.pem"
        if key is None:
            key = self.dir / f"{name}.key"
            openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-out", str(key))
        csr = self.dir / f"{name}.csr"
        openssl("req", "-new", "-key", str(key), "-out", str(csr), "-subj", subject)
        ext = self.dir / f"{name}.ext"
        sans = [f"IP:{ip}"] if ip else []
        sans += [f"DNS:{dns}"] if dns else []
        ext.write_text("basicConstraints=CA:FALSE\n"
                       "extendedKeyUsage=serverAuth,clientAuth\n" +
                       (f"subjectAltName={','.join(sans)}\n" if sans else ""))
        # days=-1: valid from now, expired since yesterday.
        openssl("x509", "-req", "-in", str(csr), "-CA", str(self.ca), "-CAkey", str(self.ca_key),
                "-set_serial", str(self._serial), "-days", str(days), "-extfile", str(ext),
                "-out", str(cert))
        return cert, key


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("pki")
    ca = Pki(root, "fjord")
    stranger = Pki(root, "stranger")
    return {
        "ca": ca,
        "stranger": stranger,
        # Only the address clients dial: "localhost" is a wrong host.
        "broker": ca.issue("broker", "/CN=broker-1", ip="127.0.0.1"),
        "controller": ca.issue("controller", "/CN=controller-1", ip="127.0.0.1"),
        "broker-client": ca.issue("broker-client", "/CN=broker-1/O=Fjord"),
        "alice": ca.issue("alice", "/O=Example/CN=Alice"),
        "mallory": ca.issue("mallory", "/O=Example/CN=Mallory"),
        "stranger-alice": stranger.issue("stranger-alice", "/CN=Alice"),
    }


def server_certificate(port: int, ca: Path) -> dict:
    """The certificate a new TLS connection to `port` is served (Python's ssl)."""
    ctx = ssl.create_default_context(cafile=str(ca))
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            return s.getpeercert()


def serial_of(port: int, ca: Path) -> int:
    return int(server_certificate(port, ca)["serialNumber"], 16)


# ---------------------------------------------------------------- processes


@pytest.fixture
def controller(cluster_factory) -> Cluster:
    c = cluster_factory(1)
    c.start()
    c.wait_for_leader(timeout=15)
    return c


def tls_broker(cluster: Cluster, tmp_path: Path, pki: dict, extra: str = "",
               require_client_auth: bool = False) -> Broker:
    """A broker whose Kafka listener serves the `broker` certificate."""
    b = Broker(cluster, tmp_path)
    cert, key = pki["broker"]
    with open(b.dir / "broker.yaml", "a", encoding="utf-8") as f:
        f.write(f"kafka_tls:\n  enabled: true\n  cert_file: {cert}\n  key_file: {key}\n"
                f"  truststore_file: {pki['ca'].ca}\n"
                f"  require_client_auth: {'true' if require_client_auth else 'false'}\n" + extra)
    return b


def applied_revision(b: Broker) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{b.metrics_port}/metrics", timeout=2) as r:
        for line in r.read().decode().splitlines():
            if line.startswith("fjord_broker_applied_revision "):
                return int(float(line.split()[1]))
    return 0


def create_topic(cluster: Cluster, b: Broker, name: str = TOPIC) -> None:
    """Creates `name` (one partition) and waits until `b` serves it."""
    r = cluster.call("CreateTopics", pb.CreateTopicsRequest(topics=[
        pb.CreateTopicsRequest.Item(name=name, partitions=1, replication_factor=1)]))
    assert r.topics[0].result.code == pb.OK, r
    wait_until(lambda: applied_revision(b) >= r.revision, 10, f"broker to apply {name}")


def log_text(b: Broker) -> str:
    return (b.dir / "broker.log").read_text(errors="replace")


def wait_log(b: Broker, pattern: str, after: int = 0, timeout: float = 5) -> str:
    """Waits for a broker log line matching `pattern` past offset `after`."""
    rx = re.compile(pattern)

    def find():
        for line in log_text(b)[after:].splitlines():
            if rx.search(line):
                return line
        return None

    return wait_until(find, timeout, f"a broker log line matching {pattern!r}")


def ssl_kcat(b: Broker, ca: Path, *args: str, stdin: str | None = None,
             bootstrap: str | None = None, extra: tuple = ()) -> subprocess.CompletedProcess:
    return kcat("-b", bootstrap or b.bootstrap, "-X", "security.protocol=ssl",
                "-X", f"ssl.ca.location={ca}", *extra, *args, stdin=stdin, timeout=30)


def take(consumer: KafkaConsumer, n: int) -> list[bytes]:
    """The values of the first `n` records (fewer if 5 s pass without one)."""
    out = []
    for m in consumer:
        out.append(m.value)
        if len(out) == n:
            break
    return out


def records(*values: bytes) -> bytes:
    builder = MemoryRecordsBuilder(magic=2, compression_type=0, batch_size=1 << 20)
    for v in values:
        builder.append(timestamp=int(time.time() * 1000), key=None, value=v, headers=[])
    builder.close()
    return bytes(builder.buffer())


def produce_code(conn: BrokerConnection, value: bytes) -> int:
    fut = conn.send(ProduceRequest[3](transactional_id=None, required_acks=1, timeout=5000,
                                      topics=[(TOPIC, [(0, records(value))])]))
    deadline = time.monotonic() + 10
    while not fut.is_done and time.monotonic() < deadline:
        for resp, f in conn.recv():
            f.success(resp)
        time.sleep(0.005)
    assert fut.is_done and fut.succeeded(), fut.exception
    return fut.value.topics[0][1][0][1]


# ---------------------------------------------------------------- tests


@pytest.mark.timeout(90)
def test_clients_produce_and_consume_over_tls_and_bad_clients_fail_clearly(
        controller, tmp_path, pki):
    b = tls_broker(controller, tmp_path, pki)
    b.start()
    create_topic(controller, b)
    ca = pki["ca"].ca
    try:
        # kcat.
        r = ssl_kcat(b, ca, "-P", "-t", TOPIC, "-p", "0", stdin="k1\nk2\n")
        assert r.returncode == 0, r.stderr
        r = ssl_kcat(b, ca, "-C", "-t", TOPIC, "-p", "0", "-o", "beginning", "-e", "-q")
        assert r.returncode == 0 and r.stdout.split() == ["k1", "k2"], r

        # kafka-python.
        producer = KafkaProducer(bootstrap_servers=b.bootstrap, security_protocol="SSL",
                                 ssl_cafile=str(ca), ssl_check_hostname=True)
        for v in (b"p1", b"p2"):
            producer.send(TOPIC, v, partition=0).get(timeout=10)
        producer.close()
        consumer = KafkaConsumer(bootstrap_servers=b.bootstrap, security_protocol="SSL",
                                 ssl_cafile=str(ca), auto_offset_reset="earliest",
                                 enable_auto_commit=False, consumer_timeout_ms=5000)
        consumer.assign([TopicPartition(TOPIC, 0)])
        assert take(consumer, 4) == [b"k1", b"k2", b"p1", b"p2"]
        consumer.close()

        # librdkafka's C++ API: 2,000 records of 1 KiB each way.
        tls_args = ["--set", "security.protocol=ssl", "--set", f"ssl.ca.location={ca}"]
        p = subprocess.run([str(RDKAFKA_CLIENT), "produce", "--bootstrap", b.bootstrap,
                            "--topic", TOPIC, "--count", "2000", "--size", "1024", *tls_args],
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stdout + p.stderr
        assert json.loads(p.stdout.splitlines()[-1])["delivered"] == 2000
        p = subprocess.run([str(RDKAFKA_CLIENT), "consume", "--bootstrap", b.bootstrap,
                            "--topic", TOPIC, "--count", "2004", "--timeout-s", "20", *tls_args],
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stdout + p.stderr
        assert json.loads(p.stdout.splitlines()[-1])["consumed"] == 2004

        # A client that does not trust the broker's CA: a client error
        # saying so; the broker logs the client's refusal.
        mark = len(log_text(b))
        r = ssl_kcat(b, pki["stranger"].ca, "-L", "-m", "1")
        assert r.returncode != 0
        assert "certificate verify failed" in r.stderr, r.stderr
        wait_log(b, r"TLS handshake failed: .*unknown ca \(the client does not trust", after=mark)
        # A wrong host: the certificate names 127.0.0.1, not localhost.
        r = ssl_kcat(b, ca, "-L", "-m", "1", bootstrap=f"localhost:{b.port}")
        assert r.returncode != 0
        assert "certificate verify failed" in r.stderr, r.stderr
        wait_log(b, r"TLS handshake failed: .*does it name the host the client dialed", after=mark)
        with pytest.raises(ssl.SSLCertVerificationError, match="IP address mismatch|Hostname"):
            ctx = ssl.create_default_context(cafile=str(ca))
            with socket.create_connection(("127.0.0.1", b.port), timeout=5) as raw:
                ctx.wrap_socket(raw, server_hostname="broker.example.com")

        # A plaintext Kafka client on the TLS port: it gets nothing, the
        # broker says what happened.
        mark = len(log_text(b))
        r = kcat("-b", b.bootstrap, "-L", "-m", "1")
        assert r.returncode != 0
        wait_log(b, r"127\.0\.0\.1:\d+: TLS handshake failed: .*is the peer speaking plaintext\?",
                 after=mark)

        # The broker kept serving throughout.
        r = ssl_kcat(b, ca, "-C", "-t", TOPIC, "-p", "0", "-o", "beginning", "-c", "1", "-q")
        assert r.returncode == 0 and r.stdout.strip() == "k1", r
    finally:
        b.stop()


@pytest.mark.timeout(90)
def test_sasl_over_tls_with_a_scram_user(controller, tmp_path, pki):
    r = controller.call("CreateUser", pb.CreateUserRequest(name="alice", password="alice-secret",
                                                            mechanism="SCRAM-SHA-256"))
    assert r.result.code == pb.OK, r
    r = controller.call("SetClusterConfig", pb.SetClusterConfigRequest(upsert={
        "enable_sasl": "true", "sasl_mechanisms": "SCRAM", "superusers": "alice"}))
    assert all(x.code == pb.OK for x in r.results.values()), r
    b = tls_broker(controller, tmp_path, pki)
    b.start()
    create_topic(controller, b)
    ca = pki["ca"].ca
    sasl = ("-X", "security.protocol=sasl_ssl", "-X", "sasl.mechanisms=SCRAM-SHA-256",
            "-X", "sasl.username=alice", "-X", "sasl.password=alice-secret")
    try:
        r = kcat("-b", b.bootstrap, "-X", f"ssl.ca.location={ca}", *sasl, "-P", "-t", TOPIC,
                 "-p", "0", stdin="s1\ns2\n")
        assert r.returncode == 0, r.stderr
        consumer = KafkaConsumer(bootstrap_servers=b.bootstrap, security_protocol="SASL_SSL",
                                 ssl_cafile=str(ca), sasl_mechanism="SCRAM-SHA-256",
                                 sasl_plain_username="alice", sasl_plain_password="alice-secret",
                                 auto_offset_reset="earliest", enable_auto_commit=False,
                                 consumer_timeout_ms=5000)
        consumer.assign([TopicPartition(TOPIC, 0)])
        assert take(consumer, 2) == [b"s1", b"s2"]
        consumer.close()
        # TLS alone is not enough where SASL is required; a wrong password fails.
        r = ssl_kcat(b, ca, "-L", "-m", "1")
        assert r.returncode != 0
        r = kcat("-b", b.bootstrap, "-X", f"ssl.ca.location={ca}", *sasl[:-2],
                 "-X", "sasl.password=wrong", "-L", "-m", "1")
        assert r.returncode != 0 and "Authentication failed" in r.stderr, r.stderr
    finally:
        b.stop()


@pytest.mark.timeout(90)
def test_mutual_tls_principal_decides_acls(controller, tmp_path, pki):
    r = controller.call("SetClusterConfig", pb.SetClusterConfigRequest(upsert={
        "kafka_enable_authorization": "true"}))
    assert all(x.code == pb.OK for x in r.results.values()), r
    r = controller.call("CreateAcls", pb.CreateAclsRequest(bindings=[
        md.AclBinding(resource_type=md.ACL_RESOURCE_TOPIC, resource_name=TOPIC,
                      pattern_type=md.ACL_PATTERN_LITERAL, principal="User:alice", host="*",
                      operation=op, permission=md.ACL_PERMISSION_ALLOW)
        for op in (md.ACL_OPERATION_WRITE, md.ACL_OPERATION_READ, md.ACL_OPERATION_DESCRIBE)]))
    assert all(x.code == pb.OK for x in r.results), r
    b = tls_broker(controller, tmp_path, pki, require_client_auth=True,
                   extra=f'principal_mapping_rules: "{MAPPING_RULES}"\n')
    b.start()
    create_topic(controller, b)
    ca = pki["ca"].ca

    def identity(name):
        cert, key = pki[name]
        return ("-X", f"ssl.certificate.location={cert}", "-X", f"ssl.key.location={key}")

    def connect(name) -> BrokerConnection:
        cert, key = pki[name]
        c = BrokerConnection("127.0.0.1", b.port, socket.AF_INET, security_protocol="SSL",
                             ssl_cafile=str(ca), ssl_certfile=str(cert), ssl_keyfile=str(key),
                             api_version=(2, 5, 0), request_timeout_ms=10000)
        assert c.connect_blocking(timeout=10), f"{name} could not connect"
        return c

    try:
        # CN=Alice -> User:alice (the ACL allows); CN=Mallory -> User:mallory.
        r = ssl_kcat(b, ca, "-P", "-t", TOPIC, "-p", "0", stdin="from-alice\n",
                     extra=identity("alice"))
        assert r.returncode == 0, r.stderr
        r = ssl_kcat(b, ca, "-C", "-t", TOPIC, "-p", "0", "-o", "beginning", "-e", "-q",
                     extra=identity("alice"))
        assert r.returncode == 0 and r.stdout.split() == ["from-alice"], r
        alice, mallory = connect("alice"), connect("mallory")
        assert produce_code(alice, b"again from alice") == 0
        assert produce_code(mallory, b"from mallory") == TOPIC_AUTHORIZATION_FAILED
        alice.close()
        mallory.close()
        r = ssl_kcat(b, ca, "-P", "-t", TOPIC, "-p", "0", stdin="from-mallory\n",
                     extra=identity("mallory"))
        assert r.returncode != 0 and "Topic authorization failed" in r.stderr, r.stderr

        # No client certificate where one is required, and one from a CA the
        # broker does not trust: refused, named in the broker's log.
        mark = len(log_text(b))
        r = ssl_kcat(b, ca, "-L", "-m", "1")
        assert r.returncode != 0
        wait_log(b, r"TLS handshake failed: .*requires a client certificate", after=mark)
        r = ssl_kcat(b, ca, "-L", "-m", "1", extra=identity("stranger-alice"))
        assert r.returncode != 0
        wait_log(b, r"TLS handshake failed: .*not signed by a trusted CA", after=mark)
        r = ssl_kcat(b, ca, "-C", "-t", TOPIC, "-p", "0", "-o", "beginning", "-c", "1", "-q",
                     extra=identity("alice"))
        assert r.returncode == 0 and r.stdout.strip() == "from-alice", r
    finally:
        b.stop()


@pytest.mark.timeout(90)
def test_certificates_reload_without_restart_and_bad_files_are_refused(
        controller, tmp_path, pki):
    ca_pki: Pki = pki["ca"]
    live = tmp_path / "live"
    live.mkdir()
    cert, key = live / "broker.pem", live / "broker.key"
    first_cert, first_key = ca_pki.issue("reload-1", "/CN=broker-1", ip="127.0.0.1")
    cert.write_bytes(first_cert.read_bytes())
    key.write_bytes(first_key.read_bytes())
    b = Broker(controller, tmp_path)
    # No DEFAULT: a subject not starting with CN= maps to nobody.
    with open(b.dir / "broker.yaml", "a", encoding="utf-8") as f:
        f.write(f"kafka_tls:\n  enabled: true\n  cert_file: {cert}\n  key_file: {key}\n"
                f"  truststore_file: {ca_pki.ca}\n"
                'principal_mapping_rules: "RULE:^CN=([^,]+)$/$1/L"\n')
    b.start()
    try:
        first = serial_of(b.port, ca_pki.ca)
        # New files: new connections get them within the watcher's poll.
        second_cert, second_key = ca_pki.issue("reload-2", "/CN=broker-1-renewed",
                                               ip="127.0.0.1")
        held = socket.create_connection(("127.0.0.1", b.port), timeout=5)
        held = ssl.create_default_context(cafile=str(ca_pki.ca)).wrap_socket(
            held, server_hostname="127.0.0.1")
        key.write_bytes(second_key.read_bytes())
        cert.write_bytes(second_cert.read_bytes())
        second = wait_until(lambda: (s := serial_of(b.port, ca_pki.ca)) != first and s, 5,
                            "the renewed certificate to be served")
        assert dict(x[0] for x in server_certificate(b.port, ca_pki.ca)["subject"]) == \
            {"commonName": "broker-1-renewed"}
        # A connection opened before the reload keeps working.
        assert int(held.getpeercert()["serialNumber"], 16) == first
        held.close()

        # A key that does not belong to the certificate: refused with a log
        # line, the renewed certificate keeps serving.
        mark = len(log_text(b))
        _, other_key = ca_pki.issue("other", "/CN=other")
        key.write_bytes(other_key.read_bytes())
        line = wait_log(b, r"new TLS files refused, still serving the previous certificate",
                        after=mark)
        assert "does not belong to certificate" in line and str(key) in line, line
        assert serial_of(b.port, ca_pki.ca) == second

        # SIGHUP: read at once (files put right, then the signal).
        third_cert, third_key = ca_pki.issue("reload-3", "/CN=broker-1-third", ip="127.0.0.1")
        key.write_bytes(third_key.read_bytes())
        cert.write_bytes(third_cert.read_bytes())
        os.kill(b.proc.pid, signal.SIGHUP)
        third = wait_until(lambda: (s := serial_of(b.port, ca_pki.ca)) not in (first, second)
                           and s, 5, "the certificate reloaded on SIGHUP")
        assert third != second and b.proc.poll() is None

        # A client certificate whose subject no rule maps: refused, named.
        mark = len(log_text(b))
        odd_cert, odd_key = ca_pki.issue("odd", "/CN=carol/O=Elsewhere")
        r = ssl_kcat(b, ca_pki.ca, "-L", "-m", "1",
                     extra=("-X", f"ssl.certificate.location={odd_cert}",
                            "-X", f"ssl.key.location={odd_key}"))
        assert r.returncode != 0
        line = wait_log(b, r"client certificate .* refused", after=mark)
        assert 'certificate "O=Elsewhere,CN=carol" refused: principal_mapping_rules: no rule ' \
            'applies' in line, line
    finally:
        b.stop()


@pytest.mark.timeout(60)
def test_an_expired_certificate_stops_the_broker_at_start(tmp_path, pki):
    cert, key = pki["ca"].issue("expired", "/CN=broker-1", ip="127.0.0.1", days=-1)
    config = tmp_path / "broker.yaml"
    config.write_text(
        f"node_id: 1\ndata_dir: {tmp_path / 'data'}\ncontrollers: [127.0.0.1:1]\n"
        f"kafka_tls:\n  enabled: true\n  cert_file: {cert}\n  key_file: {key}\n")
    rc, out = run_to_exit([str(BROKER), "--config", str(config)], tmp_path / "broker.log")
    assert rc != 0
    assert f"kafka_tls: kafka listener: cert_file {cert}: certificate CN=broker-1 expired" in out, \
        out


def tls_channel(member, pki: dict) -> None:
    """Points the harness's stub for `member` at its TLS API."""
    cert, key = pki["broker-client"]
    creds = grpc.ssl_channel_credentials(root_certificates=pki["ca"].ca.read_bytes(),
                                         private_key=key.read_bytes(),
                                         certificate_chain=cert.read_bytes())
    member.close_channel()
    member._channel = grpc.secure_channel(member.api, creds)
    member._stub = pb_grpc.ControllerServiceStub(member._channel)


@pytest.mark.timeout(90)
def test_broker_follows_controllers_over_tls(cluster_factory, tmp_path, pki):
    c = cluster_factory(1)
    m = c.members[1]
    cert, key = pki["controller"]
    write_config = m.write_config

    def with_api_tls(*args, **kwargs):
        p = write_config(*args, **kwargs)
        with open(p, "a", encoding="utf-8") as f:
            f.write(f"api_tls:\n  enabled: true\n  cert_file: {cert}\n  key_file: {key}\n"
                    f"  truststore_file: {pki['ca'].ca}\n  require_client_auth: true\n")
        return p

    m.write_config = with_api_tls
    c.start()
    tls_channel(m, pki)
    c.wait_for_leader(timeout=15)
    # Plaintext gRPC is refused by the TLS API.
    plain = grpc.insecure_channel(m.api)
    with pytest.raises(grpc.RpcError):
        pb_grpc.ControllerServiceStub(plain).Status(pb.StatusRequest(), timeout=2)
    plain.close()

    b = Broker(c, tmp_path)
    bcert, bkey = pki["broker-client"]
    with open(b.dir / "broker.yaml", "a", encoding="utf-8") as f:
        f.write(f"controller_tls:\n  enabled: true\n  truststore_file: {pki['ca'].ca}\n"
                f"  cert_file: {bcert}\n  key_file: {bkey}\n")
    b.start()  # ready: registered and following Watch, over TLS
    try:
        # A forwarded admin request (the broker's controller client).
        admin = KafkaAdminClient(bootstrap_servers=b.bootstrap, request_timeout_ms=15000)
        admin.create_topics([NewTopic("over-tls", 1, 1)])
        admin.close()
        topics = {t.name for t in c.call("ListTopics", pb.ListTopicsRequest()).topics}
        assert "over-tls" in topics
        assert b"controllers over TLS" in (b.dir / "broker.log").read_bytes()

        # A TLS client on this plaintext Kafka port: named in the log, closed;
        # plaintext clients are still served.
        mark = len(log_text(b))
        r = ssl_kcat(b, pki["ca"].ca, "-L", "-m", "1")
        assert r.returncode != 0
        wait_log(b, r"TLS client on a plaintext port", after=mark)
        r = kcat("-b", b.bootstrap, "-L", "-t", "over-tls")
        assert r.returncode == 0 and "over-tls" in r.stdout, r
    finally:
        b.stop()

    # A broker that does not trust the controllers' CA says so, and never
    # becomes ready.
    wrong = Broker(c, tmp_path, broker_id=2)
    with open(wrong.dir / "broker.yaml", "a", encoding="utf-8") as f:
        f.write(f"controller_tls:\n  enabled: true\n  truststore_file: {pki['stranger'].ca}\n")
    wrong.proc = spawn([str(BROKER), "--config", str(wrong.dir / "broker.yaml")],
                       wrong.dir / "broker.log")
    try:
        wait_log(wrong, r"controller-link: register broker 2 with .*certificate verify failed")
        assert not wrong.healthy()
    finally:
        wrong.stop()
