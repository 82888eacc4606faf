import pytest

from core.plugins import (Addon, AddonManager, DependencyCycle, MissingDependency, dependency_order, discover)


class FakeAddon(Addon):
    def __init__(self, name, depends):
        super().__init__(name, f"fake.{name}", "o2o")
        self._depends = depends

    depends = property(lambda self: self._depends)


def _installed(**deps):
    return {n: FakeAddon(n, d) for n, d in deps.items()}


def test_dependency_order_puts_dependencies_first():
    installed = _installed(core=[], warehouse=["core"], sales=["warehouse"], pos=["sales"], finance=["core"])
    order = dependency_order(installed, ["pos", "finance"])
    assert order.index("core") < order.index("warehouse") < order.index("sales") < order.index("pos")
    assert set(order) == {"core", "warehouse", "sales", "pos", "finance"}


def test_missing_dependency_names_both_addons():
    installed = _installed(core=[], pos=["sales"])
    with pytest.raises(MissingDependency) as err:
        dependency_order(installed, ["pos"])
    assert "pos" in str(err.value) and "sales" in str(err.value)


def test_cycle_names_the_addons():
    installed = _installed(a=["b"], b=["c"], c=["a"])
    with pytest.raises(DependencyCycle) as err:
        dependency_order(installed, ["a"])
    assert all(n in str(err.value) for n in "abc")


def test_builtins_are_discovered_through_entry_points():
    found = discover(include_third_party=False)
    assert {"core", "warehouse", "purchasing", "sales", "pos", "finance"} <= set(found)
    assert found["core"].essential
    assert all(a.builtin for a in found.values())


def test_each_app_has_its_own_plugin_manager(make_app):
    a = make_app(addons=["warehouse"])
    b = make_app(addons=[])
    assert a.extensions["o2o"].pm is not b.extensions["o2o"].pm
    assert "warehouse" in a.extensions["o2o"].enabled
    assert "warehouse" not in b.extensions["o2o"].enabled


def test_misspelled_hook_implementation_is_an_error():
    import types
    import pluggy
    from core.plugins import hookimpl
    mod = types.ModuleType("typo_addon")

    @hookimpl
    def o2o_permisions():  # misspelled on purpose
        return []
    mod.o2o_permisions = o2o_permisions
    installed = discover(include_third_party=False)
    manager = AddonManager(installed, ["core"])
    manager.pm.register(mod, name="typo")
    with pytest.raises(pluggy.PluginValidationError):
        manager.pm.check_pending()
