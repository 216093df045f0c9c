{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ '/map.jinja' import glance with context %}

glance-config-clean-file-absent:
  file.absent:
    - name: {{ glance.service_dir }}

glance-config-clean-file-absent-drain:
  file.absent:
    - name: {{ glance.drain_dir }}
