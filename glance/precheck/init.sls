{#- Fails on any bad pillar value before a file or container is touched. #}
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ '/map.jinja' import glance with context %}
{#- the Keystone registration's own pillar errors join the list (database node only) #}
{%- set keystone = {'enabled': False, 'errors': []} %}
{%- if glance.flags.enable_keystone and glance.am_i_db_node %}
{%-   set keystone = salt['glance_keystone.registration'](glance) %}
{%- endif %}

glance-precheck-glance_precheck-passed:
  glance_precheck.passed:
    - errors: {{ (glance.errors + keystone.errors) | json }}
    - warnings: {{ glance.warnings | json }}
    - failhard: true
{%- if not glance.errors and glance.config_validation.enabled %}

glance-precheck-glance_precheck-config_valid:
  glance_precheck.config_valid:
    - image: {{ glance.image | json }}
    - files: {{ glance.config_validation.files | json }}
    - enabled_backends: {{ glance.config_validation.enabled_backends | json }}
    - failhard: true
    - require:
      - glance_precheck: glance-precheck-glance_precheck-passed
{%- endif %}
{%- if not glance.errors and glance.am_i_api_host and 's3' in glance.stores %}

glance-precheck-glance_precheck-s3_reachable:
  glance_precheck.s3_reachable:
    - url: {{ glance.s3.url | json }}
    - access_key: {{ glance.s3.access_key | json }}
    - secret_key: {{ glance.s3.secret_key | json }}
    - bucket: {{ glance.s3.bucket | json }}
    - url_format: {{ glance.s3.url_format | json }}
    - failhard: true
    - require:
      - glance_precheck: glance-precheck-glance_precheck-passed
{%- endif %}
{%- if not glance.errors and keystone.enabled and not keystone.errors %}

glance-precheck-glance_keystone-reachable:
  glance_keystone.reachable:
    - name: {{ keystone.auth.auth_url | json }}
    - auth: {{ keystone.auth | json }}
    - registration: {{ keystone | json }}
    - failhard: true
    - require:
      - glance_precheck: glance-precheck-glance_precheck-passed
{%- endif %}
