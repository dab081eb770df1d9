"""Test your Bitrix24 call-card frame in a real Chromium, without a portal.

The pytest plugin (``bx24_testing.plugin``, registered through the ``pytest11`` entry point)
builds on pytest-playwright and adds the BX24 stub, a test server for your frame and a
call-card handle. See the README, "Testing your frame".
"""
