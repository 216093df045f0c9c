{#- The reverse chain: containers, config; data only with glance_clean_remove_data. #}
include:
  - .service.clean
  - .config.clean
  - .bootstrap.clean
