"""Which Chromium to drive: Debian's where it is installed, Playwright's own otherwise.

``BX24_CHROMIUM`` overrides the choice: a path to a Chromium binary, or ``playwright`` for the
browser that ``playwright install chromium`` downloaded.
"""

import os
import shutil

# Flags that keep a headless Chromium quiet on a machine without internet: without them it
# keeps trying to reach Google's services and logs refused connections.
OFFLINE_ARGS = [
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

# What a softphone in the frame needs from a test browser (Bitrix24 gives the frame `microphone`
# and `autoplay`): a synthetic microphone with permission granted, sound that plays without a
# click, and ICE candidates on loopback (without them JsSIP never sends its INVITE).
MEDIA_ARGS = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
    "--allow-loopback-in-peer-connection",
]
# (not --disable-features=...: Chromium honours one such list, and Playwright passes its own)


def chromium_executable():
    """Path of the Chromium to launch, or None for Playwright's bundled browser."""
    choice = os.environ.get("BX24_CHROMIUM", "").strip()
    if choice == "playwright":
        return None
    if choice:
        if not os.path.exists(choice):
            raise FileNotFoundError(f"BX24_CHROMIUM={choice!r}: no such file")
        return choice
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


def launch_args(base=None, browser_name="chromium"):
    """Keyword arguments for ``playwright.chromium.launch``: ``base`` (pytest-playwright's, with
    ``--headed``, ``--slowmo``, ``--browser-channel``...) plus the offline and media flags and
    the Chromium to use. A channel or an executable already chosen is kept; other browsers are left alone."""
    args = dict(base or {})
    if browser_name != "chromium":
        return args
    args["args"] = list(args.get("args") or []) + [
        flag for flag in OFFLINE_ARGS + MEDIA_ARGS if flag not in (args.get("args") or [])]
    if "executable_path" not in args and "channel" not in args:
        path = chromium_executable()
        if path:
            args["executable_path"] = path
    return args


def allowing_third_party_storage(browser_type, launch_args, user_data_dir):
    """A browser context whose frames may use third-party storage (cookies, IndexedDB): a
    profile with "allow third-party cookies" set, as in a regular Chrome window where the user
    never changed it. Incognito contexts (Playwright's default) block it, and so does
    Chromium's own default here. Close it when done."""
    import json
    import os

    default = os.path.join(user_data_dir, "Default")
    os.makedirs(default, exist_ok=True)
    with open(os.path.join(default, "Preferences"), "w") as out:
        json.dump({"profile": {"cookie_controls_mode": 0, "block_third_party_cookies": False}},
                  out)
    return browser_type.launch_persistent_context(user_data_dir, **launch_args)
