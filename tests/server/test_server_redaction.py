"""Secrets in every shape a frame, Bitrix24 or a softphone can put them, kept out of every log:
the table below goes through the one redaction (bx24_server.redaction.PATTERNS), through the
frame's copy of it (the same patterns compiled by JavaScript in boot.js's reports), and through
every endpoint of a real server into every file it writes."""

import json
import subprocess
from urllib.parse import quote

import pytest

from bx24_server.background import ServerProcess
from bx24_server.noticelog import sanitize
from bx24_server.redaction import PATTERNS, is_secret_key, redact_query, redact_text
from server_helpers import env_for, make_site, request, serve_command

# (text with a secret, the secret): every shape the frames' reports and logs met.
SHAPES = [
    ("password=PW01&x=1", "PW01"),
    ("{'password': 'PW 02'}", "PW 02"),
    ('{"password": "PW03"}', "PW03"),
    ("sip_password=PW04/x", "PW04"),
    ("sipPassword: PW05", "PW05"),
    ("SIP-Password = PW06", "PW06"),
    ("{'sip_password': 'PW07'}", "PW07"),
    ('x={\\"password\\": \\"PW08\\"}', "PW08"),
    (
        'Authorization: Digest username="101", realm="pbx", nonce="n1", uri="sip:pbx", '
        'response="0a1b2c3d4e5f60718293a4b5c6d7e8f9"',
        "0a1b2c3d4e5f60718293a4b5c6d7e8f9",
    ),
    ("Authorization: Basic dXNlcjpQVzEw", "dXNlcjpQVzEw"),
    ("authorization: Bearer PW11.abc.def", "PW11.abc.def"),
    ("Authorization: PW12tok", "PW12tok"),
    ("failed to call sip:101:PW13@pbx.example.com", "PW13"),
    ("WebSocket wss://u:PW14@pbx.example.com/ws closed", "PW14"),
    ("https://portal.bitrix24.com/rest/1/pw15webhookcode/user.current", "pw15webhookcode"),
    ("AUTH_ID[]=PW16tok&x=1", "PW16tok"),
    ("AUTH_ID[0]=PW17tok", "PW17tok"),
    ("auth[access_token]=PW18tok", "PW18tok"),
    ("/x%3FAUTH_ID=PW19tok", "PW19tok"),
    ("auth%5Baccess_token%5D%3DPW20tok", "PW20tok"),
    ("refresh_token%3DPW21tok%26b%3D1", "PW21tok"),
    ("application%5Ftoken=PW22tok", "PW22tok"),
    ('{"access_token": "PW23tok", "domain": "x"}', "PW23tok"),
    ("REFRESH_ID: PW24tok", "PW24tok"),
    ("client_secret=PW25sec", "PW25sec"),
    ("APPLICATION_TOKEN=PW26tok;DOMAIN=x", "PW26tok"),
    ("authId=PW27tok", "PW27tok"),
    ("x-api-token: PW28tok", "PW28tok"),
]
# Text that holds no secret and must come through unchanged.
HARMLESS = [
    "the author: Bob",
    "oauth=ok",
    "tokens=5",
    "DOMAIN=portal.bitrix24.com",
    "message: password is wrong",
    "sip:101@pbx.example.com:5060",
    "http://host:8080/x@y",
    "CallCardSetMute answered []",
]


@pytest.mark.parametrize("text, secret", SHAPES, ids=[s for _, s in SHAPES])
def test_every_shape_is_masked_in_free_text(text, secret):
    redacted = redact_text(text)
    assert secret not in redacted and "***" in redacted


def test_harmless_text_is_left_alone():
    assert [redact_text(text) for text in HARMLESS] == HARMLESS


@pytest.mark.parametrize(
    "key",
    [
        "AUTH_ID",
        "auth[access_token]",
        "AUTH_ID[0]",
        "AUTH_ID[]",
        "sip_password",
        "sipPassword",
        "Password",
        "pwd",
        "token",
        "client_secret",
        "auth%5Fid",
    ],
)
def test_secret_keys_in_any_spelling(key):
    assert is_secret_key(key)
    assert sanitize({key: "v", "kept": 1}) == {"kept": 1}


def test_the_query_of_a_request_line_is_masked_by_key_and_by_shape():
    query = b"DOMAIN=x&AUTH_ID%5B0%5D=t1&password=t2&note=sip:1:t3@h&LANG=ru"
    redacted = redact_query(query)
    assert not any(t in redacted for t in ("t1", "t2", "t3"))
    assert "DOMAIN=x" in redacted and "LANG=ru" in redacted


def test_the_frame_redacts_with_the_same_patterns_as_the_server():
    """boot.js compiles PATTERNS (from the page's boot config) as JavaScript regular
    expressions: on every shape it must mask exactly what Python masks."""
    texts = [text for text, _ in SHAPES] + HARMLESS
    script = """
        const [patterns, texts] = JSON.parse(require("fs").readFileSync(0, "utf8"));
        const compiled = patterns.map((source) => new RegExp(source, "gi"));
        const redact = (text) => compiled.reduce(
            (out, pattern) => out.replace(pattern, (match, kept) => kept + "***"), text);
        console.log(JSON.stringify(texts.map(redact)));"""
    done = subprocess.run(
        ["node", "-e", script],
        input=json.dumps([PATTERNS, texts]),
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    assert json.loads(done.stdout) == [redact_text(text) for text in texts]


def test_redaction_takes_linear_time_on_hostile_text():
    import time

    started = time.perf_counter()
    for text in ("a" * 64_000 + "=", "ab_" * 20_000, "%41" * 20_000, "x[" * 30_000):
        redact_text(text)
    assert time.perf_counter() - started < 5  # quadratic would be minutes


def test_no_shape_reaches_any_file_the_server_writes(tmp_path):
    site = make_site(tmp_path)
    with ServerProcess(
        serve_command(site, "--notices-per-minute", "100000"), env=env_for(site)
    ) as server:
        for text, _ in SHAPES:
            statuses = [
                request(
                    server.url,
                    "POST",
                    "/frame-report",
                    headers={"Content-Type": "application/json"},
                    body=json.dumps(
                        {"kind": "python", "message": "failed: " + text, "uri": "/crm/?" + text}
                    ),
                ).status,
                request(
                    server.url,
                    "POST",
                    "/error-handler",
                    headers={"Content-Type": "application/json"},
                    body=json.dumps({"error": "E", "error_description": text}),
                ).status,
                request(server.url, path="/app/" + quote(text, safe="/%=&?")).status,
                request(server.url, path="/healthz?q=" + quote(text, safe="%=&")).status,
            ]
            assert statuses[:2] == [204, 200], text
        request(server.url, path="/healthz")
        server.stop()
        written = {
            "stdout": server.stdout(),
            "stderr": server.stderr(),
            "access log": site["access_log"].read_text(),
            "error log": site["error_log"].read_text(),
            "report log": site["error_log"].with_name("frame-reports.jsonl").read_text(),
        }
    for where, content in written.items():
        for text, secret in SHAPES:
            assert secret not in content, f"{secret} (from {text!r}) in the {where}"
