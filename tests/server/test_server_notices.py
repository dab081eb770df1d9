"""What clients post (Bitrix24's notices, the frames' reports) is bounded: per-client rate,
size, rotation on disk, valid JSON lines that are never torn or glued, and no secret; a notice
that cannot be stored is still shown on stderr and answered so that the sender retries."""

import json

import pytest

from bx24_server.background import ServerProcess
from bx24_server.noticelog import NoticeLog, loads, sanitize
from bx24_server.ratelimit import RateLimiter
from server_helpers import env_for, make_site, request, serve_command

NOTICE = {"error": "ERROR_PLACEMENT_LOADING_OVERTIME", "error_description": "slow"}
REPORT = {
    "kind": "python",
    "message": "handler raised",
    "interpreter": "pyodide",
    "uri": "/crm/deal/",
    "at": 1234,
}


def post_json(url, path, body, headers=None):
    return request(
        url,
        "POST",
        path,
        body=body if isinstance(body, (bytes, str)) else json.dumps(body),
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


# -- the mechanism, in-process -----------------------------------------------------------------


def test_sanitize_makes_any_value_valid_bounded_json_without_secrets():
    deep = current = []
    for _ in range(50):
        current.append([])
        current = current[0]
    value = sanitize(
        {
            "nan": float("nan"),
            "inf": float("inf"),
            "lone": "a\ud800b",
            "big": "x" * 10_000,
            "deep": deep,
            "many": list(range(1000)),
            "auth": {"access_token": "t"},
            "text": "failed with AUTH_ID=abc123&x=1",
            "huge": 10**30,
        }
    )
    text = json.dumps(value, allow_nan=False)  # raises on NaN: there is none left
    assert value["nan"] == "NaN" and value["inf"] == "Infinity"
    assert value["lone"] == "a\ufffdb"
    assert len(value["big"]) < 4100 and value["big"].endswith("chars)")
    assert "nested too deep" in text
    assert len(value["many"]) == 101
    assert "auth" not in value and "abc123" not in text and "AUTH_ID=***" in value["text"]
    assert isinstance(value["huge"], str)


def test_loads_keeps_non_finite_numbers_and_refuses_absurd_nesting():
    assert loads('{"a": NaN, "b": -Infinity}') == {"a": "NaN", "b": "-Infinity"}
    with pytest.raises(ValueError):
        loads("[" * 20_000 + "]" * 20_000)


def test_a_client_gets_a_burst_then_the_rate():
    limiter = RateLimiter(per_minute=60, burst=3)
    assert [limiter.allow("a", now=0.0) for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("b", now=0.0)  # another client has its own bucket
    assert limiter.allow("a", now=1.0) and not limiter.allow("a", now=1.0)


def test_the_limiter_remembers_a_bounded_number_of_clients():
    limiter = RateLimiter(per_minute=60, burst=1, max_clients=100)
    for n in range(1000):
        limiter.allow(f"client-{n}", now=float(n))
    assert limiter.clients() == 100
    assert limiter.allow("client-999", now=999.0) is False  # the latest are remembered


def test_the_log_rotates_and_keeps_n_files(tmp_path):
    log = NoticeLog(tmp_path / "notices.jsonl", max_bytes=2048, keep=2)
    for n in range(200):
        log.append({"n": n, "pad": "x" * 100})
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["notices.jsonl", "notices.jsonl.1", "notices.jsonl.2"]
    assert all(p.stat().st_size <= 2048 for p in tmp_path.iterdir())
    assert lines(tmp_path / "notices.jsonl")[-1]["n"] == 199


def test_a_torn_last_line_is_cut_before_the_next_one(tmp_path):
    path = tmp_path / "notices.jsonl"
    path.write_text('{"n": 1}\n{"n": 2, "torn by a full d')
    NoticeLog(path).append({"n": 3})
    assert lines(path) == [{"n": 1}, {"n": 3}]


def test_an_unwritable_log_raises_instead_of_losing_quietly(tmp_path):
    (tmp_path / "notices.jsonl").mkdir()  # a folder where the file should be
    with pytest.raises(OSError):
        NoticeLog(tmp_path / "notices.jsonl").append({"n": 1})


# -- the endpoints, over a real server ---------------------------------------------------------


@pytest.fixture
def site(tmp_path):
    return make_site(tmp_path)


def serve(site, *extra):
    return ServerProcess(serve_command(site, *extra), env=env_for(site))


def test_a_frame_report_is_one_json_line_with_the_client_and_its_browser(site):
    with serve(site) as server:
        reply = post_json(
            server.url,
            "/frame-report",
            {**REPORT, "message": "x AUTH_ID=s3cr3t"},
            headers={"User-Agent": "Mozilla/5.0 HeadlessChrome/156"},
        )
        assert reply.status == 204
    [record] = lines(site["error_log"].with_name("frame-reports.jsonl"))
    assert record["client"] == "127.0.0.1" and record["user_agent"].startswith("Mozilla/5.0")
    assert record["report"] == {**REPORT, "message": "x AUTH_ID=***"}


@pytest.mark.parametrize(
    "body", [b"not json", b"[1, 2]", b'{"kind": "other"}', b'{"message": "no kind"}']
)
def test_a_malformed_frame_report_is_400(site, body):
    with serve(site) as server:
        assert post_json(server.url, "/frame-report", body).status == 400
    assert not site["error_log"].with_name("frame-reports.jsonl").exists()


def test_a_flood_from_one_client_is_refused_with_429_and_the_log_stays_bounded(site):
    with serve(
        site, "--notices-per-minute", "60", "--log-max-bytes", "4096", "--log-keep", "1"
    ) as server:
        statuses = [post_json(server.url, "/error-handler", NOTICE).status for _ in range(40)]
        limited = request(server.url, "POST", "/frame-report", body=json.dumps(REPORT))
        stderr = server.stderr()
    assert statuses[:10] == [200] * 10  # the burst
    assert statuses[-1] == 429 and statuses.count(200) < 20
    assert limited.status == 429 and int(limited.headers["retry-after"]) >= 1
    logs = list(site["error_log"].parent.glob("placement-errors.jsonl*"))
    assert sum(p.stat().st_size for p in logs) <= 2 * 4096
    assert stderr.count("Bitrix24 posted a placement error") <= 2  # throttled, not 10 lines


def test_a_notice_that_cannot_be_stored_is_shown_on_stderr_and_answered_503(site):
    site["error_log"].parent.mkdir(parents=True, exist_ok=True)
    site["error_log"].mkdir()  # the log's path is taken by a folder: nothing can be written
    with serve(site) as server:
        reply = request(
            server.url,
            "POST",
            "/error-handler",
            body="error=ERROR_PLACEMENT_LOADING_OVERTIME&AUTH_ID=s3cr3t",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert reply.status == 503 and reply.headers["retry-after"]
        server.stop()
        stderr = server.stderr()
    assert "could not be stored" in stderr and "ERROR_PLACEMENT_LOADING_OVERTIME" in stderr
    assert "s3cr3t" not in stderr


@pytest.mark.parametrize(
    "body, stored",
    [
        ('{"error": "E", "n": NaN, "m": 1e999}', {"error": "E", "n": "NaN", "m": "Infinity"}),
        ('{"error": "E", "text": "a\\ud800b"}', {"error": "E", "text": "a\ufffdb"}),
    ],
)
def test_notices_are_stored_as_valid_json(site, body, stored):
    with serve(site) as server:
        assert post_json(server.url, "/error-handler", body).status == 200
    [record] = lines(site["error_log"])
    assert record["fields"] == stored


def test_absurdly_nested_json_is_400_not_500(site):
    with serve(site) as server:
        body = '{"error": ' + "[" * 20_000 + "]" * 20_000 + "}"
        assert post_json(server.url, "/error-handler", body).status == 400


def test_a_worker_killed_mid_write_leaves_no_glued_line(site):
    # A torn line as a killed process leaves it; the next acknowledged notice starts a line.
    site["error_log"].parent.mkdir(parents=True, exist_ok=True)
    site["error_log"].write_text(json.dumps({"fields": NOTICE}) + "\n" + '{"fields": {"err')
    with serve(site) as server:
        assert post_json(server.url, "/error-handler", NOTICE).status == 200
    records = lines(site["error_log"])
    assert [r["fields"] for r in records] == [NOTICE, NOTICE]


def test_a_record_is_never_written_to_a_file_another_worker_rotated_away(tmp_path, monkeypatch):
    """Worker A opened the log; worker B then rotated it until that file was deleted; A's line
    must land in the file at the path, not in the deleted one (acknowledged, then lost)."""
    import fcntl

    path = tmp_path / "notices.jsonl"
    a = NoticeLog(path, max_bytes=1024, keep=1)
    b = NoticeLog(path, max_bytes=1024, keep=1)
    a.append({"n": "a0"})  # A's descriptor is open on the first file
    real_flock = fcntl.flock
    flood = {"done": False}

    def flock_after_b_rotated(fd, operation):
        if operation == fcntl.LOCK_EX and not flood["done"]:
            flood["done"] = True
            for n in range(30):  # the first file ends up rotated away and deleted
                b.append({"n": f"b{n}", "pad": "x" * 200})
        return real_flock(fd, operation)

    monkeypatch.setattr(fcntl, "flock", flock_after_b_rotated)
    a.append({"n": "a1"})
    monkeypatch.setattr(fcntl, "flock", real_flock)
    assert lines(path)[-1]["n"] == "a1"


def test_two_workers_share_one_budget_per_client(site):
    """--workers 2 is not twice the limit: a burst of 5, then 1 a minute, whichever worker
    takes each connection."""
    with serve(site, "--workers", "2", "--notices-per-minute", "1") as server:
        statuses = [post_json(server.url, "/frame-report", REPORT).status for _ in range(20)]
    assert statuses.count(204) == 10 and statuses[-1] == 429  # the default burst: 10


def test_a_flood_on_two_workers_with_rotation_loses_no_acknowledged_report(site):
    from concurrent.futures import ThreadPoolExecutor

    with serve(
        site,
        "--workers",
        "2",
        "--notices-per-minute",
        "1e12",
        "--log-max-bytes",
        "2048",
        "--log-keep",
        "1000",
    ) as server:

        def post(n):
            return post_json(server.url, "/frame-report", {**REPORT, "at": n}).status

        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(post, range(300)))
    assert statuses == [204] * 300
    files = list(site["error_log"].parent.glob("frame-reports.jsonl*"))
    assert len(files) > 20  # it did rotate, many times
    stored = sorted(record["report"]["at"] for path in files for record in lines(path))
    assert stored == list(range(300))
    assert all(path.stat().st_size <= 2048 for path in files), sorted(
        (p.name, p.stat().st_size, len(lines(p))) for p in files if p.stat().st_size > 2048
    )


def test_behind_a_proxy_on_loopback_each_real_client_has_its_budget(site):
    """Behind nginx on the same host, the client is X-Forwarded-For's (uvicorn trusts it from
    127.0.0.1 only): one flooding operator does not use up everyone's budget."""
    with serve(site, "--notices-per-minute", "1") as server:

        def post_as(address):
            return post_json(
                server.url, "/frame-report", REPORT, {"X-Forwarded-For": address}
            ).status

        flood = [post_as("198.51.100.7") for _ in range(12)]
        assert flood.count(204) == 10 and flood[-1] == 429  # the burst, then the rate
        assert post_as("198.51.100.8") == 204  # another operator behind the same nginx
