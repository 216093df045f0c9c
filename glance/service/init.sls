{#- glance_api on the hosts that run it: image, volumes, current schema,
    container (config-hash label: a config change replaces exactly the
    containers whose files changed), then wait for /healthcheck. #}
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ '/map.jinja' import glance with context %}
{%- set api = glance.services['glance-api'] %}

include:
  - {{ tplroot }}.precheck
  - {{ tplroot }}.config
  - {{ tplroot }}.bootstrap

{%- if glance.errors %}
{#- nothing: the precheck has failed and says why #}
{%- elif api.enabled %}

glance-service-docker_image-present:
  docker_image.present:
    - name: {{ api.image }}
    - require:
      - sls: {{ tplroot }}.precheck
{%-   for volume in api.named_volumes %}

glance-service-docker_volume-present-{{ volume }}:
  docker_volume.present:
    - name: {{ volume }}
    - require:
      - sls: {{ tplroot }}.precheck
{%-   endfor %}

glance-service-glance_db-current:
  glance_db.current:
    - image: {{ api.image }}
    - binds: {{ api.volumes | json }}
    - config_dir: {{ glance.service_dir }}
    - db_node: {{ glance.db_node }}
    - database: {{ glance.database | json }}
    - bootstrap: {{ glance.am_i_db_node }}
    {#- set by glance.orch.upgrade only: it checked the schema with this image and
        ran expand + migrate (or db_sync) first #}
    - schema_ready: {{ salt['pillar.get']('glance_orchestration:schema_ready_for') == api.image }}
    - require:
      - docker_image: glance-service-docker_image-present
      - sls: {{ tplroot }}.config
{%-   if glance.am_i_db_node %}
      - sls: {{ tplroot }}.bootstrap
{%-   endif %}
{%-   for volume in api.named_volumes %}
      - docker_volume: glance-service-docker_volume-present-{{ volume }}
{%-   endfor %}

{%-   if salt['pillar.get']('glance_orchestration:stop_first') %}

{#- a rolling batch of glance.orch.upgrade: the drained container stops here,
    after every check passed, in the apply's own job #}
glance-service-glance_api-stopped:
  glance_api.stopped:
    - name: {{ api.container_name }}
    - require:
      - glance_db: glance-service-glance_db-current
{%-   endif %}

glance-service-docker_container-running:
  docker_container.running:
    - name: {{ api.container_name }}
    - image: {{ api.image }}
    - binds: {{ api.volumes | json }}
    - network_mode: host
    - environment: {{ api.environment | json }}
    - labels: {{ api.labels | json }}
    - restart_policy: unless-stopped
    - healthcheck: {{ api.healthcheck | json }}
{%-   for argument, value in api.dimensions.items() %}
    - {{ argument }}: {{ value | json }}
{%-   endfor %}
    - require:
      - glance_db: glance-service-glance_db-current
{%-   if salt['pillar.get']('glance_orchestration:stop_first') %}
      - glance_api: glance-service-glance_api-stopped
{%-   endif %}

glance-service-glance_api-healthy:
  glance_api.healthy:
    - name: {{ api.url }}/healthcheck
    - timeout: {{ glance.numbers.glance_api_healthy_timeout }}
    - container: {{ api.container_name }}
    - require:
      - docker_container: glance-service-docker_container-running
{%- else %}

glance-service-docker_container-absent:
  docker_container.absent:
    - name: {{ api.container_name }}
    - force: true
    - require:
      - sls: {{ tplroot }}.precheck

glance-service-test-succeed_without_changes:
  test.succeed_without_changes:
    - name: {{ ('glance-api does not run on ' ~ grains.id ~ ': '
                ~ (glance.notes | join(' ') or 'it is not in glance_api_hosts')) | json }}
{%- endif %}
