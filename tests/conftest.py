# Fixtures come from the o2o pytest plugin, core.testing (loaded in pyproject.toml).
