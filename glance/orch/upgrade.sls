{#- Upgrade glance-api across minions, or restart the hosts whose config or image
    changed, from the master:

      salt-run state.orchestrate glance.orch.upgrade pillar=<glance:openstack_release
      and glance:openstack_tag of the new release, or already in the pillar files>

    Before anything stops, every API host runs glance_upgrade.prepare: its own
    settings with these overrides (its operator files under node_custom_config are
    read and checked there, as on any apply), `docker pull` of the target image, and
    what its container runs; the database node also runs `db check` with that
    image. A host with an error, a failed pull or no answer stops the run here,
    with nothing changed. glance_upgrade.plan (pure, unit-tested) then
    picks the hosts whose image (name or ID) or config hash differs, or that are
    unhealthy, and orders the steps; this file only runs plan.steps in order, every
    one failhard. Needs the custom modules on the master: salt-run saltutil.sync_all. #}
{%- set tplroot = tpldir.split('/')[0] %}
{%- import_yaml tplroot ~ '/parameters/defaults.yaml' as defaults %}
{%- set wanted = salt['pillar.get']('glance', {}) %}
{%- set override = {} %}
{%- for key in ('openstack_release', 'openstack_tag', 'glance_tag', 'docker_registry',
                'docker_namespace') %}
{%-   if key in wanted %}{%- do override.update({key: wanted[key]}) %}{%- endif %}
{%- endfor %}
{%- set why_not = [] %}
{%- if wanted.get('glance_api_hosts') %}
{%-   set s = salt['glance_config.settings'](defaults, wanted, '__orchestrate__',
                                             topology=True) %}
{%-   set hosts = s.api_hosts | map(attribute='id') | list %}
{%- else %}
{#-   the single-host default: each minion that applies glance is its own API host #}
{%-   set found = salt['saltutil.runner']('salt.execute', arg=['*', 'glance_upgrade.deployed']) %}
{%-   set hosts = [] %}
{%-   for id, answer in (found if found is mapping else {}) | dictsort %}
{%-     if answer is sameas true %}{%- do hosts.append(id) %}{%- endif %}
{%-   endfor %}
{%-   set s = salt['glance_config.settings'](defaults, wanted,
            hosts[0] if hosts | length == 1 else '__orchestrate__', topology=True) %}
{%-   if hosts | length > 1 %}
{%-     do why_not.append('glance:glance_api_hosts is empty, so every minion that applies '
          ~ 'glance is its own single API host, and glance is deployed on '
          ~ hosts | join(', ') ~ ' — list the hosts that share one database in '
          ~ 'glance_api_hosts, in a pillar the master sees too (orchestrate renders '
          ~ 'with the pillar of minion id ' ~ grains.id ~ ')') %}
{%-   endif %}
{%- endif %}
{%- do why_not.extend(s.errors) %}
{%- if why_not %}

glance-orch-upgrade-test-fail_without_changes:
  test.fail_without_changes:
    - name: {{ ('the glance pillar has errors, nothing was changed: '
                ~ why_not | join('; ')) | json }}
    - failhard: true
{%- else %}
{#-   saltutil.runner keeps `arg` for itself: salt.execute's own arguments go in kwarg.
      A legacy run stops every host before db_sync, so its database node checks the
      schema in prepare (a database that does not answer refuses the run with nothing
      stopped); a rolling run expands online first, where the same fault stops it. #}
{%-   set prepare_kwargs = {'pillar': override,
                            'db_check': not s.flags.glance_enable_rolling_upgrade} %}
{%-   set answers = salt['saltutil.runner']('salt.execute',
        arg=[hosts | join(','), 'glance_upgrade.prepare'],
        kwarg={'tgt_type': 'list', 'kwarg': prepare_kwargs}) if hosts else {} %}
{%-   set reports = salt['glance_upgrade.reports_from_answers'](hosts, answers) %}
{%-   set options = {'max_unavailable': s.numbers.glance_upgrade_max_unavailable,
                     'rolling': s.flags.glance_enable_rolling_upgrade,
                     'shared_storage': s.shared_storage,
                     'managed_lb': s.loadbalancer.hosts | length > 0} %}
{%-   set plan = salt['glance_upgrade.plan'](hosts, reports, s.image, **options) %}
{%-   set schema = reports[plan.db_node].get('schema') if plan.db_node else none %}
{%-   if plan.needs_schema or (schema is not none and not plan.refusal) %}
{#-     the schema state from prepare (legacy), or asked now when the plan cannot do
        without it (the database node already runs the target: a resumed run, a
        restart): db check with the target image #}
{%-     if schema is none %}
{%-       set db_status = salt['saltutil.runner']('salt.execute',
            arg=[plan.db_node, 'glance_db.status'], kwarg={'arg': [s.image]}) %}
{%-       set db_status = db_status if db_status is mapping else {} %}
{%-       set answer = db_status.get(plan.db_node) %}
{%-       set schema = answer.get('status') if answer is mapping else 'error' %}
{%-     endif %}
{%-     set plan = salt['glance_upgrade.plan'](hosts, reports, s.image,
          schema_status=schema, **options) %}
{%-   endif %}
{#-   everything but the load balancer, which must keep its drain state #}
{%-   set api_sls = ['glance.precheck', 'glance.config', 'glance.bootstrap',
                     'glance.service', 'glance.cache'] %}
{#-   the applies' pillar: the overrides, and (plan.schema_ready) that the schema
      already suits the target image, so glance_db.current runs no check container #}
{%-   set orchestrated = {'glance': override} %}
{%-   if plan.schema_ready %}
{%-     do orchestrated.update(glance_orchestration={'schema_ready_for': s.image}) %}
{%-   endif %}
{#-   a rolling batch's apply stops its drained container itself (glance_api.stopped) #}
{%-   set stop_first = dict(orchestrated, glance_orchestration=dict(
        orchestrated.get('glance_orchestration', {}), stop_first=true)) %}

glance-orch-upgrade-test-show_notification:
  test.show_notification:
    - text: {{ ('plan: ' ~ plan | json) | json }}

{%-   if plan.refusal %}

glance-orch-upgrade-test-fail_without_changes:
  test.fail_without_changes:
    - name: {{ (plan.refusal ~ ' — nothing was stopped or changed') | json }}
    - failhard: true
{%-   endif %}
{%-   for step in plan.steps if not plan.refusal %}
{%-     set n = loop.index %}
{%-     if step.get('ping_first') %}
{#-       a host that does not answer now is not drained or stopped: the run ends here
          (plan: a drain by health check runs on the host itself; a later batch
          answered the enable before it, the first one the expand on it) #}

glance-orch-upgrade-test-ping-{{ n }}:
  salt.function:
    - name: test.ping
    - tgt: {{ step.hosts | join(',') }}
    - tgt_type: list
    - expect_minions: true
    - failhard: true
{%-     endif %}
{%-     if step.action in ('drain', 'enable') and plan.drain == 'haproxy' %}
{%-       for host in step.hosts %}
{%-         set answer = step.get('answer_hosts', []) if loop.last else [] %}

glance-orch-upgrade-glance_upgrade-lb_{{ step.action }}-{{ n }}-{{ host }}:
  salt.function:
    - name: glance_upgrade.lb_{{ step.action }}
    - tgt: {{ (s.loadbalancer.hosts + answer) | unique | join(',') }}
    - tgt_type: list
    - expect_minions: true
    - arg:
      - {{ host }}
{%-         if answer %}
    - kwarg:
        lb_hosts: {{ s.loadbalancer.hosts | json }}
{%-         endif %}
    - failhard: true
{%-       endfor %}
{%-     elif step.action in ('drain', 'enable') %}
{%-       set function = {'drain': 'drain_by_healthcheck',
                          'enable': 'wait_balancer_up'}[step.action] %}

glance-orch-upgrade-glance_upgrade-{{ function }}-{{ n }}:
  salt.function:
{%-       if step.get('then_drain') %}
    - kwarg:
        then_drain: true
{%-       endif %}
    - name: glance_upgrade.{{ function }}
    - tgt: {{ step.hosts | join(',') }}
    - tgt_type: list
    - expect_minions: true
    - failhard: true
{%-     elif step.action == 'stop' %}

glance-orch-upgrade-glance_upgrade-stop_api-{{ n }}:
  salt.function:
    - name: glance_upgrade.stop_api
    - tgt: {{ step.hosts | join(',') }}
    - tgt_type: list
    - expect_minions: true
    - failhard: true
{%-     elif step.action == 'db' and step.db == ['sync'] %}

glance-orch-upgrade-glance_db-sync-{{ n }}:
  salt.function:
    - name: glance_db.sync
    - tgt: {{ plan.db_node }}
    - expect_minions: true
    - arg:
      - {{ s.image }}
    - failhard: true
{%-     elif step.action == 'db' %}

glance-orch-upgrade-glance_db-upgrade-{{ n }}:
  salt.function:
    - name: glance_db.upgrade
    - tgt: {{ plan.db_node }}
    - expect_minions: true
    - arg:
      - {{ s.image }}
      - {{ step.db | json }}
    - failhard: true
{%-     elif step.action == 'apply' %}

glance-orch-upgrade-salt-state-{{ n }}:
  salt.state:
    - tgt: {{ step.hosts | join(',') }}
    - tgt_type: list
    - sls: {{ api_sls | json }}
    - pillar: {{ (stop_first if step.get('stop_first') else orchestrated) | json }}
    - failhard: true
{%-     endif %}
{%-   endfor %}
{%-   if not plan.refusal %}

{#-   what runs where now: the same table as `salt-run glance.status` #}
glance-orch-upgrade-salt-runner:
  salt.runner:
    - name: glance.status
    - tgt: {{ (hosts + s.loadbalancer.hosts) | unique | join(',') }}
    - tgt_type: list
    - override: {{ override | json }}
{%-   endif %}
{%- endif %}
