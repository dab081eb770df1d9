"""The access log and the placement-error log: one line each, and never a Bitrix24 token."""

import json
import re
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode

import pytest

from bx24_server.background import ServerProcess
from server_helpers import env_for, make_site, request, serve_command

TOKENS = [f"tok{n}-{'x' * 6}" for n in range(1, 26)]
NOTICE = {
    "error": "ERROR_PLACEMENT_LOADING_OVERTIME",
    "error_description": "Handler loading time exceeded 5 seconds more than 10 times a day",
}


def send_tokens_everywhere(url):
    """Tokens in query strings and bodies, in every spelling Bitrix24 and OAuth use."""
    t = iter(TOKENS)
    form = {
        "AUTH_ID": next(t),
        "REFRESH_ID": next(t),
        "APPLICATION_TOKEN": next(t),
        "DOMAIN": "portal.bitrix24.ru",
    }
    query = (
        f"DOMAIN=portal.bitrix24.ru&AUTH_ID={next(t)}&auth%5Baccess_token%5D={next(t)}"
        f"&Refresh_Id={next(t)}&application_token={next(t)}&access_token={next(t)}"
        f"&refresh_token={next(t)};auth={next(t)}&AUTH%5FID={next(t)}&LANG=ru"
    )
    replies = [
        request(
            url,
            "POST",
            "/?" + query,
            body=urlencode(form),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ),
        request(url, path=f"/healthz?auth={next(t)}&v=2"),
        request(
            url,
            "POST",
            f"/error-handler?AUTH_ID={next(t)}",
            body=urlencode({**NOTICE, "auth[access_token]": next(t)}),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ),
        request(
            url,
            "POST",
            "/error-handler",
            body=json.dumps(
                {**NOTICE, "auth": {"access_token": next(t)}, "data": [{"REFRESH_ID": next(t)}]}
            ),
            headers={"Content-Type": "application/json"},
        ),
        # ";"-separated keys, in the query and in a form body: one value to the form parser
        request(
            url,
            "POST",
            f"/error-handler?DOMAIN=x;AUTH_ID={next(t)}",
            body=f"error=E;REFRESH_ID={next(t)}&error_description=d;access_token%3D{next(t)}",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ),
        # a token in the path itself, plain and %-encoded
        request(url, path=f"/AUTH_ID={next(t)}/x"),
        request(url, path=f"/app/auth%5Brefresh_token%5D%3D{next(t)}"),
        # in the text of a frame's report, and in its fields
        request(
            url,
            "POST",
            "/frame-report",
            headers={"Content-Type": "application/json"},
            body=json.dumps(
                {
                    "kind": "python",
                    "message": f"failed: access_token={next(t)} "
                    f'{{"refresh_token": "{next(t)}"}} Application_Token: {next(t)}',
                    "auth": {"AUTH_ID": next(t)},
                }
            ),
        ),
    ]
    assert next(t, None) is None  # every token was sent
    assert [r.status for r in replies] == [200, 200, 200, 200, 200, 404, 404, 204]
    return len(replies)


@pytest.mark.parametrize("to_stdout", [False, True], ids=["file", "stdout"])
def test_tokens_are_never_written_anywhere(tmp_path, to_stdout):
    site = make_site(tmp_path)
    args = serve_command(site, *(["--access-log", "-"] if to_stdout else []))
    with ServerProcess(args, env=env_for(site)) as server:
        sent = send_tokens_everywhere(server.url)
        request(server.url, path="/healthz")  # the previous lines are flushed by now
        server.stop()
        written = {
            "stdout": server.stdout(),
            "stderr": server.stderr(),
            "error log": site["error_log"].read_text(),
            "report log": site["error_log"].with_name("frame-reports.jsonl").read_text(),
        }
    if not to_stdout:
        written["access log"] = site["access_log"].read_text()
    access = written["stdout" if to_stdout else "access log"]
    for where, text in written.items():
        for token in TOKENS:
            assert token not in text, f"{token} written to the {where}"
    lines = [line for line in access.splitlines() if " /" in line]
    assert len(lines) == sent + 1
    # the query as text, %-escapes decoded (then anything unprintable escaped again)
    assert "&AUTH_ID=***&" in lines[0] and "auth[access_token]=***" in lines[0]
    assert "DOMAIN=portal.bitrix24.ru" in lines[0] and "LANG=ru" in lines[0]
    assert lines[0].count("AUTH_ID=***") == 2 and ";auth=***" in lines[0]


def test_access_log_can_be_turned_off(tmp_path):
    site = make_site(tmp_path)
    with ServerProcess(serve_command(site, "--access-log", "off"), env=env_for(site)) as server:
        assert request(server.url, path="/healthz").status == 200
        server.stop()
        assert "/healthz" not in server.stdout() + server.stderr()
    assert not site["access_log"].exists()


def test_access_log_line_format(server, site):
    request(server.url, path="/healthz?v=1")
    request(server.url, path="/healthz")  # a second request: the first line is complete
    lines = site["access_log"].read_text().splitlines()
    line = next(line for line in reversed(lines) if " /healthz?v=1 " in line)
    when, client, method, target, status, sent, duration = line.split(" ")
    stamp = datetime.fromisoformat(when.replace("Z", "+00:00"))
    assert abs(datetime.now(timezone.utc) - stamp) < timedelta(minutes=1)
    assert (client, method, target, status) == ("127.0.0.1", "GET", "/healthz?v=1", "200")
    assert int(sent) > 0 and re.fullmatch(r"\d+\.\dms", duration)


def test_one_request_is_one_line_even_with_hostile_bytes(server, site):
    request(server.url, path="/a%0d%0ab%20c?x=%0a1")
    request(server.url, path="/healthz")
    lines = reversed(site["access_log"].read_text().splitlines())
    line = next(entry for entry in lines if "/a%" in entry)
    assert " /a%0D%0Ab%20c?x=%0A1 404 " in line


def read_log(site):
    path = site["error_log"]
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.mark.parametrize("kind", ["form", "json", "multipart", "query"])
def test_deactivation_notice_is_appended_as_one_json_line(server, site, kind):
    before = len(read_log(site))
    if kind == "form":
        reply = request(
            server.url,
            "POST",
            "/error-handler",
            body=urlencode(NOTICE),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    elif kind == "json":
        reply = request(
            server.url,
            "POST",
            "/error-handler",
            body=json.dumps(NOTICE),
            headers={"Content-Type": "application/json; charset=utf-8"},
        )
    elif kind == "multipart":
        body = (
            "".join(
                f'--b0undary\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
                for k, v in NOTICE.items()
            )
            + "--b0undary--\r\n"
        )
        reply = request(
            server.url,
            "POST",
            "/error-handler",
            body=body,
            headers={"Content-Type": "multipart/form-data; boundary=b0undary"},
        )
    else:
        reply = request(server.url, "POST", "/error-handler?" + urlencode(NOTICE))
    assert reply.status == 200
    records = read_log(site)
    assert len(records) == before + 1
    record = records[-1]
    assert record["fields"] == NOTICE
    stamp = datetime.fromisoformat(record["time"].replace("Z", "+00:00"))
    assert stamp.utcoffset() == timedelta(0)
    assert abs(datetime.now(timezone.utc) - stamp) < timedelta(minutes=1)


@pytest.mark.parametrize(
    "content_type, body, status",
    [
        ("application/json", b'{"error": "ERROR_PLACEMENT', 400),
        ("application/json", b'["ERROR_PLACEMENT_LOADING_OVERTIME"]', 400),
        ("application/json", b"{}", 400),
        ("application/x-www-form-urlencoded", b"error=a&&=b", 400),
        ("application/x-www-form-urlencoded", b"error=\xff\xfe", 400),
        ("application/x-www-form-urlencoded", b"", 400),
        ("multipart/form-data; boundary=zz", b"--zz\r\nno headers", 400),
        ("application/xml", b"<error/>", 415),
    ],
)
def test_malformed_notice_is_400_and_nothing_is_written(server, site, content_type, body, status):
    before = site["error_log"].read_bytes() if site["error_log"].exists() else b""
    reply = request(
        server.url, "POST", "/error-handler", body=body, headers={"Content-Type": content_type}
    )
    assert reply.status == status
    assert len(reply.text.strip()) > 10  # says what is wrong
    after = site["error_log"].read_bytes() if site["error_log"].exists() else b""
    assert after == before


def test_error_handler_takes_only_post(server):
    reply = request(server.url, path="/error-handler")
    assert reply.status == 405 and reply.headers["allow"] == "POST"


def test_default_error_log_is_under_logs_of_the_project(tmp_path):
    site = make_site(tmp_path / "site")
    args = [a for a in serve_command(site) if a != site["error_log"] and a != "--error-log"]
    with ServerProcess(args, env=env_for(site), cwd=tmp_path) as server:
        assert (
            request(
                server.url,
                "POST",
                "/error-handler",
                body=json.dumps(NOTICE),
                headers={"Content-Type": "application/json"},
            ).status
            == 200
        )
    log = site["project"] / "logs" / "placement-errors.jsonl"
    [record] = [json.loads(entry) for entry in log.open()]
    assert record["fields"] == NOTICE


def test_the_access_log_is_rotated_follows_a_moved_file_and_survives_sighup(tmp_path):
    import signal

    site = make_site(tmp_path)
    log = site["access_log"]
    with ServerProcess(
        serve_command(site, "--log-max-bytes", "2048", "--log-keep", "2"), env=env_for(site)
    ) as server:
        for n in range(150):
            request(server.url, path=f"/healthz?n={n}")
        rotated = sorted(p.name for p in log.parent.glob("access.log*"))
        assert rotated == ["access.log", "access.log.1", "access.log.2"]
        assert all(p.stat().st_size <= 2048 for p in log.parent.glob("access.log*"))
        log.rename(log.with_name("moved.log"))  # logrotate's move
        request(server.url, path="/healthz?after=move")
        written_to(log, "after=move")
        server.process.send_signal(signal.SIGHUP)  # then "reopen your logs"
        log.rename(log.with_name("moved-again.log"))
        request(server.url, path="/healthz?after=hup")
        written_to(log, "after=hup")
        assert server.process.poll() is None  # SIGHUP does not stop the server
        assert "after=hup" not in log.with_name("moved-again.log").read_text()


def written_to(path, text, timeout=5.0):
    """Wait until ``text`` is in the file at ``path`` (a line is written once its answer is
    sent, so just after the client has it)."""
    import time

    deadline = time.monotonic() + timeout
    while not (path.exists() and text in path.read_text()):
        assert time.monotonic() < deadline, f"{text!r} never reached {path}"
        time.sleep(0.01)
