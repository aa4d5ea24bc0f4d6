import time
import pytest
from kafka import KafkaProducer, KafkaConsumer, TopicPartition
from conftest import Broker, wait_until, pb, md, fjord

def test_smoke(cluster_factory, tmp_path):
    src = cluster_factory(1); src.start(); src.wait_for_leader(timeout=15)
    sb = Broker(src, tmp_path / "src"); sb.start()
    dst = cluster_factory(1); dst.start(); dst.wait_for_leader(timeout=15)
    db = Broker(dst, tmp_path / "dst"); db.start()
    try:
        fjord(src, "topic", "create", "orders", "-p", "2")
        p = KafkaProducer(bootstrap_servers=sb.bootstrap, compression_type="gzip")
        for i in range(100):
            p.send("orders", key=b"k%d" % i, value=b"v%d" % i, headers=[("h", b"x")])
        p.flush(); p.close()
        req = pb.CreateShadowLinkRequest()
        req.link.name = "dr"
        co = req.link.config.client_options
        co.bootstrap_servers.append(sb.bootstrap)
        ts = req.link.config.topic_metadata_sync_options
        ts.interval_ms = 1000
        f = ts.auto_create_shadow_topic_filters.add()
        f.pattern_type = md.SHADOW_PATTERN_LITERAL; f.filter_type = md.SHADOW_FILTER_INCLUDE; f.name = "*"
        r = dst.call("CreateShadowLink", req)
        print("create:", r)
        def have():
            lt = dst.call("ListTopics", pb.ListTopicsRequest())
            return [t for t in lt.topics if t.name == "orders"]
        wait_until(have, 30, "shadow topic")
        def copied():
            c = KafkaConsumer(bootstrap_servers=db.bootstrap, auto_offset_reset="earliest", consumer_timeout_ms=2000)
            tps = [TopicPartition("orders", p) for p in c.partitions_for_topic("orders") or []]
            if not tps: return False
            end = c.end_offsets(tps); c.close()
            return sum(end.values()) >= 100
        try:
            wait_until(copied, 40, "records copied")
        finally:
            st = dst.call("GetShadowLinkStatus", pb.GetShadowLinkStatusRequest(name="dr"))
            print("status:", st)
            print(db.log()[-3000:])
        c = KafkaConsumer(bootstrap_servers=db.bootstrap, auto_offset_reset="earliest", consumer_timeout_ms=3000)
        c.subscribe(["orders"])
        got = [(m.partition, m.offset, m.key, m.value, m.headers) for m in c]
        c.close()
        assert len(got) == 100, got[:5]
        # read-only
        p = KafkaProducer(bootstrap_servers=db.bootstrap, retries=0)
        with pytest.raises(Exception) as e:
            p.send("orders", b"x").get(timeout=10)
        print("refused:", e.value)
        r = dst.call("FailOverShadowLink", pb.FailOverShadowLinkRequest(name="dr"))
        print("failover:", r)
        def failed_over():
            lt = dst.call("ListTopics", pb.ListTopicsRequest())
            return [t for t in lt.topics if t.name == "orders" and t.shadow.state == md.SHADOW_TOPIC_STATE_FAILED_OVER]
        wait_until(failed_over, 30, "failed over")
        md_ = p.send("orders", b"after").get(timeout=10)
        print("produced at", md_.partition, md_.offset)
    finally:
        sb.stop(); db.stop()
