"""Core tables: the master data every addon shares, plus the platform's own state."""
from core.models.system import AddonState, SystemCounter  # noqa: F401
from core.models.master import (  # noqa: F401
    Store, Partner, Category, Unit, Tax, Product,
)
from core.models.sequence import Sequence, SequenceCounter  # noqa: F401
from core.models.audit import AuditLog, Audited  # noqa: F401
from core.auth.models import User, Role, RolePermission, ApiToken, LoginFailure  # noqa: F401
