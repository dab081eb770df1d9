"""The application's server: it keeps the worker bound after Bitrix24's 5-second rule unbinds it.

When a worker loads slowly too often, Bitrix24 deletes its binding and posts a notice without
any token to its ``errorHandlerUrl``: every operator is deaf until someone binds it again. A
server that has the application's ``client_id``/``client_secret`` does that by itself:

- it learns each portal's tokens from Bitrix24's ``ONAPPINSTALL`` event, or from the install
  page (which hands it the installing administrator's tokens: ONAPPINSTALL may never arrive),
  after the OAuth server confirmed whose they are (:meth:`Application.handoff`);
- it gives each portal an ``errorHandlerUrl`` of its own, signed (:mod:`.signing`);
- on a genuine notice it refreshes the token if need be, asks ``placement.get`` and binds the
  worker again as the install page bound it (:meth:`Application.rebind`), at most
  ``rebinds_per_day`` times a portal and day, with a back-off between attempts, and says so
  loudly in the log: a worker that is still slow will be unbound again;
- ``ONAPPUNINSTALL`` with the portal's application token deletes all it kept of the portal;
  any event whose application token does not match is refused;
- the main page can ask what it saw of its portal (:meth:`Application.status`), with a token
  the OAuth server vouches for, of an administrator.

The client secret goes only to an OAuth server: the configured one (``oauth_server``), or a
portal's ``server_endpoint`` when it is on a host of Bitrix24's OAuth servers or the configured
one's; never to any other address a request names. Tokens never reach a log.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict

from .portalclient import Bitrix24Error, PortalClient
from .portalstore import PortalStore
from .signing import MEMBER_ID, error_handler_path, verify

log = logging.getLogger("bx24_server")

DAY = 24 * 3600
WORKER = "PAGE_BACKGROUND_WORKER"
EXPIRY_MARGIN = 60.0  # refresh an access token this long before it expires


class Refused(Exception):
    """A request this server will not act on: ``status`` and a short reason (no secret)."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _object(payload: dict, name: str) -> dict:
    value = payload.get(name)
    return value if isinstance(value, dict) else {}


def _nested(fields: dict, name: str) -> dict:
    """``auth[...]`` form fields as a dict (Bitrix24 posts events PHP-style)."""
    value = fields.get(name)
    if isinstance(value, dict):
        return value
    prefix = name + "["
    return {
        key[len(prefix) : -1]: value
        for key, value in fields.items()
        if key.startswith(prefix) and key.endswith("]")
    }


class Application:
    """The server side of the Bitrix24 application (see the module doc)."""

    def __init__(
        self,
        client: PortalClient,
        store: PortalStore,
        key: bytes,
        *,
        rebinds_per_day: int = 5,
        backoff: float = 60.0,
        clock=time.time,
    ):
        self.client = client
        self.store = store
        self.key = key
        self.rebinds_per_day = rebinds_per_day
        self.backoff = backoff
        self.clock = clock
        self._locks: dict[str, asyncio.Lock] = {}
        self._verified: OrderedDict[str, tuple[float, dict]] = OrderedDict()
        self.tasks: set[asyncio.Task] = set()

    async def _db(self, method, *args, **kwargs):
        return await asyncio.to_thread(getattr(self.store, method), *args, **kwargs)

    # -- whose is a token ----------------------------------------------------------------------

    async def verified(self, access_token: str, member_id: str | None = None) -> dict:
        """The OAuth server's word on ``access_token`` (client, user, portal), checked to be
        this application's and, when given, ``member_id``'s; :class:`Refused` otherwise."""
        import hashlib

        if not access_token:
            raise Refused(401, "no token")
        key = hashlib.sha256(access_token.encode()).hexdigest()
        known = self._verified.get(key)
        if known is not None and known[0] > self.clock():
            info = known[1]
        else:
            try:
                info = await self.client.token_info(access_token)
            except Bitrix24Error as error:
                raise Refused(
                    401,
                    f"the OAuth server did not vouch for the token ({error.code or error.status})",
                ) from None
            self._verified[key] = (self.clock() + 60, info)
            while len(self._verified) > 1000:
                self._verified.popitem(last=False)
        if info.get("client_id") != self.client.client_id:
            raise Refused(403, "the token is another application's")
        install = info.get("install") or {}
        if member_id is not None and install.get("member_id") != member_id:
            raise Refused(403, "the token is another portal's")
        return info

    async def _admin(self, info: dict, access_token: str) -> None:
        try:
            admin = await self.client.call(
                info["install"]["client_endpoint"], "user.admin", {}, access_token
            )
        except Bitrix24Error as error:
            raise Refused(
                403, f"cannot tell whether the user is an administrator ({error.code})"
            ) from None
        if admin is not True:
            raise Refused(403, "only an administrator of the portal may do this")

    # -- events --------------------------------------------------------------------------------

    async def event(self, fields: dict) -> str:
        """One of Bitrix24's events (form fields, ``auth[...]`` included): what was done."""
        name = str(fields.get("event") or "").upper()
        auth = _nested(fields, "auth")
        member = str(auth.get("member_id") or "")
        if not MEMBER_ID.fullmatch(member):
            raise Refused(400, "an event without a portal (auth[member_id])")
        if name == "ONAPPINSTALL":
            info = await self.verified(str(auth.get("access_token") or ""), member)
            record = await self._remember(
                member,
                info,
                auth,
                application_token=str(auth.get("application_token") or "") or None,
            )
            log.info(
                "ONAPPINSTALL: the application is installed in portal %s (%s)",
                member,
                info["install"].get("domain"),
            )
            if not record.get("worker"):  # no hand-over from the install page: ask the portal
                self._background(self._learn_worker(member))
            return "installed"
        known = await self._db("portal", member)
        expected = (known or {}).get("application_token")
        given = str(auth.get("application_token") or "")
        if name == "ONAPPUNINSTALL":
            if known is None:
                return "unknown portal"
            if expected and given == expected:
                pass
            elif not expected and await self._gone(known):
                pass  # never told its application token: the portal itself says it is gone
            else:
                log.warning(
                    "refused %s for portal %s: its application token does not match", name, member
                )
                raise Refused(403, "the application token does not match")
            await self._db("forget", member)
            log.info("ONAPPUNINSTALL: everything kept for portal %s is deleted", member)
            return "forgotten"
        if not expected or given != expected:
            log.warning(
                "refused %s for portal %s: its application token does not match",
                name or "an event",
                member,
            )
            raise Refused(403, "the application token does not match")
        return "accepted"

    async def _gone(self, record: dict) -> bool:
        """Whether the portal no longer has the application (its tokens no longer work)."""
        try:
            await self.client.call(
                record["client_endpoint"], "app.info", {}, record.get("access_token") or ""
            )
        except Bitrix24Error as error:
            return error.status in (401, 403) and not error.expired
        return False

    async def _remember(self, member: str, info: dict, auth: dict, **more) -> dict:
        install = info.get("install") or {}
        expires_in = float(auth.get("expires_in") or 3600)
        fields = {
            "domain": install.get("domain") or auth.get("domain"),
            "client_endpoint": install.get("client_endpoint"),
            "server_endpoint": auth.get("server_endpoint"),  # followed on known hosts only
            "access_token": auth.get("access_token"),
            "refresh_token": auth.get("refresh_token"),
            "expires": self.clock() + (expires_in if expires_in < 10 * DAY else 3600),
            **{k: v for k, v in more.items() if v is not None},
        }
        return await self._db("save", member, **fields)

    # -- the install page ----------------------------------------------------------------------

    async def handoff(self, payload: dict) -> dict:
        """The install page's: the installing administrator's tokens (``auth``: what
        ``BX24.getAuth()`` gives), the worker it binds (``worker``: ``handler``, ``title``,
        ``description``, ``lang_all``, ``users``) and its own address (``base``). Returns the
        portal's ``errorHandlerUrl`` and where Bitrix24's events go (``eventsUrl``)."""
        auth = _object(payload, "auth")
        member = str(auth.get("member_id") or "")
        if not MEMBER_ID.fullmatch(member):
            raise Refused(400, "no portal (auth.member_id)")
        token = str(auth.get("access_token") or "")
        info = await self.verified(token, member)
        await self._admin(info, token)
        base = str(payload.get("base") or "").rstrip("/") + "/"
        if not base.startswith(("https://", "http://")):
            raise Refused(400, "no base address of the application's pages")
        from . import endpoints

        error_handler = base + error_handler_path(self.key, member, endpoints.ERROR_HANDLER)
        given = _object(payload, "worker")
        worker = {
            k: given[k]
            for k in ("handler", "title", "description", "lang_all", "users")
            if k in given
        }
        worker["errorHandlerUrl"] = error_handler
        await self._remember(member, info, auth, worker=worker)
        log.info(
            "the install page of portal %s (%s) handed its tokens over: the server will "
            "bind the worker again if Bitrix24 unbinds it",
            member,
            info["install"].get("domain"),
        )
        return {"errorHandlerUrl": error_handler, "eventsUrl": base + endpoints.EVENTS}

    # -- the main page -------------------------------------------------------------------------

    async def status(self, payload: dict) -> dict:
        """What the server saw of the caller's portal (for an administrator of it)."""
        auth = _object(payload, "auth")
        member = str(auth.get("member_id") or "")
        token = str(auth.get("access_token") or "")
        info = await self.verified(token, member)
        await self._admin(info, token)
        record = await self._db("portal", member)

        def dated(events):
            for event in events:
                event["at"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(event["time"]))
            return events

        return {
            "known": record is not None,
            "worker": (record or {}).get("worker"),
            "notices": dated(await self._db("events", member, "notice", 0.0, 20)),
            "rebinds": dated(await self._db("events", member, "rebind", 0.0, 20)),
        }

    # -- the overtime notice -------------------------------------------------------------------

    async def notice(self, member: str, given: str, fields: dict) -> None:
        """A notice on the portal's own ``errorHandlerUrl``: recorded, and the worker bound
        again in the background (:meth:`rebind`)."""
        if not verify(self.key, member, given):
            log.warning(
                "refused a placement error notice for portal %s: its address is not "
                "one this server gave",
                member if MEMBER_ID.fullmatch(member) else "?",
            )
            raise Refused(403, "not an errorHandlerUrl of this server")
        await self._db("add_event", member, "notice", {"fields": fields})
        log.warning(
            "Bitrix24 unbound the worker of portal %s (%s): it loaded slowly too often. "
            "Binding it again.",
            member,
            str(fields.get("error") or "?")[:80],
        )
        self._background(self.rebind(member))

    def _background(self, work) -> None:
        task = asyncio.ensure_future(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _learn_worker(self, member: str) -> None:
        """Record the worker's binding as the portal has it (``placement.get``), to bind it
        again like that later."""
        try:
            bindings = await self._call(member, "placement.get", {})
        except Bitrix24Error as error:
            log.warning("cannot read the bindings of portal %s: %s", member, error)
            return
        found = [b for b in bindings or [] if b.get("placement") == WORKER]
        if not found:
            return
        first = found[0]
        worker = {
            "handler": first.get("handler"),
            "title": first.get("title"),
            "description": first.get("description"),
            "lang_all": first.get("langAll"),
            "users": sorted({int(b.get("userId") or 0) for b in found}),
            "errorHandlerUrl": (first.get("options") or {}).get("errorHandlerUrl"),
        }
        await self._db("save", member, worker=worker)

    async def rebind(self, member: str) -> str:
        """Bind the worker of ``member`` again if it is not bound (see the module doc); the
        outcome: ``bound``, ``bound already``, ``capped``, ``unknown portal`` or ``failed``."""
        lock = self._locks.setdefault(member, asyncio.Lock())
        async with lock:
            record = await self._db("portal", member)
            if record is None or not record.get("worker"):
                log.warning(
                    "cannot bind the worker of portal %s again: the server has no "
                    "token for it (did the install page hand them over?)",
                    member,
                )
                return "unknown portal"
            now = self.clock()
            attempts = await self._db("events", member, "rebind", now - DAY, 100)
            bound = [a for a in attempts if a.get("outcome") == "bound"]
            if len(bound) >= self.rebinds_per_day:
                log.error(
                    "the worker of portal %s was unbound %d times today: not binding it "
                    "again until tomorrow. Make it load faster (docs/performance.md).",
                    member,
                    len(bound),
                )
                await self._db("add_event", member, "rebind", {"outcome": "capped"})
                return "capped"
            if attempts:
                wait = attempts[0]["time"] + self.backoff * 2 ** max(0, len(bound) - 1) - now
                if wait > 0:
                    log.warning(
                        "binding the worker of portal %s again in %.0f s (back-off)", member, wait
                    )
                    await asyncio.sleep(wait)
            outcome = await self._bind(member)
            await self._db("add_event", member, "rebind", {"outcome": outcome})
            return outcome

    async def _bind(self, member: str) -> str:
        try:
            record, token = await self.access_token(member)
            worker = record["worker"]
            bindings = await self._call(member, "placement.get", {})
            users = worker.get("users") or [0]
            missing = [
                user
                for user in users
                if not any(
                    b.get("placement") == WORKER
                    and b.get("handler") == worker.get("handler")
                    and int(b.get("userId") or 0) == int(user)
                    for b in bindings or []
                )
            ]
            for user in missing:
                params = {
                    "PLACEMENT": WORKER,
                    "HANDLER": worker.get("handler"),
                    "OPTIONS": {"errorHandlerUrl": worker["errorHandlerUrl"]},
                    "TITLE": worker.get("title"),
                    "DESCRIPTION": worker.get("description"),
                    "LANG_ALL": worker.get("lang_all") or None,
                }
                if user:
                    params["USER_ID"] = user
                try:
                    await self._call(member, "placement.bind", params)
                except Bitrix24Error as error:
                    if error.code != "ERROR_PLACEMENT_MAX_COUNT":  # bound meanwhile: fine
                        raise
        except Bitrix24Error as error:
            log.error("binding the worker of portal %s again failed: %s", member, error)
            return "failed"
        if not missing:
            return "bound already"
        log.warning(
            "the worker of portal %s is bound again. A worker that is still slow will "
            "be unbound again: make it load faster (docs/performance.md)",
            member,
        )
        return "bound"

    async def _call(self, member: str, method: str, params: dict):
        """A REST call with the portal's token, refreshed once if Bitrix24 says it expired."""
        record, token = await self.access_token(member)
        try:
            return await self.client.call(record["client_endpoint"], method, params, token)
        except Bitrix24Error as error:
            if not error.expired:
                raise
        record, token = await self.access_token(member, force=True)
        return await self.client.call(record["client_endpoint"], method, params, token)

    async def access_token(self, member: str, force: bool = False) -> tuple[dict, str]:
        """The portal's record and a current access token: refreshed through the OAuth server
        when it expired (or ``force``), the new refresh token stored by compare-and-set; when
        another host refreshed first, its tokens are used."""
        record = await self._db("portal", member)
        if record is None:
            raise Bitrix24Error("refreshing a token", "UNKNOWN_PORTAL", member)
        if not force and float(record.get("expires") or 0) > self.clock() + EXPIRY_MARGIN:
            return record, record["access_token"]
        old = record.get("refresh_token")
        try:
            fresh = await self.client.refresh(old or "", record.get("server_endpoint"))
        except Bitrix24Error as error:
            # Spent: another host may be storing what it got for it right now.
            for _ in range(20 if error.code == "invalid_grant" else 1):
                again = await self._db("portal", member)
                if again and again.get("refresh_token") != old:  # another host rotated it
                    return again, again["access_token"]
                await asyncio.sleep(0.1)
            log.error(
                "cannot refresh the token of portal %s: %s (the application must be "
                "opened by an administrator again)",
                member,
                error.code,
            )
            raise
        tokens = {
            "access_token": fresh.get("access_token"),
            "refresh_token": fresh.get("refresh_token"),
            "expires": self.clock() + float(fresh.get("expires_in") or 3600),
        }
        if fresh.get("client_endpoint"):
            tokens["client_endpoint"] = fresh["client_endpoint"]
        if not await self._db("rotate", member, old, tokens):
            again = await self._db("portal", member)
            if again is not None:
                return again, again["access_token"]
        return {**record, **tokens}, tokens["access_token"]
