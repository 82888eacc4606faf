"""Password rules: one place, used by `o2o user create`, the account page and the users
screen. There is no default password anywhere outside demo data."""
from __future__ import annotations

from core.i18n import _

MIN_LENGTH = 10

# The most common choices and anything containing the product's name are refused outright.
COMMON = {
    "password", "password1", "password12", "password123", "passw0rd", "p@ssw0rd", "p@ssword",
    "123456", "1234567", "12345678", "123456789", "1234567890", "0123456789", "987654321",
    "qwerty", "qwertyuiop", "qwerty123", "1q2w3e4r", "1q2w3e4r5t", "abc123", "abcd1234",
    "iloveyou", "letmein", "welcome", "welcome1", "admin", "admin123", "administrator",
    "changeme", "secret", "monkey", "dragon", "football", "baseball", "sunshine", "princess",
    "woaini1314", "aa123456", "a123456", "qq123456", "5201314", "111111", "000000",
}


def password_problem(password: str | None, username: str | None = None) -> str | None:
    """Why ``password`` is not acceptable (a sentence for the user), or None when it is."""
    if not password:
        return _("A password is required.")
    if len(password) < MIN_LENGTH:
        return _("The password is too short: use at least %(n)d characters.", n=MIN_LENGTH)
    lowered = password.lower()
    if lowered in COMMON or lowered.rstrip("!0123456789") in COMMON:
        return _("This password is too common; choose another.")
    if len(set(password)) < 4:
        return _("The password repeats too few different characters.")
    if username and username.lower() in lowered:
        return _("The password must not contain the user name.")
    if "o2o" in lowered and len(lowered) < 16:
        return _("The password must not be built on the product's name.")
    return None


def check_password_strength(password: str | None, username: str | None = None) -> None:
    """Raise ValueError with a user-facing message when the password is weak."""
    problem = password_problem(password, username)
    if problem:
        raise ValueError(problem)
