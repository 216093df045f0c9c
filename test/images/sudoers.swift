# Lets the service user run Kolla's config step as root (kolla_start uses sudo -E).
Defaults!/usr/local/bin/kolla_set_configs env_keep += "KOLLA_CONFIG_STRATEGY KOLLA_CONFIG"
Defaults !requiretty
swift ALL=(root) NOPASSWD: SETENV: /usr/local/bin/kolla_set_configs
# Kolla's base image puts /usr/local/bin on sudo's secure_path (sid's sudo 1.9.17
# default does not), so `sudo -E kolla_set_configs` works without a full path.
Defaults secure_path="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
