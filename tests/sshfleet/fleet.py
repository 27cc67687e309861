#!/usr/bin/env python3
"""A fleet of real SSH hosts on this machine: network namespaces, one sshd each, each its own /opt.

Host ``hNNN`` of a fleet is:

* a network namespace ``flinkops-<tag>-hNNN`` whose ``eth0`` is one end of a veth pair, the other
  end on the bridge ``fo<tag>br`` that holds the controller's address on a private test subnet
  (``10.S.0.0/16``, S chosen so that it overlaps no address or route of this machine). The
  namespaces have no default route: they reach the controller and nothing else;
* its own ``sshd`` (Debian's openssh-server) listening on the namespace's address only, with its
  own host key, started in a private mount namespace where ``<dir>/hosts/hNNN/opt`` is bind
  mounted on ``/opt``: every host sees its own ``/opt/flink`` (lib/ and conf/), the machine's
  ``/opt`` is untouched; a private UTS namespace gives it its own hostname (``hNNN``);
* a line in the generated inventory (``<dir>/inventory.yml``, groups ``flink_jobmanager`` and
  ``flink_taskmanager``) with the per-run client key and a known_hosts file holding exactly the
  host keys of this run (StrictHostKeyChecking=yes: a wrong host is refused, not trusted).

Everything created is recorded in ``<dir>/fleet.json`` as it is created, so ``down`` removes a
half-built fleet too; ``down`` is idempotent. Processes are ended by pid: the pids ``ip netns pids``
lists for the fleet's own namespaces (sshd and its sessions), nothing found by name.

CLI (molecule's create and destroy can call it too; needs root)::

    python tests/sshfleet/fleet.py up 10 --dir /tmp/fleet [--jobmanagers 1]
    python tests/sshfleet/fleet.py down --dir /tmp/fleet
    python tests/sshfleet/fleet.py sweep     # every fleet of this tool, after a run killed with SIGKILL

Standard library only, so any Python 3.11 runs it.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

SSHD = "/usr/sbin/sshd"
STATE = "fleet.json"
NETNS_PREFIX = "flinkops-"
FLINK_HOME = "/opt/flink"


class FleetError(Exception):
    """Something the fleet needs failed; the message names the command and what it said."""


@dataclass
class HostSpec:
    """What one host holds under /opt/flink and which inventory groups it is in."""

    version: str
    files: dict[str, bytes]
    groups: tuple[str, ...]


@dataclass
class Host:
    name: str
    index: int
    address: str
    netns: str
    veth: str
    root: str  # directory bind mounted on /opt inside the host
    pid: int | None = None
    host_key: str = ""

    @property
    def flink_home(self) -> str:
        """The host's /opt/flink as seen from the controller."""
        return os.path.join(self.root, "flink")

    @property
    def conf_dir(self) -> str:
        return os.path.join(self.flink_home, "conf")


@dataclass
class Fleet:
    dir: Path
    tag: str
    network: str
    bridge: str
    hosts: list[Host] = field(default_factory=list)
    client_key: str = ""

    @property
    def inventory(self) -> Path:
        return self.dir / "inventory.yml"

    @property
    def known_hosts(self) -> Path:
        return self.dir / "known_hosts"

    def host(self, name: str) -> Host:
        for host in self.hosts:
            if host.name == name:
                return host
        raise KeyError(f"no host {name!r} in the fleet at {self.dir}")

    # -- state -------------------------------------------------------------------------------
    def save(self) -> None:
        data = {
            "tag": self.tag, "network": self.network, "bridge": self.bridge, "client_key": self.client_key,
            "hosts": [vars(h) for h in self.hosts],
        }
        tmp = self.dir / (STATE + ".tmp")
        tmp.write_text(json.dumps(data, indent=1))
        os.replace(tmp, self.dir / STATE)

    @classmethod
    def load(cls, directory: str | os.PathLike) -> Fleet | None:
        path = Path(directory) / STATE
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            return None
        except ValueError as exc:
            raise FleetError(f"{path}: not a fleet state file ({exc})") from None
        fleet = cls(Path(directory).resolve(), data["tag"], data["network"], data["bridge"],
                    client_key=data["client_key"])
        fleet.hosts = [Host(**h) for h in data["hosts"]]
        return fleet

    # -- per-host operations -----------------------------------------------------------------
    def stop_sshd(self, name: str) -> None:
        """Stop the host's sshd and its sessions: the address stays up and refuses connections."""
        host = self.host(name)
        _kill_netns_processes(host.netns, extra=[host.pid] if host.pid and _ours(host.pid, self.dir) else [])
        host.pid = None
        self.save()

    def in_host(self, name: str, argv: list[str], **kwargs) -> subprocess.CompletedProcess:
        """Run ``argv`` inside the host (its network and mount namespaces, as its sshd sees them)."""
        host = self.host(name)
        if host.pid is None:
            raise FleetError(f"{name}: sshd is stopped, its mount namespace is gone")
        return _run(["nsenter", "-t", str(host.pid), "-n", "-m", "--", *argv], **kwargs)

    def make_readonly(self, name: str, path: str = FLINK_HOME + "/conf") -> None:
        """Mount ``path`` read-only inside the host only (root cannot write it there; EROFS)."""
        self.in_host(name, ["sh", "-c", 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1"', "sh", path])


# -- commands ---------------------------------------------------------------------------------
def _run(argv: list[str], *, check: bool = True, input: bytes | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run(argv, input=input, capture_output=True, check=False)
    if check and proc.returncode != 0:
        err = (proc.stderr or proc.stdout).decode(errors="replace").strip()
        raise FleetError(f"`{' '.join(argv)}` failed (exit {proc.returncode}): {err}")
    return proc


def _ip_batch(lines: Iterable[str], *, force: bool = False) -> None:
    """Many ``ip`` commands in one process (``-force`` carries on after errors: used to clean up)."""
    script = "".join(line + "\n" for line in lines).encode()
    if script:
        _run(["ip", *(["-force"] if force else []), "-batch", "-"], input=script, check=not force)


def ensure_sshd() -> None:
    """Install Debian's openssh-server when sshd is missing (the package's service is not started)."""
    if not os.path.exists(SSHD):
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        proc = subprocess.run(["apt-get", "install", "-y", "-q", "openssh-server"], capture_output=True, env=env)
        if proc.returncode != 0:
            subprocess.run(["apt-get", "update", "-q"], capture_output=True, env=env)
            proc = subprocess.run(["apt-get", "install", "-y", "-q", "openssh-server"], capture_output=True, env=env)
        if proc.returncode != 0 or not os.path.exists(SSHD):
            raise FleetError("could not install openssh-server: " + proc.stderr.decode(errors="replace")[-2000:])
    # sshd's privilege separation directory (the Debian service creates it at boot).
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)


def check_capable() -> None:
    """Fail early, with the system's words, where namespaces cannot be made."""
    if os.geteuid() != 0:
        raise FleetError("the SSH fleet needs root (ip netns, bridges, mount namespaces); running as uid "
                         f"{os.geteuid()}")
    for tool in ("ip", "unshare", "nsenter", "ssh-keygen", "mount"):
        if shutil.which(tool) is None:
            raise FleetError(f"{tool} not found on PATH")
    if not os.path.isdir("/opt"):
        raise FleetError("/opt does not exist: it is the mount point of each host's own /opt")


def _used_networks() -> list[ipaddress.IPv4Network]:
    nets = []
    addrs = json.loads(_run(["ip", "-j", "-4", "addr"]).stdout or b"[]")
    for link in addrs:
        for info in link.get("addr_info", []):
            nets.append(ipaddress.ip_network(f"{info['local']}/{info['prefixlen']}", strict=False))
    routes = json.loads(_run(["ip", "-j", "-4", "route", "show", "table", "all"]).stdout or b"[]")
    for route in routes:
        dst = route.get("dst", "")
        if dst and dst != "default":
            with contextlib.suppress(ValueError):
                nets.append(ipaddress.ip_network(dst if "/" in dst else dst + "/32", strict=False))
    return nets


def _pick_network() -> ipaddress.IPv4Network:
    """A 10.S.0.0/16 that overlaps nothing this machine has (another fleet's included)."""
    used = _used_networks()
    candidates = list(range(200, 255))
    start = secrets.randbelow(len(candidates))
    for k in range(len(candidates)):
        net = ipaddress.ip_network(f"10.{candidates[(start + k) % len(candidates)]}.0.0/16")
        if not any(net.overlaps(u) for u in used):
            return net
    raise FleetError("no free 10.S.0.0/16 (S in 200..254) for the test subnet")


# -- Flink content --------------------------------------------------------------------------
def default_spec(index: int, count: int, jobmanagers: int = 1) -> HostSpec:
    """A small mixed fleet: JobManagers on 2.3, TaskManagers on 1.20 (legacy file), 2.3 and 1.19."""
    if index < jobmanagers:
        return HostSpec("2.3.0", {"config.yaml": (
            b"jobmanager:\n  rpc:\n    address: h000\n  memory:\n    process:\n      size: 1600m\n"
            b"parallelism:\n  default: 4\n")}, ("flink_jobmanager",))
    kind = (index - jobmanagers) % 3
    if kind == 0:
        return HostSpec("1.20.5", {"flink-conf.yaml": (
            b"jobmanager.rpc.address: h000\ntaskmanager.memory.process.size: 4g\n"
            b"taskmanager.numberOfTaskSlots: 4\ntaskmanager.memory.managed.fraction: 0.4\n")},
            ("flink_taskmanager",))
    if kind == 1:
        return HostSpec("2.3.0", {"config.yaml": (
            b"jobmanager:\n  rpc:\n    address: h000\ntaskmanager:\n  numberOfTaskSlots: 4\n  memory:\n"
            b"    process:\n      size: 4g\n    managed:\n      fraction: 0.4\n")}, ("flink_taskmanager",))
    return HostSpec("1.19.3", {"config.yaml": (
        b"jobmanager.rpc.address: h000\ntaskmanager.memory.process.size: 4g\n"
        b"taskmanager.numberOfTaskSlots: 4\ntaskmanager.memory.managed.fraction: 0.4\n")}, ("flink_taskmanager",))


def write_flink(root: str, spec: HostSpec) -> None:
    home = Path(root) / "flink"
    (home / "lib").mkdir(parents=True, exist_ok=True)
    (home / "conf").mkdir(exist_ok=True)
    # An empty jar with the real name is all version detection reads.
    (home / "lib" / f"flink-dist-{spec.version}.jar").write_bytes(b"")
    for name, data in spec.files.items():
        (home / "conf" / name).write_bytes(data)


# -- up / down ------------------------------------------------------------------------------
SSHD_CONFIG = """\
# sshd of fleet host {name} ({netns}); generated by tests/sshfleet/fleet.py
ListenAddress {address}:22
HostKey {host_key}
PidFile {dir}/sshd.pid
AuthorizedKeysFile {client_pub}
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
# The run directory usually lives under /tmp (world-writable), which StrictModes refuses.
StrictModes no
UseDNS no
PrintMotd no
PrintLastLog no
AcceptEnv LANG LC_*
# Forks of many controllers connect at once during benchmarks.
MaxStartups 100:30:200
MaxSessions 50
Subsystem sftp internal-sftp
"""

# Inside the host: private mount and UTS namespaces (its own /opt, its own hostname); then sshd.
_START = 'mount --bind "$1" /opt && hostname "$5" && exec "$2" -D -e -f "$3" -E "$4"'


def _start_sshd(host: Host, run_dir: Path) -> int:
    hdir = run_dir / "hosts" / host.name
    log = hdir / "sshd.log"
    argv = ["ip", "netns", "exec", host.netns, "unshare", "--mount", "--uts", "--propagation", "private",
            "--", "sh", "-c", _START, "sh", host.root, SSHD, str(hdir / "sshd_config"), str(log), host.name]
    with open(hdir / "start.err", "wb") as err:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                                start_new_session=True, close_fds=True)
    # ip netns exec, unshare and sh each exec the next program: this pid becomes sshd's.
    return proc.pid


def _wait_listening(hosts: list[Host], run_dir: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    pending = {h.name: h for h in hosts}
    while pending:
        for name, host in list(pending.items()):
            try:
                with socket.create_connection((host.address, 22), timeout=1.0) as sock:
                    if sock.recv(64).startswith(b"SSH-"):
                        del pending[name]
                        continue
            except OSError:
                pass
            if host.pid is not None and not _alive(host.pid):
                err = (run_dir / "hosts" / name / "start.err").read_bytes().decode(errors="replace")
                log = run_dir / "hosts" / name / "sshd.log"
                err += log.read_text(errors="replace") if log.exists() else ""
                raise FleetError(f"{name}: sshd exited at start: {err.strip()[-1500:]}")
        if pending and time.monotonic() > deadline:
            raise FleetError(f"sshd not listening after {timeout:.0f} s on: {', '.join(sorted(pending))}")
        if pending:
            time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            state = handle.read().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    if state == b"Z":
        _reap(pid)
        return False
    return True


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def _netns_pids(netns: str) -> list[int]:
    proc = _run(["ip", "netns", "pids", netns], check=False)
    return [int(p) for p in proc.stdout.split()] if proc.returncode == 0 else []


def _ours(pid: int, run_dir: Path) -> bool:
    """Whether ``pid`` is a process this fleet started (its command line names the fleet's directory)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return str(run_dir).encode() + b"/" in handle.read()
    except OSError:
        return False


def _kill_netns_processes(*netns: str, extra: Iterable[int] = (), timeout: float = 5.0) -> None:
    """End every process in the fleet's own namespaces (sshd and sessions) and ``extra``, by pid."""
    pids = list(dict.fromkeys([pid for name in netns for pid in _netns_pids(name)] + list(extra)))
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pids = [p for p in pids if _alive(p)]
            if not pids:
                return
            time.sleep(0.02)
    if pids:
        raise FleetError(f"processes {pids} in {', '.join(netns)} survived SIGKILL")


def up(count: int, directory: str | os.PathLike, *, jobmanagers: int = 1,
       spec: Callable[[int, int], HostSpec] | None = None, python: str = "/usr/bin/python3") -> Fleet:
    """Create ``count`` SSH hosts; their state, keys and inventory go under ``directory``."""
    if count < 1:
        raise FleetError("a fleet needs at least one host")
    check_capable()
    ensure_sshd()
    run_dir = Path(directory).resolve()
    if run_dir.is_relative_to("/opt"):
        raise FleetError(f"{run_dir}: the fleet directory cannot be under /opt (each host's /opt is replaced)")
    run_dir.mkdir(parents=True, exist_ok=True)
    if (run_dir / STATE).exists():
        raise FleetError(f"{run_dir} already holds a fleet: run `down --dir {run_dir}` first")
    tag = secrets.token_hex(3)
    net = _pick_network()
    fleet = Fleet(run_dir, tag, str(net), f"fo{tag}br")
    fleet.save()  # from here on `down` can clean up whatever exists
    try:
        _build(fleet, count, jobmanagers, spec or (lambda i, n: default_spec(i, n, jobmanagers)), python)
    except BaseException:
        down(run_dir)
        raise
    return fleet


def _build(fleet: Fleet, count: int, jobmanagers: int, spec, python: str) -> None:
    run_dir = fleet.dir
    net = ipaddress.ip_network(fleet.network)
    gateway = net.network_address + 1
    key = run_dir / "client_key"
    _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"flinkops-fleet-{fleet.tag}", "-f", str(key)])
    fleet.client_key = str(key)

    specs = {}
    for i in range(count):
        name = f"h{i:03d}"
        host = Host(name=name, index=i, address=str(net.network_address + 10 + i),
                    netns=f"{NETNS_PREFIX}{fleet.tag}-{name}", veth=f"fo{fleet.tag}{i}",
                    root=str(run_dir / "hosts" / name / "opt"))
        fleet.hosts.append(host)
        specs[name] = spec(i, count)
    fleet.save()

    # The network: a bridge with the controller's address; per host a namespace and a veth pair.
    _ip_batch([f"link add {fleet.bridge} type bridge", f"addr add {gateway}/{net.prefixlen} dev {fleet.bridge}",
               f"link set {fleet.bridge} up"])
    _ip_batch(f"netns add {h.netns}" for h in fleet.hosts)
    _ip_batch(line for h in fleet.hosts for line in (
        f"link add {h.veth} type veth peer name eth0 netns {h.netns}",
        f"link set {h.veth} master {fleet.bridge}",
        f"link set {h.veth} up"))

    def configure(host: Host) -> None:
        _run(["ip", "-n", host.netns, "-batch", "-"], input=(
            f"link set lo up\naddr add {host.address}/{net.prefixlen} dev eth0\nlink set eth0 up\n").encode())
        hdir = run_dir / "hosts" / host.name
        hdir.mkdir(parents=True, exist_ok=True)
        write_flink(host.root, specs[host.name])
        host.host_key = str(hdir / "ssh_host_ed25519_key")
        _run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", host.name, "-f", host.host_key])
        (hdir / "sshd_config").write_text(SSHD_CONFIG.format(
            name=host.name, netns=host.netns, address=host.address, host_key=host.host_key, dir=hdir,
            client_pub=f"{key}.pub"))

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(configure, fleet.hosts))
    for host in fleet.hosts:
        host.pid = _start_sshd(host, run_dir)
        fleet.save()
    _wait_listening(fleet.hosts, run_dir)

    known = "".join(f"{h.address} {Path(h.host_key + '.pub').read_text().split(' ', 2)[0]} "
                    f"{Path(h.host_key + '.pub').read_text().split(' ', 2)[1]}\n" for h in fleet.hosts)
    fleet.known_hosts.write_text(known)
    write_inventory(fleet, specs, python)
    fleet.save()


def write_inventory(fleet: Fleet, specs: dict[str, HostSpec], python: str) -> None:
    """The inventory: every host by its namespace address, this run's key and known_hosts only."""
    groups: dict[str, list[Host]] = {}
    for host in fleet.hosts:
        for group in specs[host.name].groups:
            groups.setdefault(group, []).append(host)
    common = (f"-o UserKnownHostsFile={fleet.known_hosts} -o GlobalKnownHostsFile=/dev/null "
              "-o StrictHostKeyChecking=yes -o IdentitiesOnly=yes -o BatchMode=yes -o ConnectTimeout=10")
    lines = [
        f"# SSH fleet {fleet.tag} ({len(fleet.hosts)} hosts on {fleet.network}); generated by tests/sshfleet/fleet.py",
        "all:",
        "  vars:",
        "    ansible_connection: ssh",
        "    ansible_user: root",
        f"    ansible_private_key_file: {json.dumps(fleet.client_key)}",
        f"    ansible_ssh_common_args: {json.dumps(common)}",
        "    # Host keys are known (this run's known_hosts): check them, whatever the environment says.",
        "    ansible_ssh_host_key_checking: true",
        f"    ansible_python_interpreter: {json.dumps(python)}",
        f"    flink_home: {FLINK_HOME}",
        "  hosts:",
    ]
    for host in fleet.hosts:
        lines.append(f"    {host.name}: {{ansible_host: {host.address}}}")
    lines.append("  children:")
    for group, members in groups.items():
        lines += [f"    {group}:", "      hosts:"] + [f"        {h.name}:" for h in members]
    fleet.inventory.write_text("\n".join(lines) + "\n")


def down(directory: str | os.PathLike) -> list[str]:
    """Remove the fleet recorded under ``directory``: processes, namespaces, veths, bridge. Idempotent."""
    fleet = Fleet.load(directory)
    if fleet is None:
        return []
    removed = []
    existing = set(_run(["ip", "netns", "list"], check=False).stdout.decode().split())
    ours = sorted(n for n in existing if n.startswith(f"{NETNS_PREFIX}{fleet.tag}-"))
    # A recorded sshd still on its way into its namespace is not listed there yet: end it by its pid too.
    started = [h.pid for h in fleet.hosts if h.pid is not None and _ours(h.pid, fleet.dir)]
    _kill_netns_processes(*ours, extra=started)
    for host in fleet.hosts:
        if host.pid is not None:
            _reap(host.pid)
    # The veths first (deleting one end deletes the pair): a namespace's own cleanup is asynchronous.
    links = {link["ifname"] for link in json.loads(_run(["ip", "-j", "link"], check=False).stdout or b"[]")}
    veths = sorted(n for n in links if n.startswith(f"fo{fleet.tag}") and n != fleet.bridge)
    _ip_batch((f"link del {n}" for n in veths), force=True)
    _ip_batch((f"netns del {n}" for n in ours), force=True)
    bridge = [fleet.bridge] if fleet.bridge in links else []
    _ip_batch((f"link del {n}" for n in bridge), force=True)
    removed += ours + veths + bridge
    os.unlink(Path(directory) / STATE)
    return removed


_OUR_NETNS = re.compile(r"^flinkops-([0-9a-f]{6})-h\d{3,}$")


def sweep() -> list[str]:
    """Remove every fleet of this tool on the machine, recorded or not (after a run killed with SIGKILL).

    Only names this tool makes are touched: namespaces ``flinkops-<6 hex>-hNNN`` (their processes are
    ended by pid first) and links ``fo<same 6 hex>...``. Other fleets still in use go too: run it by hand.
    """
    listed = _run(["ip", "netns", "list"], check=False).stdout.decode().split()
    ours = sorted(n for n in listed if _OUR_NETNS.match(n))
    tags = {_OUR_NETNS.match(n).group(1) for n in ours}
    _kill_netns_processes(*ours)
    links = {link["ifname"] for link in json.loads(_run(["ip", "-j", "link"], check=False).stdout or b"[]")}
    theirs = sorted(n for n in links if any(n.startswith(f"fo{t}") for t in tags))
    veths = [n for n in theirs if not n.endswith("br")]
    bridges = [n for n in theirs if n.endswith("br")]
    _ip_batch((f"link del {n}" for n in veths), force=True)
    _ip_batch((f"netns del {n}" for n in ours), force=True)
    _ip_batch((f"link del {n}" for n in bridges), force=True)
    return ours + veths + bridges


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p_up = sub.add_parser("up", help="create N hosts")
    p_up.add_argument("count", type=int)
    p_up.add_argument("--dir", required=True)
    p_up.add_argument("--jobmanagers", type=int, default=1)
    p_down = sub.add_parser("down", help="remove the fleet under --dir (idempotent)")
    p_down.add_argument("--dir", required=True)
    sub.add_parser("sweep", help="remove every fleet of this tool on the machine (after a killed run)")
    opts = ap.parse_args(argv)
    try:
        if opts.cmd == "up":
            t0 = time.monotonic()
            fleet = up(opts.count, opts.dir, jobmanagers=opts.jobmanagers)
            print(f"{len(fleet.hosts)} hosts on {fleet.network} in {time.monotonic() - t0:.1f} s; "
                  f"inventory: {fleet.inventory}")
        else:
            removed = down(opts.dir) if opts.cmd == "down" else sweep()
            netns = [n for n in removed if n.startswith(NETNS_PREFIX)]
            print(f"removed {len(netns)} namespaces and {len(removed) - len(netns)} links (veths, bridge)" if removed
                  else "nothing to remove")
    except FleetError as exc:
        print(f"fleet.py {opts.cmd}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
