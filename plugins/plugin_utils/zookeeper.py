# Copyright (c) 2025 flinkops developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What ZooKeeper says about a Flink HA cluster's JobManagers: who leads, and who is in the election.

Controller side, standard library only; never imports Ansible. A small read-only ZooKeeper client
(ZooKeeper's own wire protocol, jute: connect, getData, getChildren, close) - enough to read the nodes
Flink's ZooKeeper HA services write, without a client library on the controller:

- ``<path.root>/<cluster-id>/leader/latch``: one ephemeral child per JobManager taking part in the
  leader election (Curator's LeaderLatch);
- ``<path.root>/<cluster-id>/leader/<component>/connection_info``: the elected leader's address and
  leader session id of each component (``rest_server``, ``resource_manager``, ``dispatcher``), written by
  ``ZooKeeperUtils.writeLeaderInformationToZooKeeper`` as Java serialization: ``writeUTF(address)`` then
  ``writeObject(UUID sessionId)``. Empty while no leader is elected.

No SASL, no TLS (a quorum that needs either is refused with what to do: read ZooKeeper from a host
that can, or let Flink's REST API name the leader).
"""

from __future__ import annotations

import contextlib
import socket
import struct
import time
import uuid
from collections.abc import Mapping

# jute op codes and error codes used here
_OP_GET_DATA = 4
_OP_GET_CHILDREN = 8
_OP_CLOSE = -11
_ERR_NO_NODE = -101
_ERRORS = {-101: "no such node", -102: "not authorised (ACL)", -112: "session expired",
           -4: "connection loss", -7: "operation timeout", -115: "authentication failed"}

COMPONENTS = ("rest_server", "resource_manager", "dispatcher")


class ZooKeeperError(Exception):
    """ZooKeeper could not be read: no server answered, or an answer made no sense."""


# --- the connect string ----------------------------------------------------------------------------------


def parse_quorum(quorum: str) -> tuple:
    """``h1:2181,h2:2181/chroot`` -> ([(h1, 2181), (h2, 2181)], "/chroot"); ZooKeeperError when unusable."""
    if not isinstance(quorum, str) or not quorum.strip():
        raise ZooKeeperError("the ZooKeeper quorum is empty: set high-availability.zookeeper.quorum in the "
                             "JobManagers' files or rolling_restart_zookeeper_quorum (host:port,...)")
    text = quorum.strip()
    chroot = ""
    if "/" in text:
        text, chroot = text.split("/", 1)
        chroot = "/" + chroot.strip("/") if chroot.strip("/") else ""
    servers = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        host, sep, port = part.rpartition(":")
        if not sep:
            host, port = part, "2181"
        host = host.strip("[]")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ZooKeeperError(f"the ZooKeeper quorum {quorum!r} has an unusable server {part!r} (give host:port)")
        servers.append((host, int(port)))
    if not servers:
        raise ZooKeeperError(f"the ZooKeeper quorum {quorum!r} names no server")
    return servers, chroot


def join_path(*parts: str) -> str:
    """ZooKeeper path of the parts, as Flink joins them (each part may or may not start with '/')."""
    out = "/".join(p.strip("/") for p in parts if p and p.strip("/"))
    return "/" + out


# --- the wire protocol -----------------------------------------------------------------------------------


def _string(text: str) -> bytes:
    data = text.encode("utf-8")
    return struct.pack(">i", len(data)) + data


class _Reader:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise ZooKeeperError("a ZooKeeper answer was cut short")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def int(self) -> int:
        return struct.unpack(">i", self.take(4))[0]

    def long(self) -> int:
        return struct.unpack(">q", self.take(8))[0]

    def buffer(self) -> bytes | None:
        n = self.int()
        return None if n < 0 else self.take(n)

    def string(self) -> str | None:
        data = self.buffer()
        return None if data is None else data.decode("utf-8", "replace")


class Session:
    """One read-only session with the first server of the quorum that answers; a context manager."""

    def __init__(self, quorum: str, *, timeout: float = 10, session_timeout_ms: int = 10000):
        self.servers, self.chroot = parse_quorum(quorum)
        self.quorum = quorum
        self.timeout = timeout
        self.session_timeout_ms = session_timeout_ms
        self.sock = None
        self.server = None
        self.xid = 0

    def __enter__(self):
        errors = []
        for host, port in self.servers:
            try:
                self._connect(host, port)
                self.server = f"{host}:{port}"
                return self
            except (OSError, ZooKeeperError) as exc:
                errors.append(f"{host}:{port}: {exc}")
                self._drop()
        raise ZooKeeperError(f"no ZooKeeper server of {self.quorum!r} answered ({'; '.join(errors)})")

    def __exit__(self, *exc):
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self._send(struct.pack(">ii", self._next_xid(), _OP_CLOSE))
        self._drop()

    def _drop(self):
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.close()
        self.sock = None

    def _connect(self, host: str, port: int) -> None:
        self.sock = socket.create_connection((host, port), timeout=self.timeout)
        self.sock.settimeout(self.timeout)
        # protocolVersion, lastZxidSeen, timeOut, sessionId, passwd (16 zero bytes), readOnly
        self._send(struct.pack(">iqiq", 0, 0, self.session_timeout_ms, 0) + struct.pack(">i", 16) + bytes(16)
                   + b"\x00")
        reply = _Reader(self._receive())
        reply.int()  # protocol version
        negotiated = reply.int()
        session = reply.long()
        if negotiated <= 0 or session == 0:
            raise ZooKeeperError("the server refused the session (is it in the quorum, or read-only?)")

    def _next_xid(self) -> int:
        self.xid += 1
        return self.xid

    def _send(self, payload: bytes) -> None:
        self.sock.sendall(struct.pack(">i", len(payload)) + payload)

    def _receive(self) -> bytes:
        head = self._exactly(4)
        (length,) = struct.unpack(">i", head)
        if length < 0 or length > 16 << 20:
            raise ZooKeeperError(f"an answer of {length} bytes is not ZooKeeper's (is this its client port?)")
        return self._exactly(length)

    def _exactly(self, n: int) -> bytes:
        chunks, got = [], 0
        while got < n:
            chunk = self.sock.recv(n - got)
            if not chunk:
                raise ZooKeeperError("the server closed the connection")
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def _call(self, op: int, path: str) -> _Reader | None:
        """One request on ``path`` (watch off); None when the node does not exist."""
        full = join_path(self.chroot, path)
        xid = self._next_xid()
        self._send(struct.pack(">ii", xid, op) + _string(full) + b"\x00")
        while True:
            reply = _Reader(self._receive())
            got_xid, _zxid, err = reply.int(), reply.long(), reply.int()
            if got_xid == xid:
                break
            # a notification (-1) or a ping answer (-2): not ours
        if err == _ERR_NO_NODE:
            return None
        if err != 0:
            raise ZooKeeperError(f"{full}: {_ERRORS.get(err, f'error {err}')}")
        return reply

    def get(self, path: str) -> bytes | None:
        """The data of ``path`` (b"" when empty), None when the node does not exist."""
        reply = self._call(_OP_GET_DATA, path)
        if reply is None:
            return None
        return reply.buffer() or b""

    def children(self, path: str) -> list | None:
        """The children of ``path``, sorted; None when the node does not exist."""
        reply = self._call(_OP_GET_CHILDREN, path)
        if reply is None:
            return None
        count = reply.int()
        return sorted(reply.string() for _index in range(max(count, 0)))


# --- what Flink writes ---------------------------------------------------------------------------------

_STREAM_MAGIC = b"\xac\xed\x00\x05"
_TC_BLOCKDATA, _TC_BLOCKDATALONG, _TC_OBJECT, _TC_NULL = 0x77, 0x7A, 0x73, 0x70


def decode_leader_information(data: bytes | None) -> dict | None:
    """connection_info bytes -> {address, session_id}; None for no leader (absent or empty node).

    Flink writes ``ObjectOutputStream.writeUTF(address)`` and ``writeObject(sessionId)`` (a java.util.UUID):
    the stream header, the address in block data (2-byte length, modified UTF-8), then the UUID object,
    whose last 16 bytes are its two fields in Java's field order (leastSigBits, mostSigBits).
    """
    if not data:
        return None
    if not data.startswith(_STREAM_MAGIC):
        raise ZooKeeperError(f"the leader information is not Java serialization (starts {data[:4].hex()})")
    pos, block = 4, b""
    while pos < len(data) and data[pos] in (_TC_BLOCKDATA, _TC_BLOCKDATALONG):
        if data[pos] == _TC_BLOCKDATA:
            size, pos = data[pos + 1], pos + 2
        else:
            size, pos = struct.unpack(">i", data[pos + 1:pos + 5])[0], pos + 5
        block += data[pos:pos + size]
        pos += size
    if len(block) < 2:
        raise ZooKeeperError("the leader information holds no address")
    (length,) = struct.unpack(">H", block[:2])
    if len(block) < 2 + length:
        raise ZooKeeperError("the leader information's address is cut short")
    # modified UTF-8 only differs from UTF-8 for NUL and supplementary characters; an address has neither
    address = block[2:2 + length].decode("utf-8", "replace")
    session = None
    if pos < len(data) and data[pos] == _TC_OBJECT and len(data) - pos >= 17:
        least, most = struct.unpack(">qq", data[-16:])
        session = str(uuid.UUID(int=((most & (2 ** 64 - 1)) << 64) | (least & (2 ** 64 - 1))))
    return {"address": address, "session_id": session}


def leader_paths(path_root: str, cluster_id: str) -> dict:
    base = join_path(path_root or "/flink", cluster_id or "/default", "leader")
    return {"base": base, "latch": join_path(base, "latch"),
            **{c: join_path(base, c, "connection_info") for c in COMPONENTS}}


def leader_info(quorum: str, path_root: str = "/flink", cluster_id: str = "/default", *,
                timeout: float = 10) -> dict:
    """The cluster's leadership as ZooKeeper holds it now.

    Returns {server, paths, latch: [children] | None, leader: {address, session_id} | None (the REST
    server's), components: {component: {address, session_id} | None}, read_at}.
    """
    paths = leader_paths(path_root, cluster_id)
    with Session(quorum, timeout=timeout) as zk:
        latch = zk.children(paths["latch"])
        components = {c: decode_leader_information(zk.get(paths[c])) for c in COMPONENTS}
        server = zk.server
    return {"server": server, "paths": paths, "latch": latch, "leader": components["rest_server"],
            "components": components, "read_at": time.time()}


# --- waiting -------------------------------------------------------------------------------------------------

WAIT_KEYS = ("latch", "leader_session", "new_leader_from", "leader_url")


def _reachable(url: str, timeout: float) -> str | None:
    """None when something listens at the URL's host and port, else why not."""
    import urllib.parse

    parts = urllib.parse.urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout):
            return None
    except OSError as exc:
        return f"{url}: cannot connect ({exc.strerror or exc})"


def check_leadership(info: Mapping, conditions: Mapping) -> tuple:
    """(unmet, fatal) of ``conditions`` against one leader_info() read.

    ``latch``: at least this many JobManagers in the election; ``leader_session``: the leader's session must
    stay this one (another, or none, is fatal: the leader changed); ``new_leader_from``: a leader whose session
    differs from this one must be elected.
    """
    unmet, fatal = [], []
    leader = info.get("leader") or {}
    latch = info.get("latch") or []
    if conditions.get("latch") is not None and len(latch) < int(conditions["latch"]):
        unmet.append(f"the leader election has {len(latch)} of {conditions['latch']} JobManagers")
    session = conditions.get("leader_session")
    if session and leader.get("session_id") != session:
        fatal.append(f"the leader changed: its session was {session}, now "
                     + (f"{leader.get('session_id')} at {leader.get('address')}" if leader else "no leader is elected"))
    old = conditions.get("new_leader_from")
    if old and (not leader or leader.get("session_id") == old):
        unmet.append("no new leader is elected yet")
    return unmet, fatal


def wait_leadership(quorum: str, path_root: str, cluster_id: str, conditions: Mapping, *, timeout: float,
                    interval: float = 0.5, request_timeout: float = 10, clock=time.monotonic,
                    sleep=time.sleep, read=None) -> dict:
    """Poll ZooKeeper until ``conditions`` hold, one fails for good, or ``timeout`` passes.

    ``leader_url``: the leader's REST address must keep answering TCP (a JobManager killed with -9 keeps its
    ZooKeeper node until its session expires): a refusal keeps the wait going, two in a row are fatal.
    ``read``: how ZooKeeper is read (default leader_info). Returns {ok, info, unmet, fatal, waited}.
    """
    read = read or leader_info
    start = clock()
    info, unmet, fatal, refused = None, [], [], 0
    while True:
        try:
            info = read(quorum, path_root, cluster_id, timeout=request_timeout)
            unmet, fatal = check_leadership(info, conditions)
        except ZooKeeperError as exc:
            unmet, fatal = [str(exc)], []
        if conditions.get("leader_url") and not fatal:
            why = _reachable(conditions["leader_url"], request_timeout)
            refused = refused + 1 if why else 0
            if refused >= 2:
                fatal = [f"the leader's REST API went away ({why})"]
            elif why:
                # one refusal is no proof yet, but never an all-clear: the leader may just have been killed
                unmet = [*unmet, f"the leader's REST API does not answer ({why})"]
        waited = clock() - start
        if fatal or not unmet or waited >= timeout:
            return {"ok": not fatal and not unmet, "info": info, "unmet": unmet, "fatal": fatal,
                    "waited": round(waited, 1)}
        sleep(min(interval, max(0.0, timeout - waited)))
