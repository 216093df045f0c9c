{#- Glance's endpoints, service and user out of Keystone: only with
    glance_clean_remove_data (like the volumes and the database), from the
    database node. The service project and the admin role stay (shared). #}
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ '/map.jinja' import glance with context %}

{%- if glance.flags.glance_clean_remove_data and glance.flags.enable_keystone
      and glance.am_i_db_node and not glance.errors %}
{%-   set keystone = salt['glance_keystone.registration'](glance) %}
{%-   if keystone.enabled and not keystone.errors %}

glance-register-clean-glance_keystone-absent:
  glance_keystone.absent:
    - name: {{ keystone.service }}
    - service_type: {{ keystone.service_type }}
    - auth: {{ keystone.auth | json }}
    - region: {{ keystone.region | json }}
    - user: {{ keystone.user | json }}
    - domain: {{ keystone.domain }}
{%-   endif %}
{%- endif %}
