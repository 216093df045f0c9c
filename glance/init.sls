{#- Everything: prechecks first, then config (more components follow). #}
include:
  - .precheck
  - .config
