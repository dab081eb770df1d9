"""What the kit's real servers (Kamailio, rtpengine, baresip, coturn) share: free loopback
ports to run on, and a stop that never leaves a process behind."""

from __future__ import annotations

import socket
import subprocess


def free_tcp_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def free_port_both(count: int = 1) -> int:
    """A loopback port free for both TCP and UDP, with the ``count - 1`` after it (a SIP phone
    listens on both, and baresip on TLS at the next port too)."""
    for _ in range(50):
        port = free_udp_port()
        if port + count > 65535:
            continue
        probes = []
        try:
            for n in range(count):
                for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                    probe = socket.socket(socket.AF_INET, kind)
                    probes.append(probe)
                    probe.bind(("127.0.0.1", port + n))
            return port
        except OSError:
            continue
        finally:
            for probe in probes:
                probe.close()
    raise OSError("no loopback port free for both TCP and UDP")


def stop(process: subprocess.Popen | None) -> None:
    """Terminate ``process`` (if it runs), killed after 5 s."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
