{#- Upgrade (or restart with new config) glance-api across minions, from the master:

      salt-run state.orchestrate glance.orch.upgrade pillar=<glance:openstack_release
      and glance:openstack_tag of the new release, or already in the pillar files>

    The order comes from glance_upgrade.plan (pure, unit-tested): rolling
    (glance_enable_rolling_upgrade) drains one batch at a time in HAProxy, runs
    db expand + migrate with the new image when the database node goes, replaces
    the containers, waits until they are healthy and back in the balancer, and
    contracts only after the last node; legacy stops every API, runs db_sync,
    starts them all. Hosts already serving the target image are skipped, so a
    second run resumes where a failed one stopped. Every step is failhard.
    Needs the custom modules on the master: salt-run saltutil.sync_all. #}
{%- set tplroot = tpldir.split('/')[0] %}
{%- import_yaml tplroot ~ '/parameters/defaults.yaml' as defaults %}
{%- set wanted = salt['pillar.get']('glance', {}) %}
{%- set s = salt['glance_config.settings'](defaults, wanted, '__orchestrate__') %}
{%- set hosts = s.api_hosts | map(attribute='id') | list %}
{%- set override = {} %}
{%- for key in ('openstack_release', 'openstack_tag', 'docker_registry', 'docker_namespace') %}
{%-   if key in wanted %}{%- do override.update({key: wanted[key]}) %}{%- endif %}
{%- endfor %}
{%- set override = {'glance': override} %}
{%- if s.errors %}

glance-orch-upgrade-test-fail_without_changes:
  test.fail_without_changes:
    - name: {{ ('the glance pillar has errors, nothing was changed: '
                ~ s.errors | join('; ')) | json }}
    - failhard: true
{%- else %}
{#-   saltutil.runner keeps `arg` for itself: salt.execute's own arguments go in kwarg #}
{%-   set current = salt['saltutil.runner']('salt.execute',
        arg=[hosts | join(','), 'glance_upgrade.serving_image'], kwarg={'tgt_type': 'list'}) %}
{%-   set db_status = salt['saltutil.runner']('salt.execute',
        arg=[s.db_node, 'glance_db.status'], kwarg={'arg': [s.image]}) %}
{%-   set current = current if current is mapping else {} %}
{%-   set db_status = db_status if db_status is mapping else {} %}
{%-   set answer = db_status.get(s.db_node) %}
{%-   set schema = answer.get('status') if answer is mapping else 'error' %}
{%-   set plan = salt['glance_upgrade.plan'](
        hosts, current, s.image,
        max_unavailable=s.numbers.glance_upgrade_max_unavailable,
        rolling=s.flags.glance_enable_rolling_upgrade,
        shared_storage=s.shared_storage,
        schema_status=schema) %}
{%-   set lb_hosts = s.loadbalancer.hosts | join(',') %}
{#-   everything but the load balancer, which must keep its drain state #}
{%-   set api_sls = ['glance.precheck', 'glance.config', 'glance.bootstrap',
                     'glance.service', 'glance.cache'] %}

glance-orch-upgrade-test-show_notification:
  test.show_notification:
    - text: {{ ('plan: ' ~ plan | json) | json }}

{%-   if plan.refusal %}

glance-orch-upgrade-test-fail_without_changes:
  test.fail_without_changes:
    - name: {{ (plan.refusal ~ ' — nothing was changed') | json }}
    - failhard: true
{%-   elif plan.strategy == 'legacy' %}
{%-     if plan.batches %}

glance-orch-upgrade-glance_upgrade-stop_api:
  salt.function:
    - name: glance_upgrade.stop_api
    - tgt: {{ plan.batches[0] | join(',') }}
    - tgt_type: list
    - failhard: true
{%-     endif %}
{%-     if plan.db_steps.sync %}

glance-orch-upgrade-glance_db-sync:
  salt.function:
    - name: glance_db.sync
    - tgt: {{ s.db_node }}
    - arg:
      - {{ s.image }}
    - failhard: true
{%-     endif %}
{%-     if plan.batches %}

glance-orch-upgrade-salt-state:
  salt.state:
    - tgt: {{ plan.batches[0] | join(',') }}
    - tgt_type: list
    - sls: {{ api_sls | json }}
    - pillar: {{ override | json }}
    - failhard: true
{%-     endif %}
{%-   else %}
{%-     for batch in plan.batches %}
{%-       set n = loop.index %}
{%-       if lb_hosts %}
{%-         for host in batch %}

glance-orch-upgrade-glance_upgrade-lb_drain-{{ n }}-{{ host }}:
  salt.function:
    - name: glance_upgrade.lb_drain
    - tgt: {{ lb_hosts }}
    - tgt_type: list
    - arg:
      - {{ host }}
    - failhard: true
{%-         endfor %}
{%-       endif %}

glance-orch-upgrade-glance_upgrade-stop_api-{{ n }}:
  salt.function:
    - name: glance_upgrade.stop_api
    - tgt: {{ batch | join(',') }}
    - tgt_type: list
    - failhard: true
{%-       if s.db_node in batch and plan.db_steps.expand_before %}

glance-orch-upgrade-glance_db-upgrade-expand:
  salt.function:
    - name: glance_db.upgrade
    - tgt: {{ s.db_node }}
    - arg:
      - {{ s.image }}
      - [expand, migrate]
    - failhard: true
{%-       endif %}

glance-orch-upgrade-salt-state-{{ n }}:
  salt.state:
    - tgt: {{ batch | join(',') }}
    - tgt_type: list
    - sls: {{ api_sls | json }}
    - pillar: {{ override | json }}
    - failhard: true
{%-       if lb_hosts %}
{%-         for host in batch %}

glance-orch-upgrade-glance_upgrade-lb_enable-{{ n }}-{{ host }}:
  salt.function:
    - name: glance_upgrade.lb_enable
    - tgt: {{ lb_hosts }}
    - tgt_type: list
    - arg:
      - {{ host }}
    - failhard: true
{%-         endfor %}
{%-       endif %}
{%-     endfor %}
{%-     if plan.db_steps.contract_after %}

glance-orch-upgrade-glance_db-upgrade-contract:
  salt.function:
    - name: glance_db.upgrade
    - tgt: {{ s.db_node }}
    - arg:
      - {{ s.image }}
      - [contract]
    - failhard: true
{%-     endif %}
{%-   endif %}
{%- endif %}
