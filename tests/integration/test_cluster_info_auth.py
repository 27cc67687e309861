"""flink_cluster_info with basic auth (issue 13.5): the URL's userinfo or user/password become an
Authorization header, and the secret appears nowhere - not in the result, an error, or -vvv output.

A real HTTP server on loopback that answers like a JobManager only with the right credentials; real
ansible-playbook.
"""

from __future__ import annotations

import base64
import http.server
import json
import subprocess
import sys
import threading

import pytest

SECRET = "s3cr3t-Pa55"
ANSWERS = {
    "/overview": {"taskmanagers": 0, "slots-total": 0, "slots-available": 0, "flink-version": "2.3.0"},
    "/taskmanagers": {"taskmanagers": []},
    "/jobs/overview": {"jobs": []},
    "/jobmanager/config": [{"key": "jobmanager.memory.heap.size", "value": "469762048b"}],
    "/jobmanager/environment": {"jvm": {"options": ["-Xmx469762048"]}},
}


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 -- http.server's name
        want = "Basic " + base64.b64encode(f"admin:{SECRET}".encode()).decode()
        if self.headers.get("Authorization") != want:
            self.send_response(401)
            self.end_headers()
            return
        body = json.dumps(ANSWERS.get(self.path, {})).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def jobmanager():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()


def _run(ansible_env, ansible_bin, tmp_path, tasks):
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(json.dumps({"all": {"hosts": {"localhost": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}}))
    playbook = tmp_path / "play.yml"
    playbook.write_text(json.dumps([{"hosts": "all", "gather_facts": False, "tasks": tasks}]))
    return subprocess.run([str(ansible_bin / "ansible-playbook"), "-vvv", "-i", str(inventory), str(playbook)],
                          env=ansible_env, capture_output=True, text=True, timeout=300, check=False)


def test_basic_auth_works_and_the_secret_is_never_shown(ansible_env, ansible_bin, tmp_path, jobmanager):
    url = f"http://admin:{SECRET}@127.0.0.1:{jobmanager}"
    proc = _run(ansible_env, ansible_bin, tmp_path, [
        {"flinkops.flink.flink_cluster_info": {"url": url}, "register": "from_url"},
        {"flinkops.flink.flink_cluster_info": {"url": f"http://127.0.0.1:{jobmanager}", "user": "admin",
                                               "password": SECRET}, "register": "from_options"},
        {"ansible.builtin.debug": {"var": "from_url"}},
        {"ansible.builtin.assert": {"that": [
            "from_url.flink_version == '2.3.0'", "from_options.flink_version == '2.3.0'",
            f"from_url.url == 'http://127.0.0.1:{jobmanager}'",
            "from_url.jobmanager.memory.sizes.heap == 469762048"]}},
        # wrong password in the URL: refused by the server, and the message shows no password either
        {"flinkops.flink.flink_cluster_info": {"url": f"http://admin:{SECRET}x@127.0.0.1:{jobmanager}"},
         "register": "refused", "ignore_errors": True},
        {"ansible.builtin.assert": {"that": ["refused.failed", "'HTTP 401' in refused.msg"]}},
        # unreachable: the error names the address without the credentials
        {"flinkops.flink.flink_cluster_info": {"url": f"http://admin:{SECRET}@127.0.0.1:1"}, "register": "down",
         "ignore_errors": True},
        {"ansible.builtin.assert": {"that": ["down.failed", "'http://127.0.0.1:1/overview' in down.msg"]}},
    ])
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    out = proc.stdout + proc.stderr
    assert "from_url" in out and SECRET not in out

