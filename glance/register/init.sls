{#- Glance in the Keystone catalog (kolla's service-ks-register): service
    glance (image), internal and public endpoints, the service user in project
    service with role admin. Once per deployment, from the database node, after
    glance-api answers; only with enable_keystone and glance_keystone_register. #}
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ '/map.jinja' import glance with context %}

include:
  - {{ tplroot }}.precheck
  - {{ tplroot }}.service

{%- if glance.flags.enable_keystone and glance.am_i_db_node and not glance.errors %}
{%-   set keystone = salt['glance_keystone.registration'](glance) %}
{%-   if keystone.enabled and not keystone.errors %}

glance-register-glance_keystone-registered:
  glance_keystone.registered:
    - name: {{ keystone.service }}
    - service_type: {{ keystone.service_type }}
    - description: {{ keystone.description | json }}
    - auth: {{ keystone.auth | json }}
    - region: {{ keystone.region | json }}
    - endpoints: {{ keystone.endpoints | json }}
    - user: {{ keystone.user | json }}
    - password: {{ keystone.password | json }}
    - project: {{ keystone.project }}
    - role: {{ keystone.role }}
    - domain: {{ keystone.domain }}
    - require:
      - sls: {{ tplroot }}.precheck
      - sls: {{ tplroot }}.service
{%-   endif %}
{%- endif %}
