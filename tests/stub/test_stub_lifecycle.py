"""Spec section 2: the library's lifecycle (ready, init), placement info, auth and settings,
and the stub's configuration before the frame's scripts run."""

import pytest
from playwright.sync_api import Error as PlaywrightError

from stub_frame import open_frame
from stub_helpers import raise_call

# A frame script that runs before the DOM is ready, as the production frame's scripts do.
LIFECYCLE_PROBE = """<script>
  window.order = [];
  window.infoBeforeInit = BX24.placement.info();
  window.authBeforeInit = BX24.getAuth();
  BX24.init(function () { order.push('init:' + document.readyState); });
  BX24.ready(function () { order.push('ready'); });
  document.addEventListener('DOMContentLoaded', function () { order.push('dom'); });
  order.push('script end');
</script>"""


def test_ready_and_init_run_after_the_dom_and_asynchronously(new_page):
    page = open_frame(new_page, head=LIFECYCLE_PROBE)
    page.wait_for_function("order.some(step => step.startsWith('init')) && order.includes('ready')")
    order = page.evaluate("order")
    assert order[0] == "script end"
    assert order.index("dom") < order.index("ready")
    init = [step for step in order if step.startswith("init")]
    assert len(init) == 1 and order.index("dom") < order.index(init[0])
    assert init[0] != "init:loading"


def test_before_init_there_is_no_placement_and_no_auth(new_page):
    page = open_frame(new_page, head=LIFECYCLE_PROBE)
    assert page.evaluate("infoBeforeInit") == {"placement": None, "options": None}
    assert page.evaluate("authBeforeInit") is False


def test_init_callbacks_registered_later_run_promptly_but_not_inline(card_page):
    inline = card_page.evaluate(
        "() => { let ran = false; BX24.init(() => { ran = true; }); return ran; }"
    )
    assert inline is False
    assert card_page.evaluate("new Promise(resolve => BX24.init(() => resolve('ran')))") == "ran"


def test_answers_and_events_come_as_messages_not_timers(card_page):
    """Bitrix24 answers and fires events by postMessage from the portal: message tasks, which
    browsers never clamp (timers nested 5 deep wait at least 4 ms), and which come even while
    the page's timers are all busy."""
    raise_call(card_page, options={"uiState": "connected"})
    timers = card_page.evaluate("""async () => {
        let timers = 0;
        const real = window.setTimeout;
        window.setTimeout = (...args) => { timers += 1; return real(...args); };
        try {
            await new Promise(r => BX24.placement.call("CallCardSetMute", {muted: true}, r));
            await new Promise(r => {
                BX24.placement.bindEvent("BackgroundCallCard::holdButtonClick", r);
                BX24Stub.fire("holdButtonClick", true);
            });
        } finally {
            window.setTimeout = real;
        }
        return timers;
    }""")
    assert timers == 0


def test_placement_info_after_init(card_page):
    assert card_page.evaluate("BX24.placement.info()") == {
        "placement": "PAGE_BACKGROUND_WORKER",
        "options": {"ID": "PAGE_BACKGROUND_WORKER", "URI": "/crm/deal/"},
    }


def test_auth_and_portal_settings_by_default(card_page):
    auth = card_page.evaluate("BX24.getAuth()")
    assert set(auth) == {"access_token", "refresh_token", "expires_in", "domain", "member_id"}
    assert auth["domain"] == card_page.evaluate("BX24.getDomain()") == "example.bitrix24.com"
    # Like the real library: expires_in is the expiry time in ms since the epoch.
    assert auth["expires_in"] > card_page.evaluate("Date.now()")
    assert card_page.evaluate("[BX24.getLang(), BX24.isAdmin()]") == ["en", False]


def test_configuration_is_read_before_the_frame_scripts_run(new_page):
    config = {
        "mode": "desktop",
        "domain": "acme.bitrix24.de",
        "lang": "de",
        "isAdmin": True,
        "placementOptions": {"ID": "PAGE_BACKGROUND_WORKER", "URI": "/telephony/"},
        "restResponses": {"user.current": {"result": {"ID": "7"}}},
    }
    page = open_frame(new_page, config=config)
    assert page.evaluate("[BX24.getDomain(), BX24.getLang(), BX24.isAdmin()]") == [
        "acme.bitrix24.de",
        "de",
        True,
    ]
    assert page.evaluate("BX24.placement.info().options.URI") == "/telephony/"
    assert page.evaluate("BX24Stub.config().mode") == "desktop"
    assert page.evaluate("T.rest('user.current', {}).then(r => r.data())") == {"ID": "7"}


def test_auth_can_be_absent(new_page):
    page = open_frame(new_page, config={"auth": False})
    assert page.evaluate("BX24.getAuth()") is False


def test_expired_auth_is_false(new_page):
    page = open_frame(new_page, config={"auth": {"expires_in": 1000}})
    assert page.evaluate("BX24.getAuth()") is False


def test_refresh_auth_gives_new_tokens(card_page):
    before = card_page.evaluate("BX24.getAuth()")
    after = card_page.evaluate("new Promise(resolve => BX24.refreshAuth(resolve))")
    assert after["access_token"] != before["access_token"]
    assert after == card_page.evaluate("BX24.getAuth()")


def test_rest_calls_before_init_wait_for_it(new_page):
    head = """<script>
      window.answeredAfterInit = null;
      BX24.callMethod('user.current', {}, function (r) { answeredAfterInit = BX24Stub.initialized() && r.data(); });
    </script>"""
    config = {"restResponses": {"user.current": {"result": {"ID": "1"}}}}
    page = open_frame(new_page, config=config, head=head)
    page.wait_for_function("answeredAfterInit !== null")
    assert page.evaluate("answeredAfterInit") == {"ID": "1"}


def test_install_finish_is_harmless(card_page):
    assert card_page.evaluate("BX24.installFinish()") is None


def test_a_bad_mode_is_refused(card_page):
    with pytest.raises(PlaywrightError, match="mode"):
        card_page.evaluate("BX24Stub.configure({mode: 'mobile'})")


def test_on_change_reports_commands_events_and_bindings(new_page):
    page = open_frame(new_page)
    page.evaluate("() => { window.changes = []; BX24Stub.onChange(kind => changes.push(kind)); }")
    page.evaluate("BX24.placement.bindEvent('BackgroundCallCard::initialized', () => {})")
    page.evaluate("BX24Stub.raiseCall()")
    page.evaluate("BX24.placement.call('CallCardSetCardTitle', {title: 't'})")
    assert page.evaluate("changes") == ["binding", "card", "event", "command"]
    page.evaluate("BX24Stub.reset()")
    assert page.evaluate("changes.at(-1)") == "reset"


def test_open_application_calls_back_when_the_slider_is_closed(card_page):
    card_page.evaluate(
        "() => { window.slidersClosed = 0; BX24.openApplication({tab: 'calls'}, () => { slidersClosed += 1; }); }"
    )
    assert card_page.evaluate("BX24Stub.applications()")[0]["params"] == {"tab": "calls"}
    assert card_page.evaluate("slidersClosed") == 0
    card_page.evaluate("BX24Stub.closeApplication()")
    card_page.wait_for_function("slidersClosed === 1")
