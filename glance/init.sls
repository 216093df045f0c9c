{#- Everything, in order: prechecks (nothing changes if they fail), config,
    database, containers. #}
include:
  - .precheck
  - .config
  - .bootstrap
  - .service
  - .loadbalancer
  - .cache
