"""TLS on the controller (controller/server/README.md, api_tls and peer_tls):
the API and the Raft peer transport over TLS, forwarding to the leader over
TLS, mutual TLS between members and as an identity on the API
(principal_mapping_rules), certificate reload, and the CLI's admin.tls.*
settings with a one-line explanation for each TLS mistake.

Certificates come from the `openssl` command (EC P-256), made once per
module: a CA the cluster trusts, another CA nobody trusts, member
certificates naming 127.0.0.1, user certificates (alice, bob, one no rule
maps, an expired one)."""

from __future__ import annotations

import base64
import os
import ssl
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from conftest import BUILD_DIR, Cluster, Member, pb, pb_grpc, register_broker, wait_until

FJORD = Path(BUILD_DIR) / "bin" / "fjord"

# Certificate subjects are mapped to users by the first rule that applies:
# "CN=alice,O=Fjord" -> alice; a subject outside O=Fjord maps to nothing.
RULES = "RULE:^CN=([^,]+),O=Fjord$/$1/L"


# ------------------------------------------------------------------ certificates


def openssl(*args: str, cwd: Path) -> None:
    p = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True)
    assert p.returncode == 0, f"openssl {' '.join(args)}:\n{p.stderr}"


@dataclass
class Pem:
    cert: Path
    key: Path


class CA:
    def __init__(self, root: Path, name: str):
        self.root = root
        self.pem = Pem(root / f"{name}-ca.crt", root / f"{name}-ca.key")
        openssl("req", "-x509", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-keyout", str(self.pem.key), "-out", str(self.pem.cert), "-days", "30",
                "-subj", f"/CN={name} CA", "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=root)

    def issue(self, name: str, subject: str, ips: tuple = (), days: int = 30) -> Pem:
        """A certificate for `subject` ("/O=Fjord/CN=x", which RFC 2253 writes
        "CN=x,O=Fjord") naming `ips`; days=-1
        makes one that expired a day ago."""
        out = Pem(self.root / f"{name}.crt", self.root / f"{name}.key")
        csr = self.root / f"{name}.csr"
        openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", str(out.key), "-out", str(csr), "-subj", subject, cwd=self.root)
        ext = self.root / f"{name}.ext"
        ext.write_text("basicConstraints=CA:FALSE\n" +
                       (f"subjectAltName={','.join('IP:' + ip for ip in ips)}\n" if ips else ""))
        openssl("x509", "-req", "-in", str(csr), "-CA", str(self.pem.cert), "-CAkey",
                str(self.pem.key), "-CAcreateserial", "-out", str(out.cert), "-days", str(days),
                "-extfile", str(ext), cwd=self.root)
        return out


@dataclass
class Pki:
    root: Path
    ca: CA
    other: CA
    members: dict  # member id -> Pem (CN=controller-<id>, IP 127.0.0.1)
    stranger: Pem  # a member certificate from `other`
    elsewhere: Pem  # from `ca`, naming 10.9.9.9 only
    alice: Pem
    bob: Pem
    outsider: Pem  # O=Elsewhere: no rule maps it
    expired: Pem


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Pki:
    root = tmp_path_factory.mktemp("pki")
    ca, other = CA(root, "fjord"), CA(root, "other")
    return Pki(
        root=root, ca=ca, other=other,
        members={i: ca.issue(f"controller-{i}", f"/O=Fjord Controllers/CN=controller-{i}",
                             ("127.0.0.1",)) for i in (1, 2, 3)},
        stranger=other.issue("stranger", "/O=Fjord Controllers/CN=controller-3", ("127.0.0.1",)),
        elsewhere=ca.issue("elsewhere", "/O=Fjord Controllers/CN=controller-x", ("10.9.9.9",)),
        alice=ca.issue("alice", "/O=Fjord/CN=alice"),
        bob=ca.issue("bob", "/O=Fjord/CN=bob"),
        outsider=ca.issue("outsider", "/O=Elsewhere/CN=eve"),
        expired=ca.issue("expired", "/O=Fjord/CN=alice", days=-1))


def tls_yaml(block: str, pem: Pem, ca: Path, require_client_auth: bool = False) -> str:
    return (f"{block}: {{enabled: true, cert_file: {pem.cert}, key_file: {pem.key}, "
            f"truststore_file: {ca}, require_client_auth: {str(require_client_auth).lower()}}}")


def secure(m: Member, pki: Pki, pem: Pem | None = None, ca: CA | None = None,
           api: bool = True, peer: bool = True) -> None:
    """Configures `m` for TLS on its API (client certificates optional, mapped
    by RULES) and/or its peer transport (mutual TLS), and the harness's own
    channel to it."""
    pem = pem or pki.members[m.id]
    ca = ca or pki.ca
    m.extra_yaml = []
    if api:
        m.extra_yaml += [tls_yaml("api_tls", pem, ca.pem.cert),
                         f"principal_mapping_rules: \"{RULES}\""]
        m.credentials = grpc.ssl_channel_credentials(ca.pem.cert.read_bytes())
    if peer:
        m.extra_yaml.append(tls_yaml("peer_tls", pem, ca.pem.cert, require_client_auth=True))
    m.close_channel()


# ------------------------------------------------------------------ the CLI


def cli(*args: str, controllers: str, x: tuple = (), timeout: float = 30) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FJORD_")}
    env["HOME"] = "/nonexistent"
    argv = [str(FJORD), "-X", f"controllers={controllers}", "-X", "globals.retry_timeout=10s",
            "-X", "globals.command_timeout=5s"]
    for kv in x:
        argv += ["-X", kv]
    p = subprocess.run(argv + list(args), capture_output=True, text=True, env=env,
                       timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def trusting(pki: Pki, cert: Pem | None = None) -> tuple:
    out = (f"admin.tls.ca={pki.ca.pem.cert}",)
    if cert is not None:
        out += (f"admin.tls.cert={cert.cert}", f"admin.tls.key={cert.key}")
    return out


def one_line_failure(rc: int, err: str, *needles: str, within: float | None = None) -> str:
    """A failed command (exit 1) whose stderr is one line holding every needle."""
    assert rc == 1, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line, got:\n{err}"
    for n in needles:
        assert n in lines[0], f"{n!r} not in {lines[0]!r}"
    return lines[0]


def server_certificate(port: int) -> str:
    return ssl.get_server_certificate(("127.0.0.1", port))


def subject_of(pem: str) -> str:
    p = subprocess.run(["openssl", "x509", "-noout", "-subject", "-nameopt", "RFC2253"], input=pem,
                       capture_output=True, text=True)
    return p.stdout.strip()


# ------------------------------------------------------------------ tests


@pytest.mark.timeout(90)
def test_tls_cluster_forwarding_mtls_principals_and_a_foreign_member(cluster_factory, pki):
    c: Cluster = cluster_factory(3)
    for m in c.members.values():
        secure(m, pki)
    c.start()
    leader = c.wait_for_leader(timeout=15)
    follower = next(m for m in c.running() if m.id != leader.id)
    assert "api 127.0.0.1:" in (follower.log_path.read_text()) and \
        "TLS, client certificates optional), peer" in follower.log_path.read_text()
    register_broker(c)

    # Through a follower only: the write is forwarded to the leader over TLS.
    rc, out, err = cli("topic", "create", "tls-a", "-p", "1", "-r", "1",
                       controllers=follower.api, x=trusting(pki))
    assert rc == 0, err
    rc, out, err = cli("topic", "list", controllers=follower.api, x=trusting(pki))
    assert rc == 0 and "tls-a" in out, err

    # The CLI's TLS mistakes, each one line (and fast: not retried).
    start = time.monotonic()
    rc, _, err = cli("topic", "list", controllers=follower.api,
                     x=(f"admin.tls.ca={pki.other.pem.cert}",))
    one_line_failure(rc, err, f"TLS handshake with {follower.api} failed: certificate verify "
                     "failed", "(the server's certificate is not signed by a trusted CA)")
    rc, _, err = cli("topic", "list", controllers=follower.api)
    one_line_failure(rc, err, f"{follower.api} serves TLS, but this client connected in "
                     "plaintext", "admin.tls.enabled=true")
    rc, _, err = cli("topic", "list", controllers=follower.api, x=trusting(pki, pki.expired))
    one_line_failure(rc, err, f"admin.tls.cert {pki.expired.cert}: certificate", "expired on")
    assert time.monotonic() - start < 8, "TLS mistakes must not be retried for retry_timeout"

    # mTLS principals: a certificate maps to a user through RULES; explicit
    # credentials still win.
    root_pw = "root-Pw-tls-7c21e"
    assert c.call("CreateUser", pb.CreateUserRequest(name="root", password=root_pw)) \
        .result.code == pb.OK
    r = c.call("SetClusterConfig", pb.SetClusterConfigRequest(
        upsert={"superusers": "root,alice", "admin_api_require_auth": "true"}))
    assert all(x.code == pb.OK for x in r.results.values()), r
    for m in (leader, follower):  # alice as herself, directly and forwarded
        rc, out, err = cli("topic", "create", f"by-alice-{m.id}", "-p", "1", "-r", "1",
                           controllers=m.api, x=trusting(pki, pki.alice))
        assert rc == 0, f"via {'leader' if m is leader else 'follower'}: {err}"
    rc, _, err = cli("topic", "create", "by-bob", "-p", "1", "-r", "1", controllers=follower.api,
                     x=trusting(pki, pki.bob))
    one_line_failure(rc, err, "User:bob", "needs CREATE")
    # A client cannot pass itself off as a forwarding member to claim
    # another subject: only a certificate issued for a member's address can.
    bob = grpc.ssl_channel_credentials(pki.ca.pem.cert.read_bytes(), pki.bob.key.read_bytes(),
                                       pki.bob.cert.read_bytes())
    with grpc.secure_channel(leader.api, bob) as ch:
        stub = pb_grpc.ControllerServiceStub(ch)
        with pytest.raises(grpc.RpcError) as e:
            stub.CreateTopics(pb.CreateTopicsRequest(topics=[pb.CreateTopicsRequest.Item(
                name="forged", partitions=1, replication_factor=1)]), timeout=5,
                metadata=[("fjord-forwarded", "1"), ("fjord-client-subject-bin", b"CN=alice,O=Fjord")])
        assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED and "User:bob" in \
            e.value.details(), e.value
    rc, _, err = cli("topic", "create", "by-eve", "-p", "1", "-r", "1", controllers=leader.api,
                     x=trusting(pki, pki.outsider))
    one_line_failure(rc, err, 'client certificate "CN=eve,O=Elsewhere": no '
                     "principal_mapping_rules rule maps this subject")
    rc, _, err = cli("topic", "create", "anon", "-p", "1", "-r", "1", controllers=leader.api,
                     x=trusting(pki))
    one_line_failure(rc, err, "requires authentication", "or present a client certificate")
    # bob's certificate with root's password: the password decides.
    rc, _, err = cli("topic", "create", "by-root", "-p", "1", "-r", "1", controllers=follower.api,
                     x=trusting(pki, pki.bob) + ("user=root", f"pass={root_pw}"))
    assert rc == 0, err
    rc, out, err = cli("topic", "list", controllers=leader.api, x=trusting(pki, pki.alice))
    assert rc == 0 and {"by-alice-%d" % leader.id, "by-alice-%d" % follower.id, "by-root"} <= \
        set(out.split()), out

    # A member whose certificates come from another CA cannot join the peer
    # mesh; the other two keep quorum.
    third = next(m for m in c.running() if m.id not in (leader.id, follower.id))
    third.terminate()
    secure(third, pki, pem=pki.stranger, ca=pki.other)
    third.start()
    wait_until(lambda: "cannot send to" in third.log_path.read_text(), 10,
               "the foreign member's refused streams in its log")
    line = next(ln for ln in third.log_path.read_text().splitlines() if "cannot send to" in ln)
    assert "WARN" in line and ("ssl" in line.lower() or "handshake" in line.lower()), line
    rc, _, err = cli("topic", "create", "after-stranger", "-p", "1", "-r", "1",
                     controllers=follower.api, x=trusting(pki, pki.alice))
    assert rc == 0, err
    # It saw none of that (it learned nothing from the others since).
    auth = [("authorization", "Basic " + base64.b64encode(f"root:{root_pw}".encode()).decode())]
    st = third.stub().Status(pb.StatusRequest(), timeout=2, metadata=auth)
    ahead = leader.stub().Status(pb.StatusRequest(), timeout=2, metadata=auth)
    assert st.leader_id != leader.id and st.commit_index < ahead.commit_index, (st, ahead)


@pytest.mark.timeout(60)
def test_api_certificate_reload_wrong_host_and_plaintext_port(cluster_factory, pki):
    c: Cluster = cluster_factory(1)
    m = c.members[1]
    # Copies the member serves from, rewritten below.
    live = Pem(m.work_dir / "api.crt", m.work_dir / "api.key")
    live.cert.write_bytes(pki.members[1].cert.read_bytes())
    live.key.write_bytes(pki.members[1].key.read_bytes())
    secure(m, pki, pem=live, peer=False)
    c.start()
    c.wait_for_leader(timeout=10)
    assert "CN=controller-1" in subject_of(server_certificate(m.api_port))
    rc, out, err = cli("cluster", "info", controllers=m.api, x=trusting(pki))
    assert rc == 0, err

    # TLS to the plaintext peer port.
    rc, _, err = cli("topic", "list", controllers=m.peer, x=trusting(pki))
    one_line_failure(rc, err, f"TLS handshake with {m.peer} failed:",
                     "(the server answered in plaintext: is TLS enabled on that port?)")

    # Reload: a new certificate (valid, but for 10.9.9.9 only) is served to
    # new connections without a restart...
    live.key.write_bytes(pki.elsewhere.key.read_bytes())
    live.cert.write_bytes(pki.elsewhere.cert.read_bytes())
    wait_until(lambda: "CN=controller-x" in subject_of(server_certificate(m.api_port)), 10,
               "the reloaded certificate served")
    assert "reloaded TLS files, now serving certificate CN=controller-x" in m.log_path.read_text()
    # ...and the CLI, dialing 127.0.0.1, says the certificate is for another host.
    rc, _, err = cli("topic", "list", controllers=m.api, x=trusting(pki))
    one_line_failure(rc, err, f"TLS handshake with {m.api} failed: certificate verify failed",
                     "(the certificate does not name the host dialed)")

    # A bad new certificate (expired) is refused; the previous one serves on.
    live.key.write_bytes(pki.expired.key.read_bytes())
    live.cert.write_bytes(pki.expired.cert.read_bytes())
    def refusal() -> str | None:
        # (Between the two writes the watcher may also refuse a key that
        # does not match the certificate yet: that line is not this one.)
        return next((ln for ln in m.log_path.read_text().splitlines()
                     if "new TLS files refused" in ln and "expired" in ln), None)
    line = wait_until(refusal, 10, "the refusal of the expired certificate in the log")
    assert f"api_tls: new TLS files refused, still serving the previous certificate: cert_file " \
        f"{live.cert}: certificate CN=alice,O=Fjord expired on" in line, line
    time.sleep(1.5)  # gRPC's file watcher would have picked it up by now
    assert "CN=controller-x" in subject_of(server_certificate(m.api_port))

    # Back to a good one: served again, and the CLI connects.
    live.key.write_bytes(pki.members[1].key.read_bytes())
    live.cert.write_bytes(pki.members[1].cert.read_bytes())
    wait_until(lambda: "CN=controller-1" in subject_of(server_certificate(m.api_port)), 10,
               "the good certificate served again")
    rc, _, err = cli("topic", "list", controllers=m.api, x=trusting(pki))
    assert rc == 0, err


@pytest.mark.timeout(30)
def test_bad_certificate_at_start_refuses_to_start(cluster_factory, pki):
    c: Cluster = cluster_factory(1)
    m = c.members[1]
    secure(m, pki, pem=pki.expired, peer=False)
    m.start(wait=False)
    assert m.proc.wait(timeout=15) != 0
    log = m.log_path.read_text()
    assert f"api_tls: cert_file {pki.expired.cert}: certificate CN=alice,O=Fjord expired" in log, \
        log
    # A peer_tls that requires client certificates without a truststore is a
    # config error naming the key.
    m.extra_yaml = [f"peer_tls: {{enabled: true, cert_file: {pki.members[1].cert}, "
                    f"key_file: {pki.members[1].key}, require_client_auth: true}}"]
    m.start(wait=False)
    assert m.proc.wait(timeout=15) != 0
    assert "peer_tls" in m.log_path.read_text() and "truststore" in m.log_path.read_text(), \
        m.log_path.read_text()
