{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ '/map.jinja' import glance with context %}

glance-loadbalancer-clean-docker_container-absent:
  docker_container.absent:
    - name: {{ glance.services['glance-haproxy'].container_name }}
    - force: true

glance-loadbalancer-clean-file-absent:
  file.absent:
    - name: {{ glance.loadbalancer.service_dir }}
