"""The application's main page: what the portal's menu opens once it is installed (the
application's "handler path"; ``bx24 serve`` and ``bx24 export`` serve it as ``main``).

For an administrator:

- **the worker's binding** (``placement.get``): bound, to which URL; when it is not bound as
  the settings say (Bitrix24's 5-second rule deleted it, someone unbound it), it is bound
  again **at once**, by this visit, and a button does it again on demand;
- **what the application's server saw** of this portal (where one runs): Bitrix24's notices
  that it unbound the worker, and what the server did about them; the server shows them only
  for a token of an administrator of this portal it has checked with Bitrix24. The visit also
  hands the server fresh tokens.

For every operator, **their softphone**: their SIP password (written to their own user option,
:mod:`bx24.operator`; never shown back, never logged), a microphone check started by their click
(so the hidden worker never depends on a permission prompt nobody sees), and, where the
project adds it (:func:`phone_check`), whether their phone registers.

A project extends it with ``frame/main_page.py``: ``async def main_page(page)`` runs after these
sections (``page.view.section(title)`` adds one; ``page.view.clear()`` first replaces them).
"""

import asyncio

from . import binding, install, operator
from .apppage import ServerRefused
from .errors import RestError

MICROPHONE_WORDS = {
    "NotAllowedError": "The browser blocks the microphone for this application: allow it (the "
                       "icon in the address bar, or the site's settings), then check again.",
    "NotFoundError": "The browser finds no microphone: plug one in, then check again.",
    "NotReadableError": "The microphone is in use by another program, or the system blocks "
                        "it.",
    "SecurityError": "This page may not use the microphone (the portal's frame does not allow "
                     "it, or the page is not served over HTTPS).",
}


async def worker_section(page):
    """The worker's binding, made right at once when it is not (see the module doc)."""
    section = page.view.section("The worker")
    state = section.line("Checking the worker's binding…")
    rest = page.rest
    try:
        bound = await binding.workers(rest)
        worker, _, said = await install.hand_over(page)
    except (RestError, ServerRefused) as error:
        state.set(binding.in_words(error) if isinstance(error, RestError) else str(error),
                  "error")
        return "failed"
    outcome = "bound"
    if all(worker.is_right(b) for b in bound) and len(bound) == len(worker.users):
        state.set(binding.describe(bound), "ok")
    else:
        outcome = await _bind(section, state, rest, worker, bound)
    section.line(said)

    async def again():
        await _bind(section, state, rest, worker, await binding.workers(rest))
    section.button("Bind the worker again", again)
    return outcome


async def _bind(section, state, rest, worker, bound):
    state.set(binding.describe(bound) + " Binding it…", "warning")
    try:
        done = await binding.make_right(rest, worker)
    except RestError as error:
        state.set(binding.in_words(error, worker.handler), "error")
        return "failed"
    after = await binding.workers(rest)
    state.set(" ".join(done + [binding.describe(after)]) if done else binding.describe(after),
              "ok")
    return "rebound" if done else "bound"


async def server_section(page):
    """What the application's server saw of this portal, if one runs."""
    try:
        seen = await page.server("portal")
    except ServerRefused as error:
        page.view.section("The application's server").line(str(error), "error")
        return
    if seen is None:
        return  # no server: nothing to show (the install page said so)
    section = page.view.section("The application's server")
    notices = seen.get("notices") or []
    rebinds = seen.get("rebinds") or []
    if not notices:
        section.line("Bitrix24 has not unbound the worker (no notice reached the server).",
                     "ok")
    else:
        section.line("Bitrix24 unbound the worker {} time(s) because it loaded slowly; the "
                     "last: {}.".format(len(notices), _when(notices[0])),
                     "warning")
    for attempt in rebinds[:5]:
        section.line("{}: the server {}.".format(_when(attempt), {
            "bound": "bound it again", "bound already": "found it bound",
            "capped": "did not bind it again (too often today)",
            "failed": "could not bind it again"}.get(attempt.get("outcome"), "tried")))


def _when(event):
    return str(event.get("at") or "?")  # the server's words for its time


async def softphone_section(page):
    """The operator's SIP password and microphone check."""
    section = page.view.section("My softphone")
    rest = page.rest
    saved = await operator.has_sip_password(rest)
    state = section.line("A SIP password is saved." if saved else
                         "No SIP password is saved: your phone cannot register until you "
                         "save yours.", "ok" if saved else "warning")

    async def save(password):
        try:
            await operator.save_sip_password(rest, password)
        except ValueError as error:
            text = str(error)
            state.set(text[:1].upper() + text[1:] + ".", "error")
            return False
        except RestError as error:
            state.set("Not saved: " + binding.in_words(error), "error")
            return False
        state.set("Saved. Your phone uses it from the next portal page you open.", "ok")
        return True
    section.password("SIP password", save)

    microphone = section.line("")

    async def check():
        microphone.set("Asking the browser for the microphone…")
        answer = await page.microphone()
        if answer.get("ok"):
            microphone.set("The microphone works{}.".format(
                " (" + answer["label"] + ")" if answer.get("label") else ""), "ok")
        else:
            microphone.set(MICROPHONE_WORDS.get(answer.get("error")) or "The microphone does "
                           "not work: {}".format(answer.get("message") or answer.get("error")),
                           "error")
    section.button("Check my microphone", check)
    return section


def phone_check(section, make_softphone, timeout=15.0):
    """A button that starts ``make_softphone()`` (e.g. the project's ``bx24.sip_softphone``),
    says whether it registers, and stops it."""
    result = section.line("")

    async def check():
        result.set("Registering…")
        phone = make_softphone()
        changed = asyncio.Event()
        phone.on_registration(lambda _phone: changed.set())
        phone.start()
        try:
            await asyncio.wait_for(changed.wait(), timeout)
        except asyncio.TimeoutError:
            result.set("No answer from the SIP server within {:g} s.".format(timeout), "error")
            return
        finally:
            phone.stop()
        if phone.registration == "registered":
            result.set("Your phone registers.", "ok")
        else:
            result.set("Your phone does not register: {}".format(
                phone.registration_problem or phone.registration), "error")
    section.button("Check my phone", check)
    return result


async def run(page, extend=None):
    """The main page (see the module doc); ``extend``: the project's ``main_page(page)``."""
    info = await page.load_info()
    outcome = None
    if info.get("admin"):
        outcome = await worker_section(page)
        await server_section(page)
    await softphone_section(page)
    if extend is not None:
        await extend(page)
    page.ready(outcome or "shown")
    return outcome or "shown"
