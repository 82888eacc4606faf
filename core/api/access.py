"""Roles and user-role assignment: what the admin's Users and Roles screens do, for scripts.

Changing roles, and who has them, needs the role-management permission (``core.role.edit``):
whoever may change a role may already give it any permission, so assigning it is no more.
A user limited to some stores sees and changes only users limited to those stores.
"""
from __future__ import annotations

from typing import Annotated

import pydantic
import sqlalchemy as sa
from flask import g

from core.api import ApiBlueprint, Page, RowId, contains, page_of, paginate
from core.auth.models import Role, User
from core.services import access as svc

Code = Annotated[str, pydantic.StringConstraints(strip_whitespace=True, min_length=1, max_length=64,
                                                 pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
PermissionCode = Annotated[str, pydantic.StringConstraints(strip_whitespace=True, min_length=1, max_length=64,
                                                           pattern=r"^(\*|[a-z0-9_]+(\.[a-z0-9_]+)*(\.\*)?)$")]
Name = Annotated[str, pydantic.StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]


class RoleOut(pydantic.BaseModel):
    id: int
    code: str
    name: str
    permissions: list[str] = pydantic.Field(description="permission codes, wildcards as 'addon.*' and '*'")


class RoleIn(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")
    code: Code
    name: Name
    permissions: list[PermissionCode] = pydantic.Field(default_factory=list, max_length=1000)


class RolePatch(pydantic.BaseModel):
    """Only the fields sent are changed; ``permissions`` replaces the whole list."""
    model_config = pydantic.ConfigDict(extra="forbid")
    code: Code | None = None
    name: Name | None = None
    permissions: list[PermissionCode] | None = pydantic.Field(None, max_length=1000)


class RoleQuery(Page):
    q: str | None = pydantic.Field(None, max_length=64, description="code or name contains")


class RoleRef(pydantic.BaseModel):
    id: int
    code: str
    name: str


class UserOut(pydantic.BaseModel):
    id: int
    username: str
    display_name: str | None
    email: str | None
    active: bool
    is_superuser: bool
    all_stores: bool = pydantic.Field(description="false: limited to store_ids")
    store_ids: list[int]
    roles: list[RoleRef]


class UserQuery(Page):
    q: str | None = pydantic.Field(None, max_length=64, description="user name, name or e-mail contains")
    active: bool | None = None
    role_id: RowId | None = pydantic.Field(None, description="only users with this role")


def role_out(role: Role) -> RoleOut:
    return RoleOut(id=role.id, code=role.code, name=role.name, permissions=sorted(role.permission_codes))


def user_out(user: User) -> UserOut:
    return UserOut(id=user.id, username=user.username, display_name=user.display_name, email=user.email,
                   active=user.active, is_superuser=user.is_superuser, all_stores=user.all_stores,
                   store_ids=sorted(s.id for s in user.stores),
                   roles=[RoleRef(id=r.id, code=r.code, name=r.name) for r in sorted(user.roles, key=lambda r: r.code)])


def blueprint() -> ApiBlueprint:
    bp = ApiBlueprint("core_access", __name__)

    # roles ---------------------------------------------------------------------------
    @bp.endpoint("/roles", permission="core.role.read", query=RoleQuery, response=page_of(RoleOut),
                 summary="List roles with their permissions", tags=["roles"])
    def list_roles(query: RoleQuery):
        stmt = sa.select(Role).order_by(Role.code)
        if query.q:
            stmt = stmt.where(contains(query.q, Role.code, Role.name))
        return paginate(stmt, query, role_out)

    @bp.endpoint("/roles/<int:role_id>", permission="core.role.read", response=RoleOut,
                 summary="Get a role", tags=["roles"])
    def get_role(role_id: int):
        return role_out(svc.get_role(role_id))

    @bp.endpoint("/roles", methods=["POST"], permission="core.role.create", body=RoleIn, response=RoleOut,
                 status=201, summary="Create a role with permissions", tags=["roles"])
    def create_role(body: RoleIn):
        return role_out(svc.create_role(body.code, body.name, body.permissions))

    @bp.endpoint("/roles/<int:role_id>", methods=["PATCH"], permission="core.role.edit", body=RolePatch,
                 response=RoleOut, summary="Change a role (code, name, the whole permission list)", tags=["roles"])
    def update_role(role_id: int, body: RolePatch):
        role = svc.get_role(role_id)
        data = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None}
        return role_out(svc.update_role(role, data))

    # users ---------------------------------------------------------------------------
    @bp.endpoint("/users", permission="core.user.read", query=UserQuery, response=page_of(UserOut),
                 summary="List the users you may manage, with their roles", tags=["users"])
    def list_users(query: UserQuery):
        stmt = svc.visible_users(g.api_user).order_by(User.username)
        if query.q:
            stmt = stmt.where(contains(query.q, User.username, User.display_name, User.email))
        if query.active is not None:
            stmt = stmt.where(User.active == query.active)
        if query.role_id is not None:
            stmt = stmt.where(User.roles.any(Role.id == query.role_id))
        return paginate(stmt, query, user_out)

    @bp.endpoint("/users/<int:user_id>", permission="core.user.read", response=UserOut,
                 summary="Get a user with their roles", tags=["users"])
    def get_user(user_id: int):
        return user_out(svc.get_user(user_id, g.api_user))

    @bp.endpoint("/users/<int:user_id>/roles/<int:role_id>", methods=["PUT"], permission="core.role.edit",
                 response=UserOut, summary="Give a user a role (nothing changes if they have it)", tags=["users"])
    def assign_role(user_id: int, role_id: int):
        user = svc.get_user(user_id, g.api_user)
        return user_out(svc.assign_role(user, svc.get_role(role_id), g.api_user))

    @bp.endpoint("/users/<int:user_id>/roles/<int:role_id>", methods=["DELETE"], permission="core.role.edit",
                 response=UserOut, summary="Take a role from a user", tags=["users"])
    def unassign_role(user_id: int, role_id: int):
        user = svc.get_user(user_id, g.api_user)
        return user_out(svc.unassign_role(user, svc.get_role(role_id), g.api_user))

    return bp
