{#- The glance database and user, created once from the database node
    (the first API host) with saltext.mysql. On a re-apply one login as the
    glance user (glance_db.access_current, read-only, at render time) shows
    whether the three states have anything to do; when not, one state says so
    instead of their nine admin connections. (Not an `unless`: Salt looks for
    the state module's mod_run_check and, missing, loads every state module:
    0.8 s of each run.) #}
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ '/map.jinja' import glance with context %}
{%- set db = glance.database %}

include:
  - {{ tplroot }}.precheck

{%- if glance.am_i_db_node and not glance.errors %}
{%-   set connection = salt['glance_db.connection_args'](db) %}
{%- endif %}

{%- if glance.am_i_db_node and not glance.errors and salt['glance_db.access_current'](db) %}

glance-bootstrap-test-show_notification:
  test.show_notification:
    - text: {{ ('the database ' ~ db.name ~ ' (' ~ 'utf8mb4' ~ ') and the account '
                ~ db.user ~ "@'%' with all privileges on it are in place (one login as "
                ~ db.user ~ '): the saltext.mysql states have nothing to do') | json }}
    - require:
      - sls: {{ tplroot }}.precheck

{%- elif glance.am_i_db_node and not glance.errors %}

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
