"""The controller's shadow-link API (docs/shadow-links.md) as far as it works
without a source cluster: bad configs refused naming the field before any
source is dialled, unknown links and topics, and who may call it (superusers
only; GetShadowLinkStatus also with CLUSTER_ACTION, as brokers read shadow
high watermarks from it). Links that replicate are the two-cluster tests'."""

from __future__ import annotations

import base64

import grpc
import pytest

from conftest import Cluster, md, pb, rpc_code


def basic(user: str, password: str) -> list[tuple[str, str]]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return [("authorization", f"Basic {token}")]


def link(name: str = "dr", servers: tuple[str, ...] = ("127.0.0.1:1",)) -> md.ShadowLink:
    l = md.ShadowLink(name=name)
    l.config.client_options.bootstrap_servers.extend(servers)
    scram = l.config.client_options.authentication_configuration.scram_configuration
    scram.username = "replicator"
    scram.password = "src-Pw-5e1f0"
    scram.scram_mechanism = "SCRAM-SHA-256"
    return l


def refused(fn, code: grpc.StatusCode) -> str:
    with pytest.raises(grpc.RpcError) as e:
        fn()
    assert rpc_code(e.value) == code, e.value
    return e.value.details()


def test_bad_configs_and_unknown_links(cluster: Cluster):
    bad = link(servers=())
    r = cluster.call("CreateShadowLink", pb.CreateShadowLinkRequest(link=bad))
    assert (r.result.code, r.result.field) == (
        pb.INVALID_ARGUMENT, "client_options.bootstrap_servers"), r.result
    bad = link(servers=("no-port",))
    r = cluster.call("CreateShadowLink", pb.CreateShadowLinkRequest(link=bad, validate_only=True))
    assert (r.result.code, r.result.field) == (
        pb.INVALID_ARGUMENT, "client_options.bootstrap_servers[0]"), r.result
    bad = link()
    bad.config.client_options.authentication_configuration.scram_configuration.password = ""
    r = cluster.call("CreateShadowLink", pb.CreateShadowLinkRequest(link=bad))
    assert r.result.code == pb.INVALID_ARGUMENT, r.result
    assert r.result.field.endswith("scram_configuration.password"), r.result
    assert not r.HasField("link")

    leader = cluster.wait_for_leader()
    follower = next(m for m in cluster.running() if m.id != leader.id)
    for m in (leader, follower):
        assert list(m.stub().ListShadowLinks(pb.ListShadowLinksRequest(), timeout=5).links) == []
        refused(lambda: m.stub().GetShadowLink(pb.GetShadowLinkRequest(name="dr"), timeout=5),
                grpc.StatusCode.NOT_FOUND)
        # Forwarded to the leader, which holds the reports.
        refused(lambda: m.stub().GetShadowLinkStatus(pb.GetShadowLinkStatusRequest(name="dr"),
                                                     timeout=5),
                grpc.StatusCode.NOT_FOUND)
    for req, method in ((pb.UpdateShadowLinkRequest(link=link()), "UpdateShadowLink"),
                        (pb.DeleteShadowLinkRequest(name="dr"), "DeleteShadowLink"),
                        (pb.FailOverShadowLinkRequest(name="dr"), "FailOverShadowLink")):
        r = cluster.call(method, req)
        assert (r.result.code, r.result.field) == (pb.UNKNOWN_SHADOW_LINK, "name"), (method, r)


def test_superusers_only_and_status_for_brokers(cluster: Cluster):
    leader = cluster.wait_for_leader()
    pw_root, pw_ops, pw_brk = "root-Pw-8c2d1", "ops-Pw-4f6a0", "brk-Pw-1b9e7"
    for name, pw in (("root", pw_root), ("ops", pw_ops), ("brk", pw_brk)):
        assert cluster.call("CreateUser", pb.CreateUserRequest(name=name, password=pw)).result \
            .code == pb.OK
    cluster_acl = dict(resource_type=md.ACL_RESOURCE_CLUSTER, resource_name="kafka-cluster",
                       pattern_type=md.ACL_PATTERN_LITERAL, host="*",
                       permission=md.ACL_PERMISSION_ALLOW)
    r = cluster.call("CreateAcls", pb.CreateAclsRequest(bindings=[
        md.AclBinding(principal="User:ops", operation=md.ACL_OPERATION_ALL, **cluster_acl),
        md.AclBinding(principal="User:brk", operation=md.ACL_OPERATION_CLUSTER_ACTION,
                      **cluster_acl)]))
    assert all(x.code == pb.OK for x in r.results), r
    r = cluster.call("SetClusterConfig", pb.SetClusterConfigRequest(
        upsert={"superusers": "root", "admin_api_require_auth": "true"}))
    assert all(x.code == pb.OK for x in r.results.values()), r
    root, ops, brk = basic("root", pw_root), basic("ops", pw_ops), basic("brk", pw_brk)
    stub = leader.stub()

    # ALL on the cluster is not enough: a link holds another cluster's credentials.
    msg = refused(lambda: stub.CreateShadowLink(pb.CreateShadowLinkRequest(link=link()),
                                                timeout=10, metadata=ops),
                  grpc.StatusCode.PERMISSION_DENIED)
    assert "superuser" in msg, msg
    for fn in (lambda md_: stub.ListShadowLinks(pb.ListShadowLinksRequest(), timeout=5,
                                                metadata=md_),
               lambda md_: stub.FailOverShadowLink(pb.FailOverShadowLinkRequest(name="dr"),
                                                   timeout=5, metadata=md_),
               lambda md_: stub.DeleteShadowLink(pb.DeleteShadowLinkRequest(name="dr"),
                                                 timeout=5, metadata=md_)):
        refused(lambda: fn(ops), grpc.StatusCode.PERMISSION_DENIED)
        refused(lambda: fn(brk), grpc.StatusCode.PERMISSION_DENIED)
    refused(lambda: stub.ListShadowLinks(pb.ListShadowLinksRequest(), timeout=5),
            grpc.StatusCode.UNAUTHENTICATED)
    assert list(stub.ListShadowLinks(pb.ListShadowLinksRequest(), timeout=5,
                                     metadata=root).links) == []

    # Status: brokers' CLUSTER_ACTION passes (NOT_FOUND: there is no link).
    status = pb.GetShadowLinkStatusRequest(name="dr")
    refused(lambda: stub.GetShadowLinkStatus(status, timeout=5, metadata=brk),
            grpc.StatusCode.NOT_FOUND)
    refused(lambda: stub.GetShadowLinkStatus(status, timeout=5, metadata=root),
            grpc.StatusCode.NOT_FOUND)
