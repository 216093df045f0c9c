{#- The reverse chain: containers, config; data only with glance_clean_remove_data. #}
include:
  - .cache.clean
  - .loadbalancer.clean
  - .service.clean
  - .config.clean
  - .bootstrap.clean
