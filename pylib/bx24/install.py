"""The install page: what Bitrix24 opens for an administrator while the application is not
installed (the application's "initial installation path"; ``bx24 serve`` and ``bx24 export``
serve it as ``install``).

Nothing of an application works until its install page calls ``BX24.installFinish()``: the
worker's binding stays inert and no event is delivered. So this page, from the ``[app]``
settings of ``bx24.toml``:

1. checks that an administrator opened it (``BX24.isAdmin()``; anyone else is told to ask
   one) and whether the application is installed already (``app.info``: then it only checks);
2. hands the administrator's tokens to the application's server when one answers (it then
   gives the portal's own ``errorHandlerUrl``, and binds the worker again by itself after
   Bitrix24's 5-second rule unbinds it); without one the ``errorHandlerUrl`` is the server's
   ``error-handler`` beside this page;
3. binds the worker (:mod:`bx24.binding`: a binding elsewhere is replaced, a right one left);
4. creates the telephony lines (``telephony.externalLine.add``; one that exists keeps its
   number, its name is updated) and sets the application options (``app.option.set``, only
   those that differ);
5. with a server, binds Bitrix24's ``ONAPPINSTALL`` and ``ONAPPUNINSTALL`` events to it;
6. runs the project's own step, ``frame/install.py``'s ``async def install(page)``, if any;
7. calls ``BX24.installFinish()``, once everything above succeeded (the portal then reloads the
   page into the application's main page).

Every step says what it did; any failure stops before installFinish and says why in words
(Bitrix24's code kept). Run again, it changes nothing that is already right.
"""

from . import binding
from .apppage import ServerRefused
from .errors import RestError

EVENTS = ("ONAPPINSTALL", "ONAPPUNINSTALL")


class InstallRefused(Exception):
    """The install cannot go on; the message says what to do."""


def worker_of(page, error_handler_url):
    """The :class:`~bx24.binding.Worker` the settings describe, at ``error_handler_url``."""
    settings = page.settings
    return binding.Worker(page.worker_url(), error_handler_url,
                          title=settings.get("title"), description=settings.get("description"),
                          lang_all=settings.get("lang_all"), users=settings.get("users") or ())


async def hand_over(page):
    """The worker as bound with the app's server (the administrator's tokens handed to it), or
    without one: ``(worker, events_url or None, what happened)``."""
    error_handler = page.settings.get("error_handler_url")
    worker = worker_of(page, error_handler or page.base + page.endpoints.get(
        "error_handler", "error-handler"))
    answer = await page.server("install", {"worker": worker.for_server(), "base": page.base})
    if answer is None:
        return worker, None, ("No application server answers here: Bitrix24's notices go to "
                              "{} and the worker is bound again when an administrator opens "
                              "the application.".format(worker.error_handler_url))
    if not error_handler:
        worker.error_handler_url = answer.get("errorHandlerUrl") or worker.error_handler_url
    return worker, answer.get("eventsUrl"), (
        "The application's server has this portal's tokens: it binds the worker again by "
        "itself if Bitrix24 unbinds it.")


async def make_lines(rest, lines):
    """The telephony lines of the settings; what was done."""
    done = []
    if not lines:
        return done
    existing = {}
    for line in (await rest.call("telephony.externalLine.get")).data or []:
        if isinstance(line, dict):
            existing[str(line.get("NUMBER"))] = line
    for line in lines:
        number = str(line["number"])
        name = str(line.get("name") or number)
        crm = "Y" if line.get("crm_auto_create", True) else "N"
        known = existing.get(number)
        if known is None:
            try:
                await rest.call("telephony.externalLine.add", {
                    "NUMBER": number, "NAME": name, "CRM_AUTO_CREATE": crm})
            except RestError as error:
                if "already exists" not in str(error.description or ""):
                    raise
                continue  # made meanwhile: fine
            done.append("Created the line {} ({}).".format(number, name))
        elif known.get("NAME") != name or known.get("CRM_AUTO_CREATE", crm) != crm:
            await rest.call("telephony.externalLine.update", {
                "NUMBER": number, "NAME": name, "CRM_AUTO_CREATE": crm})
            done.append("Updated the line {} ({}).".format(number, name))
    return done


async def set_options(rest, options):
    """The application options of the settings (only those that differ); what was done."""
    if not options:
        return []
    current = (await rest.call("app.option.get")).data
    current = current if isinstance(current, dict) else {}
    changed = {k: v for k, v in options.items() if str(current.get(k, "")) != str(v)}
    if not changed:
        return []
    await rest.call("app.option.set", {"options": changed})
    return ["Set the application option(s) {}.".format(", ".join(sorted(changed)))]


async def bind_events(rest, url):
    """Bitrix24's install and uninstall events, to the app's server at ``url``."""
    done = []
    bound = (await rest.call("event.get")).data or []
    for event in EVENTS:
        if any(isinstance(h, dict) and str(h.get("event")).upper() == event and
               h.get("handler") == url for h in bound):
            continue
        await rest.call("event.bind", {"event": event, "handler": url})
        done.append("Bitrix24 sends {} to the application's server.".format(event))
    return done


async def run(page, step=None):
    """The install page (see the module doc). ``step``: the project's ``install(page)``."""
    view = page.view
    title = page.settings.get("title") or "the application"
    section = view.section("Installing " + title)
    info = await page.load_info()
    if not info.get("admin"):
        section.line("Only an administrator of the portal can install this application: ask "
                     "one to open it.", "error")
        page.ready("refused")
        return "refused"
    rest = page.rest
    installed = bool(((await rest.call("app.info")).data or {}).get("INSTALLED"))
    if installed:
        section.line("The application is installed: checking that all is as it should be.")
    url = "?"
    try:
        worker, events_url, said = await hand_over(page)
        url = worker.handler
        section.line(said)
        done = await binding.make_right(rest, worker)
        done += await make_lines(rest, page.settings.get("lines") or [])
        done += await set_options(rest, page.settings.get("options") or {})
        if events_url:
            done += await bind_events(rest, events_url)
        for line in done:
            section.line(line, "ok")
        if step is not None:
            await step(page)
    except RestError as error:
        section.line(binding.in_words(error, url), "error")
        page.ready("failed")
        return "failed"
    except (ServerRefused, InstallRefused) as error:
        section.line(str(error), "error")
        page.ready("failed")
        return "failed"
    section.line(binding.describe(await binding.workers(rest)), "ok")
    if installed:
        section.line("Nothing else to do." if not done else "Done.", "ok")
        page.ready("checked")
        return "checked"
    section.line("Finishing the installation: the portal opens the application's main page.",
                 "ok")
    await page.install_finish()
    page.ready("finished")
    return "finished"
