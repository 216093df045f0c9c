"""Addresses of the simulated hosts. All of 127.0.0.0/8 is routed to ``lo`` on Linux,
so every address below can be bound without any ``ip addr`` command."""
from __future__ import annotations

import ipaddress
import socket

#: shared services (MariaDB, registry, S3) listen here
SHARED_ADDRESS = "127.0.0.1"
#: HAProxy frontend in front of the API hosts
LB_ADDRESS = "127.0.1.100"
#: the Glance API port on each simulated host and on the load balancer
GLANCE_API_PORT = 9292


def host_address(n: int) -> str:
    """Loopback address of simulated host ``n`` (1 -> 127.0.1.1)."""
    if not 1 <= int(n) <= 254:
        raise ValueError(f"host number must be 1..254, got {n!r}")
    return f"127.0.1.{int(n)}"


def node_name(n: int) -> str:
    """Minion id of simulated host ``n`` (1 -> node1)."""
    return f"node{int(n)}"


def hosts(count: int) -> dict[str, str]:
    """``{"node1": "127.0.1.1", ...}`` for hosts 1..count."""
    return {node_name(i): host_address(i) for i in range(1, count + 1)}


def is_loopback(address: str) -> bool:
    return ipaddress.ip_address(address) in ipaddress.ip_network("127.0.0.0/8")


def can_bind(address: str, port: int = 0) -> bool:
    """True if a TCP socket can be bound to address:port (0 = any free port)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((address, port))
        except OSError:
            return False
        return True
