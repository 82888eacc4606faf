"""o2o core: the platform every addon builds on."""
