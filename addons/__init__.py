"""Built-in o2o addons. Each is registered through the o2o.addons entry point."""
