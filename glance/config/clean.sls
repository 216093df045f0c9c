{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ '/map.jinja' import glance with context %}

glance-config-clean-file-absent:
  file.absent:
    - name: {{ glance.service_dir }}
