"""haproxy.cfg in the shape kolla-ansible's loadbalancer role writes for glance_api
(its defaults section and the glance `listen` block), not glance_config's: the
balancer an operator keeps when the formula does not manage it."""


def kolla_glance_cfg(admin_socket, frontend, servers, check):
    """
    ``frontend`` (address, port); ``servers`` name -> "address:port"; ``check`` the
    server check options (kolla's is "check inter 2000 rise 2 fall 5").
    """
    lines = "\n".join(f"    server {name} {target} {check}" for name, target in servers.items())
    # kolla's haproxy_max_connections (40000) makes HAProxy want 80k file descriptors,
    # more than this machine's hard limit (20000)
    return f"""\
global
    maxconn 4000
    stats socket {admin_socket} mode 660 level admin

defaults
    option redispatch
    retries 3
    timeout http-request 10s
    timeout queue 1m
    timeout connect 10s
    timeout client 1m
    timeout server 1m
    timeout check 10s
    balance roundrobin

listen glance_api
    option httplog
    option forwardfor
    bind {frontend[0]}:{frontend[1]}
    mode http
    timeout client 6h
    timeout server 6h
    option httpchk GET /healthcheck
{lines}
"""
