"""Security on the controller (docs/security.md): SCRAM users, ACL bindings,
roles and CheckAcl over gRPC, and the controller API with
admin_api_require_auth on (basic credentials in gRPC metadata).

Passwords must never reach the controller's logs or data dirs: each test
greps every member's files for the passwords it used."""

from __future__ import annotations

import base64
from pathlib import Path

import grpc
import pytest

from conftest import Cluster, md, pb, register_broker, rpc_code


def basic(user: str, password: str) -> list[tuple[str, str]]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return [("authorization", f"Basic {token}")]


def binding(principal: str, op: int, name: str = "orders", pattern: int = md.ACL_PATTERN_LITERAL,
            perm: int = md.ACL_PERMISSION_ALLOW, rtype: int = md.ACL_RESOURCE_TOPIC,
            host: str = "*") -> md.AclBinding:
    return md.AclBinding(resource_type=rtype, resource_name=name, pattern_type=pattern,
                         principal=principal, host=host, operation=op, permission=perm)


def key(b: md.AclBinding) -> tuple:
    return (b.principal, b.resource_name, b.pattern_type, b.operation, b.permission)


def listed(stub, metadata=None, **filt) -> set[tuple]:
    r = stub.ListAcls(pb.ListAclsRequest(filter=md.AclFilter(**filt)), timeout=5,
                      metadata=metadata)
    return {key(b) for b in r.bindings}


def assert_secret_nowhere(cluster: Cluster, secrets: list[str]) -> None:
    """No member's log or data dir holds any of `secrets`."""
    files: list[Path] = []
    for m in cluster.members.values():
        files += [p for p in m.log_paths if p.is_file()]
        files += [p for p in Path(m.data_dir).rglob("*") if p.is_file()]
    assert files
    for f in files:
        data = f.read_bytes()
        for s in secrets:
            assert s.encode() not in data, f"{s!r} found in {f}"


# ------------------------------------------------------------------ the model


def test_users_acls_roles_and_check(cluster: Cluster):
    leader = cluster.wait_for_leader()
    stub = leader.stub()
    pw_alice, pw_alice2, pw_bob = "alice-Pw-7f3a9", "alice-Pw-new-41c2", "bob-Pw-0d9e5"

    # ---- users
    r = cluster.call("CreateUser", pb.CreateUserRequest(name="alice", password=pw_alice))
    assert r.result.code == pb.OK, r.result
    r = cluster.call("CreateUser", pb.CreateUserRequest(name="alice", password="other"))
    assert r.result.code == pb.USER_ALREADY_EXISTS, r.result
    r = cluster.call("CreateUser", pb.CreateUserRequest(name="a,b", password="x"))
    assert (r.result.code, r.result.field) == (pb.INVALID_ARGUMENT, "name"), r.result
    r = cluster.call("CreateUser", pb.CreateUserRequest(name="carol", password=""))
    assert (r.result.code, r.result.field) == (pb.INVALID_ARGUMENT, "password"), r.result
    r = cluster.call("CreateUser", pb.CreateUserRequest(name="carol", password="x",
                                                        mechanism="SCRAM-SHA-1"))
    assert (r.result.code, r.result.field) == (pb.INVALID_ARGUMENT, "mechanism"), r.result
    r = cluster.call("CreateUser", pb.CreateUserRequest(name="carol", password="x",
                                                        iterations=100))
    assert (r.result.code, r.result.field) == (pb.INVALID_ARGUMENT, "iterations"), r.result
    r = cluster.call("UpdateUser", pb.UpdateUserRequest(name="alice", password=pw_alice2,
                                                        mechanism="SCRAM-SHA-512"))
    assert r.result.code == pb.OK, r.result
    r = cluster.call("UpdateUser", pb.UpdateUserRequest(name="bob", password=pw_bob))
    assert r.result.code == pb.UNKNOWN_USER, r.result
    r = cluster.call("UpdateUser", pb.UpdateUserRequest(name="bob", password=pw_bob,
                                                        create_if_missing=True))
    assert r.result.code == pb.OK, r.result

    users = stub.ListUsers(pb.ListUsersRequest(), timeout=5)
    assert [(u.name, u.mechanism) for u in users.users] == [
        ("alice", "SCRAM-SHA-512"), ("bob", "SCRAM-SHA-256")]
    # The keys travel only in Watch (brokers verify logins with them); no
    # listing carries them.
    snap = next(iter(stub.Watch(pb.WatchRequest(from_revision=0), timeout=5))).snapshot
    keys = [u.credential.stored_key for u in snap.users] + [u.credential.server_key
                                                            for u in snap.users]
    assert len(keys) == 4 and all(len(k) >= 32 for k in keys)
    raw = users.SerializeToString()
    assert not any(k in raw for k in keys)

    r = cluster.call("DeleteUser", pb.DeleteUserRequest(name="bob"))
    assert r.result.code == pb.OK, r.result
    r = cluster.call("DeleteUser", pb.DeleteUserRequest(name="bob"))
    assert r.result.code == pb.UNKNOWN_USER, r.result

    # ---- ACLs: each binding an item; an existing one is OK; a bad one names its field
    A, W, D, R = (md.ACL_OPERATION_ALL, md.ACL_OPERATION_WRITE, md.ACL_OPERATION_DESCRIBE,
                  md.ACL_OPERATION_READ)
    lit, pre = md.ACL_PATTERN_LITERAL, md.ACL_PATTERN_PREFIXED
    wanted = [binding("User:alice", R), binding("User:alice", W, "ord", pre),
              binding("User:*", D, "*"), binding("User:bob", R, perm=md.ACL_PERMISSION_DENY),
              binding("User:alice", R, host="nope")]
    r = cluster.call("CreateAcls", pb.CreateAclsRequest(bindings=wanted))
    assert [x.code for x in r.results] == [pb.OK] * 4 + [pb.INVALID_ARGUMENT], r
    assert r.results[4].field == "bindings[4].host"
    r = cluster.call("CreateAcls", pb.CreateAclsRequest(bindings=wanted[:1]))
    assert r.results[0].code == pb.OK
    everything = listed(stub)
    assert everything == {key(b) for b in wanted[:4]}

    assert listed(stub, resource_name="orders", pattern_type=md.ACL_PATTERN_ANY) == {
        key(wanted[0]), key(wanted[3])}
    assert listed(stub, resource_name="orders", pattern_type=md.ACL_PATTERN_MATCH) == {
        key(b) for b in wanted[:4]}
    assert listed(stub, pattern_type=lit) == {key(wanted[0]), key(wanted[2]), key(wanted[3])}
    assert listed(stub, pattern_type=pre) == {key(wanted[1])}
    assert listed(stub, principal="User:alice", operation=W) == {key(wanted[1])}
    with pytest.raises(grpc.RpcError) as e:
        listed(stub, principal="alice")
    assert rpc_code(e.value) == grpc.StatusCode.INVALID_ARGUMENT
    assert "filter.principal" in e.value.details()

    # validate_only reports the matches and deletes nothing.
    r = cluster.call("DeleteAcls", pb.DeleteAclsRequest(
        filters=[md.AclFilter(principal="User:alice")], validate_only=True))
    assert {key(b) for b in r.results[0].deleted} == {key(wanted[0]), key(wanted[1])}
    assert listed(stub) == everything
    # Deleting reports exactly what was removed, per filter.
    r = cluster.call("DeleteAcls", pb.DeleteAclsRequest(filters=[
        md.AclFilter(principal="User:alice"), md.AclFilter(principal="User:nobody"),
        md.AclFilter(operation=99)]))
    assert [x.result.code for x in r.results] == [pb.OK, pb.OK, pb.INVALID_ARGUMENT]
    assert {key(b) for b in r.results[0].deleted} == {key(wanted[0]), key(wanted[1])}
    assert all(b.created.revision > 0 for b in r.results[0].deleted)
    assert list(r.results[1].deleted) == []
    assert r.results[2].result.field == "filters[2].operation"
    assert listed(stub) == {key(wanted[2]), key(wanted[3])}

    # ---- CheckAcl: the authorizer's decision, and whether brokers enforce it
    cluster.call("CreateAcls", pb.CreateAclsRequest(bindings=wanted[:1]))

    def check(principal: str, op: int, name: str = "orders", **kw) -> pb.CheckAclResponse:
        return stub.CheckAcl(pb.CheckAclRequest(principal=principal, operation=op,
                                                resource_type=md.ACL_RESOURCE_TOPIC,
                                                resource_name=name, **kw), timeout=5)

    # Off (neither kafka_enable_authorization nor enable_sasl): everything is
    # allowed, and the explanation says what would decide once it is on.
    c = check("User:carol", W)
    assert (c.allowed, c.reason, c.authorization_enabled) == (True, "authorization_disabled",
                                                              False)
    assert "no binding matched" in c.explanation
    r = cluster.call("SetClusterConfig", pb.SetClusterConfigRequest(
        upsert={"enable_sasl": "true", "superusers": "root"}))
    assert all(x.code == pb.OK for x in r.results.values()), r
    c = check("alice", R)
    assert (c.allowed, c.reason, c.authorization_enabled) == (True, "allowed_by_binding", True)
    assert key(c.binding) == key(wanted[0])
    c = check("User:carol", W)
    assert (c.allowed, c.reason, c.authorization_enabled) == (False, "no_binding_matched", True)
    c = check("User:bob", R)
    assert (c.allowed, c.reason) == (False, "denied_by_binding")
    assert c.binding.permission == md.ACL_PERMISSION_DENY
    assert check("User:root", A).reason == "superuser"
    with pytest.raises(grpc.RpcError) as e:
        check("User:alice", md.ACL_OPERATION_ANY)
    assert rpc_code(e.value) == grpc.StatusCode.INVALID_ARGUMENT

    # ---- roles: members and bindings; deleting removes both
    P = "payments"
    r = cluster.call("CreateRole", pb.CreateRoleRequest(name="ops"))
    assert r.result.code == pb.OK and r.role.name == "ops", r
    r = cluster.call("CreateRole", pb.CreateRoleRequest(name="ops"))
    assert r.result.code == pb.ROLE_ALREADY_EXISTS, r
    r = cluster.call("AlterRoleMembers", pb.AlterRoleMembersRequest(role="ops", add=["alice"]))
    assert r.result.code == pb.OK and list(r.role.members) == ["User:alice"], r
    r = cluster.call("AlterRoleMembers", pb.AlterRoleMembersRequest(role="nope", add=["alice"]))
    assert r.result.code == pb.UNKNOWN_ROLE, r
    cluster.call("CreateAcls", pb.CreateAclsRequest(bindings=[binding("Role:ops", W, P)]))
    c = check("alice", W, P)
    assert (c.allowed, c.via_role) == (True, "ops"), c
    roles = stub.ListRoles(pb.ListRolesRequest(principal="alice"), timeout=5)
    assert [x.name for x in roles.roles] == ["ops"]
    r = cluster.call("DeleteRole", pb.DeleteRoleRequest(name="ops"))
    assert r.result.code == pb.OK, r
    assert [key(b) for b in r.deleted_acls] == [key(binding("Role:ops", W, P))]
    assert listed(stub, principal="Role:ops") == set()
    assert list(stub.ListRoles(pb.ListRolesRequest(), timeout=5).roles) == []
    assert not check("alice", W, P).allowed

    assert_secret_nowhere(cluster, [pw_alice, pw_alice2, pw_bob])


# ------------------------------------------------------------------ auth on


def test_admin_api_require_auth(cluster: Cluster):
    register_broker(cluster)  # topics need a broker to be placed on
    leader = cluster.wait_for_leader()
    follower = next(m for m in cluster.running() if m.id != leader.id)
    pw_root, pw_bob, pw_carol = "root-Pw-93be1", "bob-Pw-5a7c0", "carol-Pw-2e8d4"

    # The lockout guard: no superuser exists as a user yet.
    r = cluster.call("SetClusterConfig", pb.SetClusterConfigRequest(
        upsert={"superusers": "root", "admin_api_require_auth": "true"}))
    item = r.results["admin_api_require_auth"]
    assert item.code == pb.INVALID_ARGUMENT and "superuser" in item.message, r
    for name, pw in (("root", pw_root), ("bob", pw_bob), ("carol", pw_carol)):
        r = cluster.call("CreateUser", pb.CreateUserRequest(name=name, password=pw))
        assert r.result.code == pb.OK, r.result
    # carol may create (and describe) topics starting with "c-".
    r = cluster.call("CreateAcls", pb.CreateAclsRequest(bindings=[
        binding("User:carol", md.ACL_OPERATION_CREATE, "c-", md.ACL_PATTERN_PREFIXED),
        binding("User:carol", md.ACL_OPERATION_DESCRIBE, "c-", md.ACL_PATTERN_PREFIXED)]))
    assert all(x.code == pb.OK for x in r.results), r
    r = cluster.call("SetClusterConfig", pb.SetClusterConfigRequest(
        upsert={"superusers": "root", "admin_api_require_auth": "true"}))
    assert all(x.code == pb.OK for x in r.results.values()), r

    root, bob, carol = basic("root", pw_root), basic("bob", pw_bob), basic("carol", pw_carol)

    def create(member, name: str, metadata=None) -> pb.CreateTopicsResponse:
        return member.stub().CreateTopics(pb.CreateTopicsRequest(topics=[
            pb.CreateTopicsRequest.Item(name=name, partitions=1, replication_factor=1)]),
            timeout=10, metadata=metadata)

    def refused(fn, code: grpc.StatusCode) -> str:
        with pytest.raises(grpc.RpcError) as e:
            fn()
        assert rpc_code(e.value) == code, e.value
        return e.value.details()

    def topics(metadata=root) -> set[str]:
        r = leader.stub().ListTopics(pb.ListTopicsRequest(), timeout=5, metadata=metadata)
        return {t.name for t in r.topics}

    # Refused, with the right code, through the leader and through a follower.
    for m in (leader, follower):
        msg = refused(lambda: create(m, "t-none"), grpc.StatusCode.UNAUTHENTICATED)
        assert "authorization" in msg
        wrong = refused(lambda: create(m, "t-wrong", basic("root", "not-it")),
                        grpc.StatusCode.UNAUTHENTICATED)
        unknown = refused(lambda: create(m, "t-unknown", basic("mallory", pw_root)),
                          grpc.StatusCode.UNAUTHENTICATED)
        assert wrong == unknown  # an unknown user is not told apart from a wrong password
        msg = refused(lambda: create(m, "t-bob", bob), grpc.StatusCode.PERMISSION_DENIED)
        assert "User:bob" in msg and "CREATE on topic \"t-bob\"" in msg, msg
    refused(lambda: leader.stub().Status(pb.StatusRequest(), timeout=5),
            grpc.StatusCode.UNAUTHENTICATED)
    refused(lambda: leader.stub().ListUsers(pb.ListUsersRequest(), timeout=5, metadata=bob),
            grpc.StatusCode.PERMISSION_DENIED)
    refused(lambda: next(iter(leader.stub().Watch(pb.WatchRequest(), timeout=5))),
            grpc.StatusCode.UNAUTHENTICATED)
    refused(lambda: next(iter(leader.stub().Watch(pb.WatchRequest(), timeout=5, metadata=bob))),
            grpc.StatusCode.PERMISSION_DENIED)
    refused(lambda: leader.stub().DeleteUser(pb.DeleteUserRequest(name="root"), timeout=5,
                                             metadata=carol),
            grpc.StatusCode.PERMISSION_DENIED)
    # Nothing of it applied.
    assert topics() == set()
    assert [u.name for u in leader.stub().ListUsers(pb.ListUsersRequest(), timeout=5,
                                                    metadata=root).users] == [
        "bob", "carol", "root"]

    # A superuser may do anything, directly and through a follower; the
    # audit trail names the user.
    r = create(leader, "r-1", root)
    assert r.topics[0].result.code == pb.OK, r
    assert r.topics[0].topic.created.principal == "User:root"
    r = create(follower, "r-2", root)
    assert r.topics[0].result.code == pb.OK, r
    assert r.topics[0].topic.created.principal == "User:root"
    assert leader.stub().Status(pb.StatusRequest(), timeout=5, metadata=root).leader_id == leader.id
    assert next(iter(leader.stub().Watch(pb.WatchRequest(), timeout=5, metadata=root))).snapshot

    # A user with a matching ACL may do that and no more, from any member.
    r = create(follower, "c-1", carol)
    assert r.topics[0].result.code == pb.OK, r
    assert r.topics[0].topic.created.principal == "User:carol"
    refused(lambda: create(leader, "x-1", carol), grpc.StatusCode.PERMISSION_DENIED)
    # ListTopics shows carol only what she may describe.
    assert topics(carol) == {"c-1"}
    assert topics(root) == {"r-1", "r-2", "c-1"}

    # The last superuser cannot be deleted while auth is on.
    r = leader.stub().DeleteUser(pb.DeleteUserRequest(name="root"), timeout=5, metadata=root)
    assert r.result.code == pb.INVALID_ARGUMENT and "last superuser" in r.result.message, r

    # A changed password takes effect at once (the verification cache is
    # keyed by the credential).
    r = leader.stub().UpdateUser(pb.UpdateUserRequest(name="carol", password="carol-Pw-next-77"),
                                 timeout=10, metadata=root)
    assert r.result.code == pb.OK, r
    refused(lambda: create(leader, "c-2", carol), grpc.StatusCode.UNAUTHENTICATED)
    r = create(leader, "c-2", basic("carol", "carol-Pw-next-77"))
    assert r.topics[0].result.code == pb.OK, r

    assert_secret_nowhere(cluster, [pw_root, pw_bob, pw_carol, "carol-Pw-next-77"])


def test_a_watch_stream_ends_when_its_watcher_loses_the_right(cluster: Cluster):
    """Watch carries every user's SCRAM keys: a stream opened by a user with
    CLUSTER_ACTION ends (PERMISSION_DENIED) when that ACL is deleted, before
    any later user change reaches it."""
    leader = cluster.wait_for_leader()
    pw_root, pw_w = "root-Pw-11aa2", "watch-Pw-33bb4"
    for name, pw in (("root", pw_root), ("watcher", pw_w)):
        assert cluster.call("CreateUser", pb.CreateUserRequest(name=name, password=pw)).result.code \
            == pb.OK
    grant = binding("User:watcher", md.ACL_OPERATION_CLUSTER_ACTION, "kafka-cluster",
                    rtype=md.ACL_RESOURCE_CLUSTER)
    assert cluster.call("CreateAcls", pb.CreateAclsRequest(bindings=[grant])).results[0].code \
        == pb.OK
    r = cluster.call("SetClusterConfig", pb.SetClusterConfigRequest(
        upsert={"superusers": "root", "admin_api_require_auth": "true"}))
    assert all(x.code == pb.OK for x in r.results.values()), r
    root = basic("root", pw_root)

    stream = leader.stub().Watch(pb.WatchRequest(), timeout=30, metadata=basic("watcher", pw_w))
    first = next(stream)
    assert first.HasField("snapshot")
    r = leader.stub().DeleteAcls(pb.DeleteAclsRequest(filters=[md.AclFilter(
        resource_type=md.ACL_RESOURCE_CLUSTER, principal="User:watcher")]), timeout=10,
        metadata=root)
    assert r.results[0].result.code == pb.OK and len(r.results[0].deleted) == 1, r
    r = leader.stub().CreateUser(pb.CreateUserRequest(name="later", password="later-Pw-55cc6"),
                                 timeout=10, metadata=root)
    assert r.result.code == pb.OK, r
    seen = []
    with pytest.raises(grpc.RpcError) as e:
        for ev in stream:
            seen.append(ev)
    assert rpc_code(e.value) == grpc.StatusCode.PERMISSION_DENIED, e.value
    assert not any(ev.delta.HasField("user_upserted") and ev.delta.user_upserted.name == "later"
                   for ev in seen), "a watcher without the right received a new user's keys"
