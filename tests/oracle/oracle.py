"""Drive real Flink as a test oracle: one long-running JVM per Flink version.

``FlinkOracle.java`` (next to this file) is compiled once per Flink release
with javac against that release's ``flink-dist.jar`` and ``bash-java-utils.jar``
(fetched by ``flink_dist.jars``) into ``~/.cache/flinkops/oracle-classes/``.
The JVM answers framed requests on stdin/stdout (int32 frame length, int32
count, then int32 length + UTF-8 bytes per string), so keys and values may
hold any character.

The JVM runs with a scrubbed environment: no ``FLINK_*`` variables (Flink 1.x
reads ``FLINK_TM_HEAP`` / ``FLINK_JM_HEAP`` as legacy heap sizes) and no
``JAVA_TOOL_OPTIONS`` style variables, so answers depend on the request only.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import flink_dist  # sibling module: tests/oracle is not a package

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "FlinkOracle.java"
PROCESSES = ("taskmanager", "jobmanager")

# Flink's bash-java-utils.jar ships a log4j2.properties that logs INFO to the console; ours wins.
# FLINKOPS_ORACLE_LOG=INFO (for example) shows Flink's log lines on the JVM's stderr.
_LOG4J = """\
status = error
rootLogger.level = {level}
rootLogger.appenderRef.err.ref = Err
appender.err.name = Err
appender.err.type = Console
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = %-5p %c{{1}} - %m%n
"""

_INT = struct.Struct(">i")
_SCRUBBED_ENV_PREFIXES = ("FLINK_",)
_SCRUBBED_ENV = ("JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "JDK_JAVA_OPTIONS", "CLASSPATH")


class OracleError(RuntimeError):
    """The oracle itself failed (no Java, harness crash, protocol error) -- never a config verdict."""


def _require_java() -> tuple[str, str]:
    javac = shutil.which("javac")
    java = shutil.which("java")
    if not javac or not java:
        raise OracleError(
            "the Flink oracle needs a JDK (java and javac on PATH) but "
            f"{'javac' if not javac else 'java'} was not found; install Java 17 with "
            "'apt-get install -y openjdk-17-jdk-headless' (make bootstrap does this)"
        )
    return java, javac


def classes_dir(version: str) -> Path:
    """Compile the harness for one Flink release (once; cached by source hash) and return its directory."""
    full = flink_dist.full_version(version)
    _, javac = _require_java()
    dist, bash_utils = flink_dist.jars(full)
    source = SOURCE.read_bytes()
    digest = hashlib.sha256(source + full.encode()).hexdigest()[:16]
    target = flink_dist.CACHE / "oracle-classes" / full / digest
    if (target / "FlinkOracle.class").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        build = Path(tmp) / "classes"
        build.mkdir()
        proc = subprocess.run(
            [javac, "-nowarn", "-encoding", "UTF-8", "-cp", f"{dist}{os.pathsep}{bash_utils}",
             "-d", str(build), str(SOURCE)],
            capture_output=True, text=True, check=False,
        )
        if proc.returncode != 0:
            raise OracleError(f"javac failed for Flink {full}:\n{proc.stdout}{proc.stderr}")
        try:
            os.replace(build, target)  # atomic: a cache entry is whole or absent
        except OSError:
            if not (target / "FlinkOracle.class").is_file():  # lost a race only if the winner is whole
                raise
    return target


def _parse_jvm_params(text: str) -> dict:
    heap = xms = direct = metaspace = None
    for token in text.split():
        if token.startswith("-Xmx"):
            heap = int(token[4:])
        elif token.startswith("-Xms"):
            xms = int(token[4:])
        elif token.startswith("-XX:MaxDirectMemorySize="):
            direct = int(token.split("=", 1)[1])
        elif token.startswith("-XX:MaxMetaspaceSize="):
            metaspace = int(token.split("=", 1)[1])
        else:  # a flag this driver does not know: make a new Flink release fail loudly
            raise OracleError(f"unexpected JVM parameter {token!r} in {text!r}")
    if heap is None or xms != heap or metaspace is None:
        raise OracleError(f"unexpected JVM parameter string {text!r}")
    return {"heap": heap, "direct": direct, "metaspace": metaspace}


def _parse_dynamic(text: str) -> dict[str, str]:
    tokens = text.split(" ")
    if len(tokens) % 2 or any(t != "-D" for t in tokens[::2]):
        raise OracleError(f"unexpected dynamic-properties string {text!r}")
    result = {}
    for pair in tokens[1::2]:
        key, sep, value = pair.partition("=")
        if not sep or key in result:
            raise OracleError(f"unexpected dynamic property {pair!r} in {text!r}")
        result[key] = value
    return result


def _pairs(frame: list[str], start: int):
    if (len(frame) - start) % 2:
        raise OracleError(f"malformed response {frame!r}")
    return zip(frame[start::2], frame[start + 1 :: 2], strict=True)


def _memory_result(frame: list[str]) -> dict:
    if frame[:2] != ["ok", "valid"] or frame[2] not in ("true", "false"):
        raise OracleError(f"unexpected memory response {frame[:3]!r}")
    valid = frame[2] == "true"
    chain, classes, sizes = [], [], {}
    jvm_params = dynamic = None
    for name, value in _pairs(frame, 3):
        if name == "error":
            chain.append(value)
        elif name == "error_class":
            classes.append(value)
        elif name.startswith("size:"):
            sizes[name[5:]] = int(value)
        elif name == "jvm_params":
            jvm_params = value
        elif name == "dynamic_properties":
            dynamic = value
        else:
            raise OracleError(f"unexpected field {name!r} in memory response")
    if valid:
        return {
            "valid": True, "error_chain": None, "error_classes": None, "sizes": sizes,
            "jvm": _parse_jvm_params(jvm_params), "jvm_params": jvm_params,
            "dynamic_properties": _parse_dynamic(dynamic),
        }
    return {
        "valid": False, "error_chain": chain, "error_classes": classes, "sizes": None,
        "jvm": None, "jvm_params": None, "dynamic_properties": None,
    }


def _load_result(frame: list[str]) -> dict:
    if frame[:2] != ["ok", "loaded"] or frame[2] not in ("true", "false"):
        raise OracleError(f"unexpected load response {frame[:3]!r}")
    config, chain, classes = {}, [], []
    standard_yaml = None
    for name, value in _pairs(frame, 3):
        if name.startswith("config:"):
            config[name[7:]] = value
        elif name == "error":
            chain.append(value)
        elif name == "error_class":
            classes.append(value)
        elif name == "standard_yaml":
            standard_yaml = value == "true"
        else:
            raise OracleError(f"unexpected field {name!r} in load response")
    if frame[2] == "true":
        return {"ok": True, "config": config, "error_chain": None, "error_classes": None,
                "standard_yaml": standard_yaml}
    return {"ok": False, "config": None, "error_chain": chain, "error_classes": classes,
            "standard_yaml": None}


def _encode(strings: list[str]) -> bytes:
    parts = [b"", _INT.pack(len(strings))]
    for s in strings:
        data = s.encode("utf-8")
        parts.append(_INT.pack(len(data)))
        parts.append(data)
    body = b"".join(parts)
    return _INT.pack(len(body)) + body


def _decode(body: bytes) -> list[str]:
    (count,) = _INT.unpack_from(body, 0)
    strings, pos = [], 4
    for _ in range(count):
        (length,) = _INT.unpack_from(body, pos)
        pos += 4
        strings.append(body[pos : pos + length].decode("utf-8"))
        pos += length
    if pos != len(body):
        raise OracleError(f"malformed frame: {len(body) - pos} trailing bytes")
    return strings


class FlinkOracle:
    """Real Flink's memory calculator and config loader for one release, in one warm JVM."""

    def __init__(self, version: str, quick_start: bool = True):
        """``quick_start`` runs the JIT's C1 tier only: half the JVM's CPU for a test-sized batch.
        Benchmarks pass False to measure Flink's calculator at its peak (C2)."""
        self.version = flink_dist.full_version(version)
        self.quick_start = quick_start
        if self.version not in flink_dist.VERSIONS.values():
            raise ValueError(
                f"unsupported Flink version {version!r}; supported: {', '.join(flink_dist.VERSIONS)}"
            )
        self.flink_version = None  # as reported by the JVM (EnvironmentInformation)
        self.java_version = None
        self._proc = None
        self._stderr = None
        self._lock = threading.Lock()

    # -- lifecycle -------------------------------------------------------------------------------
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _start(self) -> None:
        java, _ = _require_java()
        classes = classes_dir(self.version)
        dist, bash_utils = flink_dist.jars(self.version)
        log_conf = classes / "log4j2-oracle.properties"
        level = os.environ.get("FLINKOPS_ORACLE_LOG", "OFF")
        log_conf_text = _LOG4J.format(level=level)
        if not log_conf.is_file() or log_conf.read_text() != log_conf_text:
            tmp = log_conf.with_name(f".{log_conf.name}.{os.getpid()}")
            tmp.write_text(log_conf_text)
            os.replace(tmp, log_conf)
        env = {
            k: v for k, v in os.environ.items()
            if not k.startswith(_SCRUBBED_ENV_PREFIXES) and k not in _SCRUBBED_ENV
        }
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 -- lives as long as the JVM; close() ends it
        self._proc = subprocess.Popen(
            [java, "-Xmx512m", "-XX:+UseSerialGC", "-Xshare:auto",
             *(["-XX:TieredStopAtLevel=1"] if self.quick_start else []),
             f"-Dlog4j2.configurationFile={log_conf}", f"-Dlog4j.configurationFile={log_conf}",
             "-cp", os.pathsep.join([str(classes), str(bash_utils), str(dist)]), "FlinkOracle"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, env=env,
        )
        hello = self._roundtrip([["hello"]])[0]
        info = dict(_pairs(hello, 1))
        self.flink_version = info.get("flink_version")
        self.java_version = info.get("java_version")
        if self.flink_version != self.version:
            self.close()
            raise OracleError(f"oracle for {self.version} loaded Flink {self.flink_version}")

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        with contextlib.suppress(OSError):  # the JVM may already be gone
            proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def jvm_cpu_seconds(self) -> float:
        """CPU time (user + system, all threads) the JVM has used so far; Linux /proc only."""
        if self._proc is None:
            return 0.0
        fields = Path(f"/proc/{self._proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    # -- protocol --------------------------------------------------------------------------------
    def _stderr_tail(self) -> str:
        if self._stderr is None:
            return ""
        self._stderr.flush()
        self._stderr.seek(0, os.SEEK_END)
        size = self._stderr.tell()
        self._stderr.seek(max(0, size - 4000))
        return self._stderr.read().decode("utf-8", "replace")

    def _read_exact(self, n: int) -> bytes:
        data = self._proc.stdout.read(n)
        if data is None or len(data) != n:
            code = self._proc.poll()
            raise OracleError(
                f"Flink {self.version} oracle JVM ended the stream (exit code {code}); stderr:\n"
                + self._stderr_tail()
            )
        return data

    def _read_frame(self) -> list[str]:
        (total,) = _INT.unpack(self._read_exact(4))
        strings = _decode(self._read_exact(total))
        if strings and strings[0] == "harness-error":
            raise OracleError(f"Flink {self.version} oracle harness failed: {strings[1:]}")
        return strings

    def _roundtrip(self, requests: list[list[str]]) -> list[list[str]]:
        """Send all requests from a writer thread while reading answers (no pipe deadlock)."""
        payload = b"".join(_encode(r) for r in requests)
        failure = []

        def write():
            try:
                self._proc.stdin.write(payload)
                self._proc.stdin.flush()
            except OSError as exc:  # the reader reports the JVM's own error
                failure.append(exc)

        writer = threading.Thread(target=write, daemon=True)
        writer.start()
        try:
            return [self._read_frame() for _ in requests]
        except BaseException:
            # Unread answers may fill the pipe and block the JVM, and with it the writer: end both.
            self._proc.kill()
            raise
        finally:
            writer.join()

    def _request(self, requests: list[list[str]]) -> list[list[str]]:
        with self._lock:
            try:
                if self._proc is None:
                    self._start()
                return self._roundtrip(requests)
            except BaseException:
                self.close()  # the stream position is unknown now; the next call starts afresh
                raise

    # -- public API ------------------------------------------------------------------------------
    @staticmethod
    def _memory_request(process: str, config: dict, sizes: bool = True) -> list[str]:
        if process not in PROCESSES:
            raise ValueError(f"process must be one of {PROCESSES}, not {process!r}")
        request = ["memory" if sizes else "params", process]
        for key, value in config.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise TypeError(f"oracle configs map str to str, got {key!r}: {value!r}")
            request += [key, value]
        return request

    def memory(self, process: str, config: dict[str, str]) -> dict:
        """What the start script's BashJavaUtils computes for this process and config."""
        return self.memory_many(process, [config])[0]

    def memory_many(self, process: str, configs, sizes: bool = True) -> list[dict]:
        """memory() for many configs, pipelined through the one JVM.

        ``sizes=False`` runs only BashJavaUtils (no mirrored spec, ``sizes`` is empty): Flink's
        calculator alone, for benchmarks.
        """
        requests = [self._memory_request(process, c, sizes) for c in configs]
        return [_memory_result(f) for f in self._request(requests)]

    def memory_dir(self, process: str, conf_dir) -> dict:
        """As memory(), but Flink reads the config directory itself (FlinkConfigLoader --configDir).

        This is the start scripts' whole path: file format, typed YAML values and all. A directory
        Flink cannot load gives ``valid: false`` with the loader's exception chain.
        """
        return self.memory_dir_many(process, [conf_dir])[0]

    def memory_dir_many(self, process: str, conf_dirs) -> list[dict]:
        if process not in PROCESSES:
            raise ValueError(f"process must be one of {PROCESSES}, not {process!r}")
        requests = [["memory-dir", process, str(d)] for d in conf_dirs]
        return [_memory_result(f) for f in self._request(requests)]

    def load(self, conf_dir: str) -> dict:
        """GlobalConfiguration.loadConfiguration(conf_dir).toMap(), or the exception chain."""
        return _load_result(self._request([["load", str(conf_dir)]])[0])


def bash_java_utils(version: str, process: str, conf_dir) -> dict:
    """Run BashJavaUtils in a fresh JVM exactly as the start scripts do, on a real config directory.

    Returns ``{"returncode", "jvm_params", "dynamic_properties", "output"}``; the two results are
    None unless the command printed both BASH_JAVA_UTILS_EXEC_RESULT lines.
    """
    java, _ = _require_java()
    dist, bash_utils = flink_dist.jars(version)
    command = {"taskmanager": "GET_TM_RESOURCE_PARAMS", "jobmanager": "GET_JM_RESOURCE_PARAMS"}[process]
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(_SCRUBBED_ENV_PREFIXES) and k not in _SCRUBBED_ENV}
    proc = subprocess.run(
        [java, "-cp", os.pathsep.join([str(dist), str(bash_utils)]),
         "org.apache.flink.runtime.util.bash.BashJavaUtils", command, "--configDir", str(conf_dir)],
        capture_output=True, text=True, env=env, check=False,
    )
    printed = [ln.split(":", 1)[1] for ln in proc.stdout.splitlines()
               if ln.startswith("BASH_JAVA_UTILS_EXEC_RESULT:")]
    ok = proc.returncode == 0 and len(printed) == 2
    return {
        "returncode": proc.returncode,
        "jvm_params": printed[0] if ok else None,
        "dynamic_properties": _parse_dynamic(printed[1]) if ok else None,
        "output": proc.stdout + proc.stderr,
    }


_ORACLES: dict[str, FlinkOracle] = {}
_ORACLES_LOCK = threading.Lock()


def oracle(version: str) -> FlinkOracle:
    """One shared oracle per Flink release for this Python process (closed at exit)."""
    full = flink_dist.full_version(version)
    with _ORACLES_LOCK:
        if full not in _ORACLES:
            _ORACLES[full] = FlinkOracle(full)
        return _ORACLES[full]


@atexit.register
def _close_all() -> None:
    for o in list(_ORACLES.values()):
        o.close()
