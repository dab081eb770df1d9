"""The real ``bx24 serve``, run as a child process over a throwaway project, shared per module;
a test certificate."""

import shutil
import subprocess

import pytest

from bx24_server.background import ServerProcess
from server_helpers import env_for, make_site, serve_command


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return make_site(tmp_path_factory.mktemp("site"))


@pytest.fixture(scope="module")
def server(site):
    # Many tests post notices from one address: the shared server lets them (the limit has its
    # own test).
    with ServerProcess(
        serve_command(site, "--emulator", "--notices-per-minute", "100000"), env=env_for(site)
    ) as running:
        yield running


@pytest.fixture(scope="session")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1, made with the openssl command: (cert, key)."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            key,
            "-out",
            cert,
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return cert, key
