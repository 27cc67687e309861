"""Stand-in for pip's get-pip.py bootstrap, for ansible-test on a machine without that download host.

ansible-test creates venvs without pip and then runs a downloaded get-pip.py; here we install pip from
the Python's own ensurepip instead and then hand the requested packages to that pip. tools/sanity.sh
copies this file to ~/.ansible/test/cache/get_pip_<version>.py.
"""

import subprocess
import sys

subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade"])
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
if args:
    subprocess.check_call([sys.executable, "-m", "pip", "install", *args])
