{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ '/map.jinja' import glance with context %}
{%- set api = glance.services['glance-api'] %}

glance-service-clean-docker_container-absent:
  docker_container.absent:
    - name: {{ api.container_name }}
    - force: true
{%- if glance.flags.glance_clean_remove_data %}
{%-   for volume in api.data_volumes %}

glance-service-clean-docker_volume-absent-{{ volume }}:
  docker_volume.absent:
    - name: {{ volume }}
    - require:
      - docker_container: glance-service-clean-docker_container-absent
{%-   endfor %}
{%- endif %}
