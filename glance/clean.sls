include:
  - .config.clean
