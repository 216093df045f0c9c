{#- The service directory <node_config_directory>/glance-api: config.json and
    every file the enabled features need, on the hosts that run glance-api. #}
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ '/map.jinja' import glance with context %}

include:
  - {{ tplroot }}.precheck

{%- if glance.am_i_api_host and not glance.errors %}
{%-   for name, file in glance.files | dictsort %}

glance-config-file-managed-{{ name }}:
  file.managed:
    - name: {{ glance.service_dir }}/{{ name }}
    - contents: {{ file.contents | json }}
    - mode: '{{ file.mode }}'
    - user: root
    - group: root
    - makedirs: true
    - dir_mode: '0750'
    - show_changes: false
    - require:
      - sls: {{ tplroot }}.precheck
{%-   endfor %}

glance-config-file-directory:
  file.directory:
    - name: {{ glance.service_dir }}
    - mode: '0750'
    - clean: true
    - require:
{%-   for name in glance.files | sort %}
      - file: glance-config-file-managed-{{ name }}
{%-   endfor %}
{%- elif not glance.errors %}

glance-config-file-absent:
  file.absent:
    - name: {{ glance.service_dir }}
    - require:
      - sls: {{ tplroot }}.precheck
{%- endif %}
