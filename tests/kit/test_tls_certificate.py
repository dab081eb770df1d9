"""The kit's loopback TLS certificate (bx24_testing/test-tls.crt, the SIP server's WSS): the key
its Chromium trusts (browser.TEST_TLS_SPKI, in every launch) is that certificate's, and it is
for the loopback names only."""

import base64
import hashlib
import shutil
import subprocess

import pytest

from bx24_testing.browser import SPKI_FLAG, TEST_TLS_SPKI, launch_args
from bx24_testing.sip import TEST_CERT

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl")


def openssl(*args, data=None):
    return subprocess.run(["openssl", *args], input=data, capture_output=True, check=True).stdout


def test_the_trusted_key_is_the_certificates():
    public = openssl("x509", "-in", str(TEST_CERT), "-noout", "-pubkey")
    der = openssl("pkey", "-pubin", "-outform", "der", data=public)
    assert base64.b64encode(hashlib.sha256(der).digest()).decode() == TEST_TLS_SPKI
    names = openssl("x509", "-in", str(TEST_CERT), "-noout", "-ext", "subjectAltName").decode()
    assert "IP Address:127.0.0.1" in names and "DNS:localhost" in names
    assert names.count(",") == 1  # nothing else


def test_chromium_gets_one_list_of_trusted_keys_with_the_kits_and_the_callers():
    args = launch_args({"args": [SPKI_FLAG + "abc="]})["args"]
    flags = [a for a in args if a.startswith(SPKI_FLAG)]
    assert flags == [SPKI_FLAG + TEST_TLS_SPKI + ",abc="]
