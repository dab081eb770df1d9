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
# The kit's loopback TLS certificate (test-tls.crt, for 127.0.0.1 and localhost: the SIP
# server's WSS in bx24_testing.sip), trusted by its key alone, for that certificate only:
# base64(sha256(SubjectPublicKeyInfo)); tests/kit checks it is the certificate's.
TEST_TLS_SPKI = "lHFaoaHYW2YJ2P0/ei6CztVME1aWSO0ZZe4UaGcqqws="
MEDIA_ARGS = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
    "--allow-loopback-in-peer-connection",
]
SPKI_FLAG = "--ignore-certificate-errors-spki-list="
# (not --disable-features=...: Chromium honours one such list, and Playwright passes its own;
# see storage_partitioning_args)

# Chrome partitions a cross-site frame's storage (IndexedDB, BroadcastChannel...) by the top-level
# site; Playwright turns that off. The kit turns it back on: tests see the frame as operators'
# Chrome does (two portals of one site share a partition; a page of another site does not).
STORAGE_PARTITIONING = "ThirdPartyStoragePartitioning"


def playwright_disabled_features():
    """The Chromium features Playwright disables by default (its ``--disable-features``), read
    from the installed Playwright driver; None when it cannot be found."""
    import re

    try:
        import playwright
    except ImportError:
        return None
    driver = os.path.join(os.path.dirname(playwright.__file__), "driver", "package", "lib")
    for name in ("coreBundle.js", os.path.join("server", "chromium", "chromiumSwitches.js")):
        try:
            with open(os.path.join(driver, name), encoding="utf-8") as file:
                source = file.read()
        except OSError:
            continue
        found = re.search(r"disabledFeatures\s*=\s*\[(.*?)\]\.filter\(Boolean\)", source, re.S)
        if found:
            return re.findall(r'"([^"]+)"', re.sub(r"//[^\n]*", "", found.group(1)))
    return None


def storage_partitioning_args(base):
    """``ignore_default_args`` and ``args`` that keep every feature Playwright disables
    disabled, but storage partitioning (Chromium honours one ``--disable-features``)."""
    features = playwright_disabled_features()
    if features is None:
        raise RuntimeError(
            "bx24: cannot read the Chromium features this Playwright disables, so "
            "storage partitioning cannot be turned back on; upgrade bx24"
        )
    if STORAGE_PARTITIONING not in features:
        return {}
    ignored = base.get("ignore_default_args")
    if ignored is True:
        return {}
    kept = [f for f in features if f != STORAGE_PARTITIONING]
    return {
        "ignore_default_args": list(ignored or []) + ["--disable-features=" + ",".join(features)],
        "extra_args": ["--disable-features=" + ",".join(kept)],
    }


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
    ``--headed``, ``--slowmo``, ``--browser-channel``...) plus the offline and media flags,
    storage partitioning as Chrome has it, and the Chromium to use. A channel or an executable
    already chosen is kept; other browsers are left alone."""
    args = dict(base or {})
    if browser_name != "chromium":
        return args
    partitioning = storage_partitioning_args(args)
    if partitioning:
        args["ignore_default_args"] = partitioning["ignore_default_args"]
    args["args"] = list(args.get("args") or []) + [
        flag
        for flag in OFFLINE_ARGS + MEDIA_ARGS + partitioning.get("extra_args", [])
        if flag not in (args.get("args") or [])
    ]
    # Chromium reads one SPKI list: the kit's certificate joins any given
    keys = [TEST_TLS_SPKI] + [
        key
        for flag in args["args"]
        if flag.startswith(SPKI_FLAG)
        for key in flag[len(SPKI_FLAG) :].split(",")
        if key and key != TEST_TLS_SPKI
    ]
    args["args"] = [f for f in args["args"] if not f.startswith(SPKI_FLAG)]
    args["args"].append(SPKI_FLAG + ",".join(keys))
    if "executable_path" not in args and "channel" not in args:
        path = chromium_executable()
        if path:
            args["executable_path"] = path
    return args


def denying_storage(browser_type, launch_args, user_data_dir):
    """A browser context whose frames get no storage at all (IndexedDB, cookies, localStorage
    denied): a profile that blocks site data, as operators' browsers do when "block all
    cookies" is set with an exception for the portal. (In Chrome's default, incognito
    included, a cross-site frame's storage is partitioned, not denied: pytest-playwright's
    ``page`` has that.) Close it when done."""
    import json

    default = os.path.join(user_data_dir, "Default")
    os.makedirs(default, exist_ok=True)
    with open(os.path.join(default, "Preferences"), "w") as out:
        json.dump(
            {
                "profile": {
                    "cookie_controls_mode": 1,
                    "block_third_party_cookies": True,
                    "default_content_setting_values": {"cookies": 2},
                }
            },
            out,
        )
    return browser_type.launch_persistent_context(user_data_dir, **launch_args)
