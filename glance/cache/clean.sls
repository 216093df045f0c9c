{#- Removes the prune and clean entries from the crontab. #}
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ '/map.jinja' import glance with context %}

glance-cache-clean-glance_cache-absent:
  glance_cache.absent:
    - user: {{ glance.flags.glance_cache_cron_user | json }}
