{#- The glance database and user, created once from the database node
    (the first API host) with saltext.mysql. #}
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ '/map.jinja' import glance with context %}
{%- set db = glance.database %}

include:
  - {{ tplroot }}.precheck

{%- if glance.am_i_db_node and not glance.errors %}
{%-   set connection = salt['glance_db.connection_args'](db) %}

glance-bootstrap-mysql_database-present:
  mysql_database.present:
    - name: {{ db.name }}
    - character_set: utf8mb4
    - collate: utf8mb4_general_ci
{%-   for key, value in connection | dictsort %}
    - {{ key }}: {{ value | json }}
{%-   endfor %}
    - require:
      - sls: {{ tplroot }}.precheck

glance-bootstrap-mysql_user-present:
  mysql_user.present:
    - name: {{ db.user }}
    - host: '%'
    - password: {{ db.password | json }}
{%-   for key, value in connection | dictsort %}
    - {{ key }}: {{ value | json }}
{%-   endfor %}
    - require:
      - mysql_database: glance-bootstrap-mysql_database-present

glance-bootstrap-mysql_grants-present:
  mysql_grants.present:
    - grant: all privileges
    - database: {{ db.name }}.*
    - user: {{ db.user }}
    - host: '%'
{%-   for key, value in connection | dictsort %}
    - {{ key }}: {{ value | json }}
{%-   endfor %}
    - require:
      - mysql_user: glance-bootstrap-mysql_user-present
{%- endif %}
