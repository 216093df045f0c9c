{#- Everything, in order: prechecks (nothing changes if they fail), config,
    database, containers, Keystone registration. #}
include:
  - .precheck
  - .config
  - .bootstrap
  - .service
  - .register
  - .loadbalancer
  - .cache
