"""What Flink writes into ZooKeeper, decoded (plugins/plugin_utils/zookeeper.py).

The connection_info bytes below were read from real ZooKeeper nodes written by Flink 2.3.0 and 1.20.5
JobManagers (ZooKeeperUtils.writeLeaderInformationToZooKeeper: writeUTF(address), writeObject(UUID));
the same session id was in the leader's log. tests/e2e/test_ha_rollout_e2e.py reads a live ZooKeeper.
"""

from __future__ import annotations

import pytest

from ansible_collections.flinkops.flink.plugins.plugin_utils import zookeeper

REST_2_3 = (b"\xac\xed\x00\x05w\x18\x00\x16http://127.0.0.1:39933sr\x00\x0ejava.util.UUID\xbc\x99\x03\xf7\x98m\x85/"
            b"\x02\x00\x02J\x00\x0cleastSigBitsJ\x00\x0bmostSigBitsxp\x99\x8e\x19#[\x10p!\x8eN\x0b(\xdd=G\xfa")
REST_1_20 = (b"\xac\xed\x00\x05w\x18\x00\x16http://127.0.0.1:47985sr\x00\x0ejava.util.UUID\xbc\x99\x03\xf7\x98m\x85/"
             b"\x02\x00\x02J\x00\x0cleastSigBitsJ\x00\x0bmostSigBitsxp\x98F\xa7m;\xc1l\x91\xe91\xe5\x14q\xb6@J")


def test_the_leaders_rest_address_and_session_id_as_flink_writes_them():
    assert zookeeper.decode_leader_information(REST_2_3) == {
        "address": "http://127.0.0.1:39933", "session_id": "8e4e0b28-dd3d-47fa-998e-19235b107021"}
    assert zookeeper.decode_leader_information(REST_1_20) == {
        "address": "http://127.0.0.1:47985", "session_id": "e931e514-71b6-404a-9846-a76d3bc16c91"}


def test_no_leader_and_bytes_that_are_not_flinks():
    assert zookeeper.decode_leader_information(None) is None
    assert zookeeper.decode_leader_information(b"") is None
    with pytest.raises(zookeeper.ZooKeeperError, match="not Java serialization"):
        zookeeper.decode_leader_information(b"http://jm:8081")
    with pytest.raises(zookeeper.ZooKeeperError, match="cut short"):
        zookeeper.decode_leader_information(REST_2_3[:12])


def test_a_long_address_in_long_block_data():
    address = "http://" + "a" * 300 + ":8081"
    data = address.encode()
    block = len(data).to_bytes(2, "big") + data
    raw = b"\xac\xed\x00\x05" + b"\x7a" + len(block).to_bytes(4, "big") + block
    assert zookeeper.decode_leader_information(raw) == {"address": address, "session_id": None}


def test_the_quorum_and_the_paths_as_flink_joins_them():
    assert zookeeper.parse_quorum("zk1:2181, zk2:2182/flink/chroot") == ([("zk1", 2181), ("zk2", 2182)],
                                                                         "/flink/chroot")
    assert zookeeper.parse_quorum("zk1") == ([("zk1", 2181)], "")
    for bad in ("", "zk1:port", ":2181"):
        with pytest.raises(zookeeper.ZooKeeperError):
            zookeeper.parse_quorum(bad)
    paths = zookeeper.leader_paths("/flink", "prod")
    assert paths["latch"] == "/flink/prod/leader/latch"
    assert paths["rest_server"] == "/flink/prod/leader/rest_server/connection_info"
    assert zookeeper.join_path("/chroot", "/flink/prod/leader") == "/chroot/flink/prod/leader"


def test_waiting_on_the_leadership():
    info = {"latch": ["a", "b"], "leader": {"address": "http://jm1:8081", "session_id": "s1"}}
    assert zookeeper.check_leadership(info, {"latch": 2, "leader_session": "s1"}) == ([], [])
    assert zookeeper.check_leadership(info, {"latch": 3}) == (["the leader election has 2 of 3 JobManagers"], [])
    unmet, fatal = zookeeper.check_leadership({**info, "leader": {"address": "x", "session_id": "s2"}},
                                              {"leader_session": "s1"})
    assert unmet == [] and fatal == ["the leader changed: its session was s1, now s2 at x"]
    assert zookeeper.check_leadership({**info, "leader": None}, {"leader_session": "s1"})[1] == \
        ["the leader changed: its session was s1, now no leader is elected"]
    assert zookeeper.check_leadership(info, {"new_leader_from": "s1"}) == (["no new leader is elected yet"], [])
    assert zookeeper.check_leadership({**info, "leader": {"session_id": "s2"}}, {"new_leader_from": "s1"}) == ([], [])


def test_no_server_answering_is_said_with_every_server_tried():
    with pytest.raises(zookeeper.ZooKeeperError, match=r"no ZooKeeper server of '127.0.0.1:1,127.0.0.1:2' answered"):
        zookeeper.leader_info("127.0.0.1:1,127.0.0.1:2", timeout=2)


def test_a_leader_whose_rest_api_refuses_is_never_an_all_clear():
    """A leader killed with -9 keeps its ZooKeeper node until its session expires: the election may look whole
    (the restarted standby back in the latch, the old session still there) while its REST port refuses. One
    refusal keeps the wait going, two in a row are fatal; it must never return ok on that read."""
    import socket

    with socket.socket() as s:  # a port nothing listens on: a real refusal
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    whole = {"latch": ["a", "b"], "leader": {"address": f"http://127.0.0.1:{port}", "session_id": "s1"}}
    reads = []

    def read(*_args, **_kwargs):
        reads.append(1)
        return whole

    outcome = zookeeper.wait_leadership("127.0.0.1:1", "/flink", "/c", {"latch": 2, "leader_session": "s1",
                                                                       "leader_url": f"http://127.0.0.1:{port}"},
                                        timeout=30, interval=0, request_timeout=2, sleep=lambda _s: None, read=read)
    assert not outcome["ok"] and len(reads) == 2, outcome
    assert outcome["fatal"] and "the leader's REST API went away" in outcome["fatal"][0], outcome
