{#- Fails on any bad pillar value before a file or container is touched. #}
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ '/map.jinja' import glance with context %}

glance-precheck-glance_precheck-passed:
  glance_precheck.passed:
    - errors: {{ glance.errors | json }}
    - warnings: {{ glance.warnings | json }}
    - failhard: true
