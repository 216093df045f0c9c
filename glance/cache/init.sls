{#- The image cache's cleanup in this minion's crontab (Glance trims nothing by
    itself): prune every glance_cache_prune_interval minutes and clean once a day,
    staggered across the API hosts by glance_cache.schedule. Where the cache or
    the cleanup is off, or glance-api does not run, the entries are removed. #}
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ '/map.jinja' import glance with context %}

include:
  - {{ tplroot }}.precheck

{%- if not glance.errors %}
{%-   set schedule = salt['glance_cache.schedule'](
        glance.minion_id,
        glance.api_hosts | map(attribute='id') | list,
        glance.numbers.glance_cache_prune_interval,
        glance.numbers.glance_cache_clean_hour,
        glance.flags.enable_glance_image_cache
          and glance.flags.glance_cache_cleanup_enabled) %}

glance-cache-glance_cache-scheduled:
  glance_cache.scheduled:
    - prune: {{ schedule.get('prune', {}) | json }}
    - clean: {{ schedule.get('clean', {}) | json }}
    - user: {{ glance.flags.glance_cache_cron_user | json }}
    - require:
      - sls: {{ tplroot }}.precheck
{%- endif %}
