{#- The reverse chain: containers, config; data (volumes, database,
    Keystone entries) only with glance_clean_remove_data. #}
include:
  - .cache.clean
  - .loadbalancer.clean
  - .register.clean
  - .service.clean
  - .config.clean
  - .bootstrap.clean
