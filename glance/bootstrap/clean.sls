{#- Drops the glance database and user: only with glance_clean_remove_data. #}
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ '/map.jinja' import glance with context %}
{%- set db = glance.database %}

{%- if glance.am_i_db_node and glance.flags.glance_clean_remove_data %}
{%-   set connection = salt['glance_db.connection_args'](db) %}

glance-bootstrap-clean-mysql_user-absent:
  mysql_user.absent:
    - name: {{ db.user }}
    - host: '%'
{%-   for key, value in connection | dictsort %}
    - {{ key }}: {{ value | json }}
{%-   endfor %}

glance-bootstrap-clean-mysql_database-absent:
  mysql_database.absent:
    - name: {{ db.name }}
{%-   for key, value in connection | dictsort %}
    - {{ key }}: {{ value | json }}
{%-   endfor %}
{%- endif %}
