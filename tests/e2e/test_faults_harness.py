"""The fault harness itself (faults.py): its partitions really cut what they
say and nothing else, heal restores everything, and teardown leaves nothing
behind. If these fail, the fault scenarios prove nothing."""

from __future__ import annotations

import socket
import subprocess
import time

import pytest

from conftest import ELECTION_TIMEOUT_S, pb, register_broker, wait_until
from faults import Faults, NetBroker, Network, namespaces_unavailable
from faults import net_cluster_factory, network  # noqa: F401  (fixtures)

# An isolated leader is replaced within two election timeouts of the last
# heartbeat (see test_controller_failover.py), plus pre-vote, vote and
# scheduling on a loaded 2-core machine.
NEW_LEADER_BOUND_S = 2 * ELECTION_TIMEOUT_S + 1.5


def _tcp_ok(host_argv_prefix: list, ip: str, port: int) -> bool:
    """Connects from inside a namespace (via nsenter + python) to ip:port."""
    code = ("import socket,sys\n"
            "try:\n"
            f"  socket.create_connection(('{ip}', {port}), timeout=1).close(); sys.exit(0)\n"
            "except OSError:\n"
            "  sys.exit(1)\n")
    return subprocess.run([*host_argv_prefix, "/usr/bin/python3", "-c", code],
                          timeout=10).returncode == 0


@pytest.mark.timeout(30)
def test_network_pairwise_cut_and_teardown():
    """Three namespaces: a one-way cut drops only that direction, heal
    restores it, and teardown removes namespaces, links and the route."""
    why = namespaces_unavailable()
    if why:
        pytest.skip(f"fault harness: {why}")
    net = Network()
    try:
        net.setup()
        a, b, c = net.add_host("a"), net.add_host("b"), net.add_host("c")
        # A listener in b, reached from a, c and the root namespace.
        srv = subprocess.Popen(b.argv("/usr/bin/python3", "-c",
                                      "import socket,time\n"
                                      "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET,"
                                      "socket.SO_REUSEADDR,1)\n"
                                      f"s.bind(('{b.ip}', 7000)); s.listen(64)\n"
                                      "while True:\n  c,_=s.accept(); c.close()\n"),
                               stdin=subprocess.DEVNULL)
        try:
            def root_ok():
                try:
                    socket.create_connection((b.ip, 7000), timeout=1).close()
                    return True
                except OSError:
                    return False

            wait_until(root_ok, 10, "the listener in b reachable from the root namespace")
            assert _tcp_ok(a.argv(), b.ip, 7000) and _tcp_ok(c.argv(), b.ip, 7000)
            net.block(a, b)  # a -> b only: the SYN from a is dropped
            assert not _tcp_ok(a.argv(), b.ip, 7000), "a reached b through a cut"
            assert _tcp_ok(c.argv(), b.ip, 7000), "the cut a->b also cut c->b"
            assert root_ok(), "the cut a->b also cut the test's own connection"
            net.unblock(a, b)
            net.block(b, a)  # b -> a only: a's SYN arrives, b's SYN-ACK is dropped
            assert not _tcp_ok(a.argv(), b.ip, 7000)
            net.heal()
            assert _tcp_ok(a.argv(), b.ip, 7000), "heal did not restore a -> b"
        finally:
            srv.kill()
            srv.wait()
    finally:
        net.teardown()
    wait_until(lambda: not net.leftovers(), 10, f"teardown to remove {net.leftovers()}")


@pytest.mark.timeout(90)
def test_faults_move_leadership_and_heal(net_cluster_factory):  # noqa: F811
    """Against real controllers: isolating the leader elects another and the
    isolated one steps down (check-quorum); SIGSTOP does the same; a broker
    cut off from every controller loses its session and gets it back; a
    broker SIGKILLed and restarted comes back."""
    cluster = net_cluster_factory(3)
    cluster.start()
    faults = Faults(cluster)
    old = cluster.wait_for_leader(timeout=15)
    others = [m for m in cluster.members.values() if m.id != old.id]

    # Partition: the majority elects a new leader; the old one stops leading.
    t0 = time.monotonic()
    faults.isolate(old)
    cluster.wait_for_leader(timeout=10, among=[m.id for m in others], exclude=[old.id])
    took = time.monotonic() - t0
    assert took <= NEW_LEADER_BOUND_S + 2, f"new leader after {took:.2f}s"
    wait_until(lambda: old.status().role != "leader", 5,
               f"isolated member {old.id} to step down (check-quorum)")
    register_broker(cluster, broker_id=99)  # a write, committed by the majority
    faults.heal_all()
    leader = cluster.wait_for_leader(timeout=10)

    def converged():
        sts = cluster.statuses(timeout=1.0)
        return len(sts) == 3 and len({s.applied_index for s in sts.values()}) == 1

    wait_until(converged, 10, "every member at the same applied index after heal")

    # SIGSTOP of the leader: the others elect a new one; SIGCONT: it rejoins.
    faults.pause(leader)
    rest = [m.id for m in cluster.members.values() if m.id != leader.id]
    cluster.wait_for_leader(timeout=10, among=rest, exclude=[leader.id])
    faults.heal_all()
    cluster.wait_for_leader(timeout=10)

    # A broker cut off from every controller is declared dead after its
    # session timeout, and alive again after heal.
    broker = NetBroker(cluster, cluster.root)
    broker.start()

    def alive():
        r = cluster.call("ListBrokers", pb.ListBrokersRequest())
        return {b.broker.id: b.alive for b in r.brokers}.get(broker.id)

    wait_until(alive, 10, "the broker registered and alive")
    faults.partition([broker], cluster.members.values())
    wait_until(lambda: alive() is False, 10, "the partitioned broker to be declared dead")
    faults.heal_network()
    wait_until(alive, 15, "the broker alive again after heal")
    # Brokers crash and restart like members (same data dir and config).
    faults.crash_restart(broker)
    wait_until(alive, 20, "the restarted broker alive")
    assert broker.starts == 2 and not faults.crashed and not faults.paused
    assert faults.counts.get("partition") and faults.counts.get("pause")
