"""A data directory belongs to one node and one process at a time."""

from __future__ import annotations

import pytest

from conftest import BINARY, Cluster, pb, register_broker, run_to_exit, topic_names


@pytest.mark.timeout(60)
def test_data_dir_identity(cluster_factory):
    cluster: Cluster = cluster_factory(1)  # a one-member group: node 1
    cluster.start()
    n1 = cluster.wait_for_leader()
    register_broker(cluster)
    r = n1.stub().CreateTopics(pb.CreateTopicsRequest(topics=[pb.CreateTopicsRequest.Item(
        name="kept", partitions=1, replication_factor=1)]), timeout=5)
    assert r.topics[0].result.code == pb.OK

    # A second process on the same data dir (same config) is refused while
    # the first runs, and the first is unaffected.
    rc, out = run_to_exit([str(BINARY), "--config", str(n1.config_path)],
                          n1.work_dir / "second-process.log")
    print(out)
    assert rc == 1, f"second process exited {rc}:\n{out}"
    assert "locked by another process" in out and f"pid {n1.proc.pid}" in out, out
    assert n1.running
    assert "kept" in topic_names(n1.stub().ListTopics(pb.ListTopicsRequest(), timeout=5))

    # Node 2 pointed at node 1's data dir is refused, naming both ids.
    assert n1.terminate() == 0
    n2, = cluster.add([2], founders=False)
    cfg = n2.write_config(data_dir=n1.data_dir, path=n2.work_dir / "n2-on-n1-data.yaml")
    rc, out = run_to_exit([str(BINARY), "--config", str(cfg)], n2.work_dir / "wrong-node.log")
    print(out)
    assert rc == 1, f"node 2 on node 1's data dir exited {rc}:\n{out}"
    assert "belongs to node 1" in out and "this is node 2" in out, out

    # Node 1's data dir is intact: it starts and still has its topic.
    n1.start()
    cluster.wait_for_leader()
    assert "kept" in topic_names(n1.stub().ListTopics(pb.ListTopicsRequest(), timeout=5))
