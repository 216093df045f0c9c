{#- HAProxy in front of the API hosts (kolla's shape: httpchk /healthcheck,
    6 h timeouts), in a container on glance_loadbalancer_hosts. It is what the
    rolling upgrade drains, through its admin socket. #}
{%- set tplroot = tpldir.split('/')[0] %}
{%- from tplroot ~ '/map.jinja' import glance with context %}
{%- set lb = glance.loadbalancer %}
{%- set haproxy = glance.services['glance-haproxy'] %}

include:
  - {{ tplroot }}.precheck

{%- if glance.errors %}
{#- nothing: the precheck has failed and says why #}
{%- elif lb.enabled %}
{%-   for name, file in glance.lb_files | dictsort %}

glance-loadbalancer-file-managed-{{ name }}:
  file.managed:
    - name: {{ lb.service_dir }}/{{ name }}
    - contents: {{ file.contents | json }}
    - mode: '{{ file.mode }}'
    - makedirs: true
    - dir_mode: '0750'
    - require:
      - sls: {{ tplroot }}.precheck
{%-   endfor %}

glance-loadbalancer-docker_image-present:
  docker_image.present:
    - name: {{ haproxy.image }}
    - require:
      - sls: {{ tplroot }}.precheck

glance-loadbalancer-docker_volume-present:
  docker_volume.present:
    - name: {{ lb.socket_volume }}
    - require:
      - sls: {{ tplroot }}.precheck

glance-loadbalancer-docker_container-running:
  docker_container.running:
    - name: {{ haproxy.container_name }}
    - image: {{ haproxy.image }}
    - binds: {{ haproxy.volumes | json }}
    - network_mode: host
    - environment: {{ haproxy.environment | json }}
    - labels: {{ haproxy.labels | json }}
    - restart_policy: unless-stopped
    - require:
      - docker_image: glance-loadbalancer-docker_image-present
      - docker_volume: glance-loadbalancer-docker_volume-present
{%-   for name in glance.lb_files | sort %}
      - file: glance-loadbalancer-file-managed-{{ name }}
{%-   endfor %}

{#- kolla's "wait for haproxy to listen on VIP": the apply returns with a balancer
    clients can reach #}
glance-loadbalancer-glance_api-listening:
  glance_api.listening:
    - name: {{ lb.address | json }}
    - port: {{ lb.port }}
    - container: {{ haproxy.container_name }}
    - require:
      - docker_container: glance-loadbalancer-docker_container-running
{%- endif %}
