"""Admin screens for users, roles and API tokens, and every user's "My account" page."""
from __future__ import annotations

import sqlalchemy as sa
from flask import current_app, flash, redirect, request, url_for
from flask_admin import expose
from flask_admin.form import BaseForm
from flask_login import current_user
from wtforms import PasswordField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from core.admin.views import BaseView, ModelView
from core.auth import describe_permission, permissions
from core.auth.models import ApiToken
from core.auth.passwords import password_problem
from core.db import db
from core.i18n import _, _l, translate

LOCALE_CHOICES = [("", _l("As the browser asks")), ("en", "English"), ("zh_Hans_CN", "简体中文")]


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def permission_choices(app=None) -> list[tuple[str, str]]:
    """Every grantable code: everything, each addon's wildcard, each declared permission."""
    declared = permissions(app)
    manager = (app or current_app).extensions["o2o"]
    choices = [("*", _("Everything (all permissions of every addon)"))]
    for name in manager.enabled:
        codes = sorted(c for c in declared if c.split(".", 1)[0] == name)
        if not codes:
            continue
        choices.append((f"{name}.*", _("Everything in %(addon)s", addon=translate(manager.addon(name).title))))
        for code in codes:
            choices.append((code, f"{describe_permission(code, declared[code])} ({code})"))
    return choices


class RoleView(ModelView):
    """Roles: the permissions are picked from the codes the enabled addons declare."""
    permission = "core.role"
    column_list = ["code", "name", "permissions"]
    column_labels = {"code": _l("Code"), "name": _l("Name"), "permissions": _l("Permissions")}
    column_searchable_list = ["code", "name"]
    column_formatters = {"permissions": lambda v, c, m, n: ", ".join(sorted(m.permission_codes))}
    form_columns = ["code", "name", "granted"]
    form_extra_fields = {"granted": CheckboxesField(_l("Permissions"), choices=[])}

    def _prepare(self, form, obj=None):
        form.granted.choices = permission_choices()
        if request.method == "GET" and obj is not None:
            form.granted.data = sorted(obj.permission_codes)
        return form

    def create_form(self, obj=None):
        return self._prepare(super().create_form(obj))

    def edit_form(self, obj=None):
        return self._prepare(super().edit_form(obj), obj)

    def on_model_change(self, form, model, is_created):
        from core.services.access import set_role_permissions
        # Codes of addons that are disabled now stay granted (they are not on the form).
        set_role_permissions(model, form.granted.data or ())
        super().on_model_change(form, model, is_created)


class UserView(ModelView):
    """Users. Passwords are set through the password field (checked for strength); only a
    superuser may make another user a superuser."""
    permission = "core.user"
    column_list = ["username", "display_name", "email", "active", "is_superuser", "all_stores", "roles",
                   "stores", "locale"]
    column_labels = {
        "username": _l("User name"), "display_name": _l("Name"), "email": _l("E-mail"), "active": _l("Active"),
        "is_superuser": _l("Superuser"), "all_stores": _l("All stores"), "roles": _l("Roles"),
        "stores": _l("Stores"), "locale": _l("Language"), "created_at": _l("Created"), "updated_at": _l("Updated"),
    }
    column_searchable_list = ["username", "display_name", "email"]
    column_filters = ["active", "is_superuser"]
    column_details_exclude_list = ["password_hash"]
    column_export_exclude_list = ["password_hash"]
    form_columns = ["username", "display_name", "email", "new_password", "active", "is_superuser", "all_stores",
                    "roles", "stores", "locale"]
    form_overrides = {"locale": SelectField}
    form_args = {
        "locale": {"choices": LOCALE_CHOICES, "label": _l("Language")},
        "all_stores": {"description": _l("Untick and pick stores to limit the user to them.")},
    }
    form_extra_fields = {"new_password": PasswordField(_l("New password"), validators=[Optional()])}

    def _prepare(self, form):
        if not current_user.is_superuser and "is_superuser" in form:
            del form["is_superuser"]
        return form

    def create_form(self, obj=None):
        return self._prepare(super().create_form(obj))

    def edit_form(self, obj=None):
        return self._prepare(super().edit_form(obj))

    def on_model_change(self, form, model, is_created):
        limited = self.user_store_ids()
        if limited is not None and (model.all_stores or model.is_superuser
                                    or not {s.id for s in model.stores} <= limited):
            raise ValueError(_("You can only give access to your own stores."))
        if model.locale == "":
            model.locale = None
        new_password = form.new_password.data if "new_password" in form else None
        if is_created and not new_password:
            raise ValueError(_("A new user needs a password."))
        if new_password:
            problem = password_problem(new_password, model.username)
            if problem:
                raise ValueError(problem)
            model.set_password(new_password)
        super().on_model_change(form, model, is_created)


class TokenView(ModelView):
    """Every user's API tokens (prefix only: the token itself is never stored)."""
    permission = "core.token"
    allow_create = allow_edit = False
    column_list = ["user", "name", "prefix", "created_at", "expires_at", "last_used_at", "revoked"]
    column_labels = {"user": _l("User"), "name": _l("Name"), "prefix": _l("Prefix"), "created_at": _l("Created"),
                     "expires_at": _l("Expires"), "last_used_at": _l("Last used"), "revoked": _l("Revoked")}
    column_searchable_list = ["name", "prefix"]
    column_filters = ["revoked"]
    column_exclude_list = column_details_exclude_list = column_export_exclude_list = ["token_hash"]
    column_default_sort = ("id", True)


# --- My account ----------------------------------------------------------------------------

class LocaleForm(BaseForm):
    locale = SelectField(_l("Language"), choices=LOCALE_CHOICES)


class PasswordForm(BaseForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired()])
    new = PasswordField(_l("New password"), validators=[DataRequired()])
    repeat = PasswordField(_l("Repeat the new password"), validators=[DataRequired()])


class TokenForm(BaseForm):
    name = StringField(_l("Token name"), validators=[DataRequired(), Length(max=64)])


class AccountView(BaseView):
    """Every logged-in user's own page: language, password, personal API tokens."""

    def is_accessible(self):
        return current_user.is_authenticated

    def is_visible(self):
        return False  # linked from the top bar, not the menu

    def _tokens(self):
        return db.session.scalars(sa.select(ApiToken).where(ApiToken.user_id == current_user.id)
                                  .order_by(ApiToken.id.desc())).all()

    def _render(self, **extra):
        values = dict(locale_form=LocaleForm(data={"locale": current_user.locale or ""}),
                      password_form=PasswordForm(), token_form=TokenForm(), tokens=self._tokens(), new_token=None)
        values.update(extra)
        return self.render("admin/o2o_account.html", **values)

    @expose("/")
    def index(self):
        return self._render()

    @expose("/locale", methods=["POST"])
    def locale(self):
        form = LocaleForm(request.form)
        if form.validate():
            current_user.locale = form.locale.data or None
            db.session.commit()
            flash(_("Your language is saved."), "success")
        return redirect(url_for(".index"))

    @expose("/password", methods=["POST"])
    def password(self):
        form = PasswordForm(request.form)
        if not form.validate():
            flash(_("Fill in every password field."), "error")
            return self._render(password_form=form), 400
        if not current_user.check_password(form.current.data):
            flash(_("The current password is wrong."), "error")
            return self._render(password_form=form), 400
        if form.new.data != form.repeat.data:
            flash(_("The two new passwords differ."), "error")
            return self._render(password_form=form), 400
        problem = password_problem(form.new.data, current_user.username)
        if problem:
            flash(problem, "error")
            return self._render(password_form=form), 400
        current_user.set_password(form.new.data)
        db.session.commit()
        flash(_("Your password is changed."), "success")
        return redirect(url_for(".index"))

    @expose("/tokens", methods=["POST"])
    def create_token(self):
        form = TokenForm(request.form)
        if not form.validate():
            flash(_("Give the token a name (up to 64 characters)."), "error")
            return self._render(token_form=form), 400
        row, clear = ApiToken.issue(current_user._get_current_object(), form.name.data.strip())
        db.session.add(row)
        db.session.commit()
        # Shown in this response only; never stored, never redisplayed.
        return self._render(new_token=clear, new_token_name=row.name)

    @expose("/tokens/<int:token_id>/revoke", methods=["POST"])
    def revoke_token(self, token_id):
        row = db.session.get(ApiToken, token_id)
        if row is None or row.user_id != current_user.id:
            return self._render(), 404
        row.revoked = True
        db.session.commit()
        flash(_("Token “%(name)s” is revoked.", name=row.name), "success")
        return redirect(url_for(".index"))


def auth_views():
    admin = _l("Administration")
    from core.auth.models import ApiToken as Token, Role, User
    return [
        UserView(User, name=_l("Users"), category=admin, endpoint="user"),
        RoleView(Role, name=_l("Roles"), category=admin, endpoint="role"),
        TokenView(Token, name=_l("API tokens"), category=admin, endpoint="apitoken"),
        AccountView(name=_l("My account"), endpoint="account", url="/admin/account"),
    ]
