"""
Upgrade helpers shared by test/integration/test_upgrade.py and
bench/upgrade_downtime.py: the upgrade pillar on the integration stack, the
unmanaged kolla-shaped HAProxy (drained through /healthcheck), and reading the
orchestration's return.
"""

import pytest

from .daemons import Haproxy
from .kolla_haproxy import kolla_glance_cfg
from .loopback import LB_ADDRESS, hosts

ADDRESSES = hosts(3)
# the unmanaged balancer's frontend and kolla's check line (its haproxy_health_check)
KOLLA_LB = ("127.0.1.101", 9292)
KOLLA_CHECK = "check inter 2000 rise 2 fall 5"


def upgrade_pillar(stack, database, rolling="yes", **extra):
    """Shared datadir, the formula's HAProxy on node1 (the VIP), one database per test."""
    return dict(glance_file_datadir_volume=str(stack.shared),
                glance_enable_rolling_upgrade=rolling,
                glance_loadbalancer_hosts=["node1"],
                kolla_internal_vip_address=LB_ADDRESS,
                glance_database_name=database, **extra)


def unmanaged_lb_pillar(stack, database, **extra):
    """:func:`upgrade_pillar` without the formula's HAProxy: the orchestration drains
    through /healthcheck with kolla's check line."""
    pillar = upgrade_pillar(stack, database, haproxy_health_check=KOLLA_CHECK, **extra)
    del pillar["glance_loadbalancer_hosts"], pillar["kolla_internal_vip_address"]
    return pillar


def kolla_haproxy_cfg(admin_socket):
    return kolla_glance_cfg(admin_socket, KOLLA_LB, {
        node: f"{address}:9292" for node, address in ADDRESSES.items()}, KOLLA_CHECK)


@pytest.fixture
def kolla_haproxy(tmp_path):
    """kolla's HAProxy for glance_api on KOLLA_LB, which the formula does not manage."""
    daemon = Haproxy(tmp_path / "haproxy.cfg", run_dir=tmp_path)
    daemon.config_text = kolla_haproxy_cfg(daemon.admin_socket)
    with daemon:
        yield daemon


def orchestration_state(data, state_id):
    """The orchestration's return for one state ID, wherever salt-run's json nests it."""
    if isinstance(data, dict):
        if data.get("__id__") == state_id:
            return data
        for value in data.values():
            found = orchestration_state(value, state_id)
            if found is not None:
                return found
    return None


def orchestration_states(data):
    """Every state of the orchestration's return (dicts with ``__id__``), in run order."""
    found = []

    def walk(value):
        if isinstance(value, dict):
            if "__id__" in value and "duration" in value:
                found.append(value)
                return
            for item in value.values():
                walk(item)

    walk(data)
    return sorted(found, key=lambda state: state.get("__run_num__", 0))
