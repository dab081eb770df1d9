"""The worker's binding: Bitrix24's ``PAGE_BACKGROUND_WORKER`` placement, bound to the worker's
URL, checked and made right (the install page, the main page).

What Bitrix24 does (``placement.bind``/``unbind``/``get``): an application has one handler of
the placement for all users, and one more per user bound with ``USER_ID`` (a second bind of
either is ``ERROR_PLACEMENT_MAX_COUNT``: unbind first to change it); the worker's
``OPTIONS[errorHandlerUrl]`` is required (``EMPTY_ERROR_HANDLER_URL``) and is where Bitrix24
tells that it deleted the binding (its 5-second rule); neither URL is checked for reachability.
``placement.get`` lists the application's bindings: the way to know whether the worker is still
bound.

:func:`make_right` leaves a binding that is right alone, unbinds one that points elsewhere (or
at a user it should not), and binds what is missing: run twice, it changes nothing the second
time. Bitrix24's errors come out in words (:func:`in_words`).
"""

from .errors import RestError
from .placement import PAGE_BACKGROUND_WORKER

# Bitrix24's answers to placement.* in words an administrator can act on.
WORDS = {
    "ACCESS_DENIED": "only an administrator of the portal can bind the worker: ask one to open "
                     "the application",
    "WRONG_AUTH_TYPE": "the worker can be bound from the application's own pages only (a "
                       "webhook cannot)",
    "EMPTY_ERROR_HANDLER_URL": "Bitrix24 needs an errorHandlerUrl for the worker "
                               "(OPTIONS[errorHandlerUrl]): set error_handler_url in [app] of "
                               "bx24.toml, or leave it out to use this server's",
    "ERROR_PLACEMENT_MAX_COUNT": "the application has a worker bound already that could not be "
                                 "unbound first",
    "ERROR_WRONG_HANDLER_URL": "Bitrix24 refuses the URL {url}: it must be http(s) with a "
                               "dotted host name (not localhost)",
    "ERROR_UNSUPPORTED_PROTOCOL": "Bitrix24 refuses the URL {url}: only http and https",
    "ERROR_PLACEMENT_NOT_FOUND": "the portal offers this application no PAGE_BACKGROUND_WORKER "
                                 "placement: give the application the `placement` scope (its "
                                 "settings in the portal), then open it again",
    "insufficient_scope": "the application lacks a scope this needs (placement, telephony, "
                          "user): add it in the application's settings in the portal",
    "NETWORK_ERROR": "the portal did not answer (the network?): try again",
}


def in_words(error, url=""):
    """What a :class:`~bx24.errors.RestError` means, for the page (Bitrix24's code kept)."""
    code = getattr(error, "code", None)
    text = WORDS.get(code)
    if text is None:
        return str(error)
    return "{} ({})".format(text.replace("{url}", url or "?"), code)


class Worker:
    """The binding the application wants: ``handler`` (the worker page's URL),
    ``error_handler_url``, ``title``, ``description``, ``lang_all`` (``{lang: {TITLE,
    DESCRIPTION}}``) and ``users`` (bind for these user ids only; empty: for every user)."""

    def __init__(self, handler, error_handler_url, title="", description="", lang_all=None,
                 users=()):
        self.handler = handler
        self.error_handler_url = error_handler_url
        self.title = title or ""
        self.description = description or ""
        self.lang_all = dict(lang_all or {})
        self.users = sorted(set(int(u) for u in users)) or [0]

    def is_right(self, binding):
        options = binding.get("options") or {}
        return (binding.get("handler") == self.handler
                and options.get("errorHandlerUrl") == self.error_handler_url
                and _user(binding) in self.users)

    def bind_params(self, user):
        params = {"PLACEMENT": PAGE_BACKGROUND_WORKER, "HANDLER": self.handler,
                  "OPTIONS": {"errorHandlerUrl": self.error_handler_url}}
        if self.title:
            params["TITLE"] = self.title
        if self.description:
            params["DESCRIPTION"] = self.description
        if self.lang_all:
            params["LANG_ALL"] = self.lang_all
        if user:
            params["USER_ID"] = user
        return params

    def for_server(self):
        """What the application's server needs to bind it again by itself."""
        return {"handler": self.handler, "title": self.title, "description": self.description,
                "lang_all": self.lang_all, "users": self.users}


def _user(binding):
    try:
        return int(binding.get("userId") or 0)
    except (TypeError, ValueError):
        return 0


async def workers(rest):
    """The application's worker bindings, as ``placement.get`` lists them."""
    answer = (await rest.call("placement.get")).data or []
    return [b for b in answer if isinstance(b, dict) and b.get("placement") ==
            PAGE_BACKGROUND_WORKER]


def describe(bindings):
    """The bindings in a sentence."""
    if not bindings:
        return "The worker is not bound: operators' pages do not load it."
    parts = []
    for binding in bindings:
        user = _user(binding)
        parts.append("{} (for {}; errorHandlerUrl {})".format(
            binding.get("handler"), "user {}".format(user) if user else "every user",
            (binding.get("options") or {}).get("errorHandlerUrl") or "none"))
    return "The worker is bound to " + "; ".join(parts) + "."


async def make_right(rest, worker):
    """Make the worker's bindings what ``worker`` says; what was done, in sentences (empty:
    all was right). :class:`~bx24.errors.RestError` when Bitrix24 refuses (:func:`in_words`)."""
    done = []
    current = await workers(rest)
    wrong = [b for b in current if not worker.is_right(b)]
    for binding in wrong:
        params = {"PLACEMENT": PAGE_BACKGROUND_WORKER, "HANDLER": binding.get("handler")}
        if _user(binding):
            params["USER_ID"] = _user(binding)
        await rest.call("placement.unbind", params)
        done.append("Unbound the worker at {} (for {}).".format(
            binding.get("handler"), "user {}".format(_user(binding)) if _user(binding)
            else "every user"))
    if wrong:
        current = await workers(rest)
    for user in worker.users:
        if any(worker.is_right(b) and _user(b) == user for b in current):
            continue
        try:
            await rest.call("placement.bind", worker.bind_params(user))
        except RestError as error:
            if error.code != "ERROR_PLACEMENT_MAX_COUNT":
                raise
            # Someone bound one meanwhile (another administrator, the app's server): right?
            current = await workers(rest)
            if not any(worker.is_right(b) and _user(b) == user for b in current):
                raise
            continue
        done.append("Bound the worker to {} for {}.".format(
            worker.handler, "user {}".format(user) if user else "every user"))
    return done
