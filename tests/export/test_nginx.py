"""``bx24 export`` served by Debian's real nginx with the generated config: Bitrix24's POST gets
the page, Python boots on both interpreters, the headers are bx24 serve's, a second page view
asks nginx for nothing but the page, and /error-handler reaches the Python server."""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from bx24_server.background import ServerProcess
from bx24_server.config import DEFAULT_FRAME_ANCESTORS
from bx24_testing.card import StubCard
from bx24_testing.frame import frame_url, open_frame, post_like_bitrix24
from bx24_testing.plugin import INTERPRETERS
from bx24_testing.portal import ANCESTORS
from bx24_testing.portal import portal as stand_in
from bx24_testing.sip import TEST_CERT, TEST_KEY

ROOT = Path(__file__).resolve().parents[2]
BX24 = [sys.executable, "-m", "bx24_frame"]
IMMUTABLE = "public, max-age=31536000, immutable"
MAIN = """\
import bx24
card = bx24.page.card()

@card.on("initialized")
async def show(call):
    await card.set_title("Call " + (call.phone_number or "?"))

card.attach()
"""


BROTLI_MODULE = Path("/usr/lib/nginx/modules/ngx_http_brotli_static_module.so")


def nginx_binary():
    found = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if found is None:
        pytest.fail("nginx is not installed (the README's test command installs Debian's)")
    return found


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_listening(port, process, deadline=10.0):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if process.poll() is not None:
            raise AssertionError(f"nginx exited: {process.stderr.read()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    raise AssertionError("nginx did not listen")


CLIENT_ID = "local.77aa88bb99cc00.11223344"
CLIENT_SECRET = "nginxTESTsecret0123456789abcdefghijklmnop"


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    """The export of a small app behind nginx on a loopback port, bx24 serve as its upstream."""
    tmp = tmp_path_factory.mktemp("nginx")
    project = tmp / "project"
    (project / "frame").mkdir(parents=True)
    (project / "frame" / "main.py").write_text(MAIN)
    logs = tmp / "logs"
    logs.mkdir()
    # the application's server too (its endpoints behind nginx), with the stand-ins' OAuth
    with ServerProcess(
        [
            *BX24,
            "serve",
            "--project",
            project,
            "--access-log",
            "off",
            "--error-log",
            logs / "placement-errors.jsonl",
            "--client-id",
            CLIENT_ID,
            "--oauth-server",
            stand_in().oauth_url,
            "--portal-store",
            tmp / "portals.sqlite3",
        ],
        env=dict(os.environ, BX24_CLIENT_SECRET=CLIENT_SECRET),
    ) as upstream:
        port = free_port()
        out = tmp / "export"
        subprocess.run(
            [
                *BX24,
                "export",
                str(out),
                "--project",
                str(project),
                "--listen",
                f"127.0.0.1:{port}",
                "--logs",
                str(logs),
                "--upstream",
                upstream.url.rstrip("/"),
                "--frame-ancestors",
                f"{DEFAULT_FRAME_ANCESTORS} {ANCESTORS}",
                "--brotli",
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        if not BROTLI_MODULE.is_file():
            pytest.fail(
                "nginx's brotli_static module is not installed (the README's test "
                "command installs Debian's libnginx-mod-http-brotli-static)"
            )
        nginx = start_nginx(tmp, out, port, logs)
        try:
            yield {"url": f"http://127.0.0.1:{port}/", "logs": logs, "out": out, "tmp": tmp}
        finally:
            nginx.terminate()
            nginx.wait(10)


def main_config(tmp, out, logs):
    """nginx's main config around the export's server block."""
    main = tmp / "nginx.conf"
    # As root, nginx's workers would run as nobody, who may not read the temp folder.
    user = "user root;" if os.geteuid() == 0 else ""
    main.write_text(f"""
load_module {BROTLI_MODULE};
{user}
daemon off;
pid {tmp}/nginx.pid;
error_log {logs}/error.log;
events {{}}
http {{
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    include {out}/nginx.conf;
}}
""")
    return main


def start_nginx(tmp, out, port, logs):
    nginx = subprocess.Popen(
        [nginx_binary(), "-p", str(tmp), "-c", str(main_config(tmp, out, logs))],
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_listening(port, nginx)
    return nginx


def check_config(tmp, out, logs):
    """``nginx -t`` on the export's config: its complaints, warnings included."""
    done = subprocess.run(
        [nginx_binary(), "-t", "-p", str(tmp), "-c", str(main_config(tmp, out, logs))],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return [line for line in done.stderr.splitlines() if "[warn]" in line or "[emerg]" in line]


def get(url, headers=None, method="GET", data=None):
    request = urllib.request.Request(url, headers=headers or {}, method=method, data=data)
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, {k.lower(): v for k, v in reply.headers.items()}, reply.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


@pytest.mark.parametrize("interpreter", INTERPRETERS)
def test_the_export_boots_behind_nginx(page, deployed, interpreter):
    frame = open_frame(page, frame_url(deployed["url"], interpreter))
    card = StubCard(frame)
    card.raise_call(PHONE_NUMBER="+15550001122")
    card.wait_for_command("CallCardSetCardTitle", title="Call +15550001122")
    assert "without a snapshot" not in frame.console_text()
    assert frame.outside_requests == []


def test_nginx_sends_bx24_serves_headers(deployed):
    status, headers, body = get(
        deployed["url"],
        method="POST",
        data=b"AUTH_ID=secret&x=1",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 200 and b'id="bx24-boot"' in body
    assert headers["cache-control"] == "no-cache"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["content-security-policy"].startswith(
        "frame-ancestors 'self' https://*.bitrix24."
    )
    assert headers["referrer-policy"] == "no-referrer"
    config = json.loads(body.split(b'id="bx24-boot">')[1].split(b"</script>")[0])
    pyodide = config["interpreters"]["pyodide"]
    for url in (config["main"], pyodide["pyodide"], pyodide["snapshot"]):
        status, headers, _ = get(deployed["url"] + url, {"Accept-Encoding": "gzip"})
        assert status == 200, url
        assert headers["cache-control"] == IMMUTABLE, url
        assert headers["x-content-type-options"] == "nosniff", url
    status, headers, _ = get(deployed["url"] + pyodide["pyodide"], {"Accept-Encoding": "gzip"})
    assert headers["content-encoding"] == "gzip"
    assert headers["content-type"] == "text/javascript; charset=utf-8"
    # The large files also go out as the set-up's brotli copies, to clients that take them.
    for url in (pyodide["snapshot"], pyodide["fetches"][0]):
        status, headers, body = get(deployed["url"] + url, {"Accept-Encoding": "gzip, br"})
        assert headers["content-encoding"] == "br", url
        assert body == (deployed["out"] / "www" / (url + ".br")).read_bytes()
    assert get(deployed["url"] + "app/main.py")[0] == 404
    assert get(deployed["url"] + ".hidden")[0] == 404


@pytest.mark.parametrize("path, kind", [("install", "install"), ("main", "main")])
def test_the_application_pages_answer_bitrix24s_post(deployed, path, kind):
    status, headers, body = get(
        deployed["url"] + path,
        method="POST",
        data=b"AUTH_ID=secret&PLACEMENT=DEFAULT",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 200 and headers["cache-control"] == "no-cache"
    assert headers["content-security-policy"].startswith("frame-ancestors 'self'")
    config = json.loads(body.split(b'id="bx24-boot">')[1].split(b"</script>")[0])
    assert config["page"] == kind
    assert b"frames." not in b"".join(re.findall(rb'<script src="[^"]*"', body))  # no election
    assert get(deployed["url"] + config["main"])[0] == 200
    assert (deployed["out"] / "www" / f"{path}.html").read_bytes() == body


def test_the_exported_install_page_installs_and_the_server_heals_through_nginx(page, deployed):
    """Behind nginx, its upstream the application's server: the install page hands it the
    tokens through nginx, binds the worker at the export's URL with the portal's signed
    errorHandlerUrl and finishes; the portal loads that worker. Bitrix24's notice on that URL
    reaches the server through nginx, which binds the worker again."""
    from bx24_testing.events import post_form, send_overtime
    from bx24_testing.frame import open_portal_page, wait_until

    portal = stand_in().new_portal(
        frame_url=deployed["url"], client_id=CLIENT_ID, client_secret=CLIENT_SECRET
    )
    admin = next(u for u, p in portal.users.items() if p.get("ADMIN"))
    view = open_portal_page(page, deployed["url"], portal, user=admin, interpreter="micropython")
    assert view.app_state("main", 60) in ("shown", "bound")
    [bound] = portal.bindings
    assert bound["handler"] == deployed["url"] + "?interpreter=micropython"
    signed = bound["options"]["errorHandlerUrl"]
    assert signed.startswith(f"{deployed['url']}error-handler/{portal.member_id}/")
    view.frame("worker")
    assert view.outside_requests == []
    assert post_form(signed[:-1] + "x", {"error": "ERROR_PLACEMENT_LOADING_OVERTIME"})[0] == 403
    assert send_overtime(portal)[0] == 200
    wait_until(page, lambda: portal.bindings, what="the worker bound again")


def test_frame_reports_reach_the_python_server(deployed):
    status, _, _ = get(
        deployed["url"] + "frame-report",
        method="POST",
        data=json.dumps({"kind": "boot", "message": "x"}).encode(),
        headers={"Content-Type": "application/json", "User-Agent": "Chromium/1"},
    )
    assert status == 204
    [line] = (deployed["logs"] / "frame-reports.jsonl").read_text().splitlines()
    assert json.loads(line)["user_agent"] == "Chromium/1"


def test_error_handler_reaches_the_python_server(deployed):
    notice = (
        b"error=ERROR_PLACEMENT_LOADING_OVERTIME&error_description=slow&auth%5Baccess_token%5D=t"
    )
    status, _, _ = get(
        deployed["url"] + "error-handler",
        method="POST",
        data=notice,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 200
    logged = (deployed["logs"] / "placement-errors.jsonl").read_text()
    assert "ERROR_PLACEMENT_LOADING_OVERTIME" in logged and "access_token" not in logged


def test_a_second_page_view_asks_nginx_only_for_the_page(
    browser_type, browser_type_launch_args, deployed, tmp_path
):
    # No request routing here (it would turn Chromium's HTTP cache off): Bitrix24's library is
    # simply not found, the bridge says so, and Python still boots and attaches.
    args = dict(browser_type_launch_args)
    args["args"] = [*args.get("args", []), "--host-resolver-rules=MAP api.bitrix24.com ~NOTFOUND"]
    context = browser_type.launch_persistent_context(str(tmp_path / "profile"), **args)
    access = deployed["logs"] / "bx24-frame.access.log"
    try:
        for interpreter in INTERPRETERS:
            counts = []
            for _ in range(2):
                before = len(access.read_text().splitlines())
                page = context.new_page()
                post_like_bitrix24(page, frame_url(deployed["url"], interpreter))
                page.wait_for_function(
                    "document.documentElement?.dataset.bx24 === 'ready'", timeout=30_000
                )
                page.close()
                counts.append(access.read_text().splitlines()[before:])
            assert any('"GET /runtime/' in line for line in counts[0]), counts[0]
            assert [line.split('"')[1] for line in counts[1]] == ["POST /"], counts[1]
    finally:
        context.close()
    # The access log never holds a query string (Bitrix24 passes parameters there).
    assert "interpreter=" not in access.read_text()


def test_nginx_takes_the_config_without_a_warning(deployed):
    assert check_config(deployed["tmp"], deployed["out"], deployed["logs"]) == []


TOKEN = "tok-nginx-secret-1234"


@pytest.fixture(scope="module")
def deployed_tls(tmp_path_factory):
    """The export over TLS (the test certificate), its upstream not running (502s)."""
    tmp = tmp_path_factory.mktemp("nginx-tls")
    project = tmp / "project"
    (project / "frame").mkdir(parents=True)
    (project / "frame" / "main.py").write_text(MAIN)
    logs = tmp / "logs"
    logs.mkdir()
    cert, key = TEST_CERT, TEST_KEY  # the kit's loopback certificate
    port, dead = free_port(), free_port()
    out = tmp / "export"
    subprocess.run(
        [
            *BX24,
            "export",
            str(out),
            "--project",
            str(project),
            "--cert",
            str(cert),
            "--key",
            str(key),
            "--listen",
            f"127.0.0.1:{port} ssl http2",
            "--logs",
            str(logs),
            "--upstream",
            f"http://127.0.0.1:{dead}",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    warnings = check_config(tmp, out, logs)
    nginx = start_nginx(tmp, out, port, logs)
    try:
        yield {"port": port, "logs": logs, "warnings": warnings}
    finally:
        nginx.terminate()
        nginx.wait(10)


def tls_request(port, method, path, body=None, headers=None):
    import http.client
    import ssl

    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        reply = conn.getresponse()
        reply.read()
        return reply.status, reply.getheaders()
    finally:
        conn.close()


def test_over_tls_hsts_and_one_set_of_headers_even_on_proxied_answers(deployed_tls):
    assert deployed_tls["warnings"] == []
    port = deployed_tls["port"]
    for method, path in (("POST", "/"), ("GET", "/healthz"), ("POST", "/error-handler")):
        status, headers = tls_request(port, method, path, body=b"x=1")
        names = [name.lower() for name, _ in headers]
        assert "strict-transport-security" in names, (path, headers)
        for name in (
            "content-security-policy",
            "x-content-type-options",
            "referrer-policy",
            "strict-transport-security",
        ):
            assert names.count(name) == 1, (path, name, headers)


def test_no_token_reaches_any_nginx_log(deployed_tls):
    port = deployed_tls["port"]
    statuses = [
        tls_request(port, "POST", f"/?AUTH_ID={TOKEN}", body=b"x" * 200_000)[0],  # 413
        tls_request(port, "POST", f"/error-handler?REFRESH_ID={TOKEN}", body=b"e=1")[0],  # 502
        tls_request(port, "GET", f"/nothing?auth={TOKEN}")[0],  # 404
        tls_request(port, "GET", f"/runtime/?access_token={TOKEN}")[0],
    ]
    assert statuses[:3] == [413, 502, 404]
    tls_request(port, "GET", "/healthz")
    logs = {path.name: path.read_text() for path in deployed_tls["logs"].iterdir()}
    assert "bx24-frame.access.log" in logs
    for name, text in logs.items():
        assert TOKEN not in text, f"a token in nginx's {name}"
