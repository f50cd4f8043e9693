from accounts.roles import Role
from accounts.second_factor import second_factor_required


def roles(request) -> dict:
    """The signed-in user's roles, for role-aware navigation."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"user_roles": [], "second_factor_pending": False}
    names = set(user.groups.values_list("name", flat=True))
    return {
        "user_roles": [role for role in Role if role.value in names],
        # Signed in with the password, the code still to come: no navigation to offer.
        "second_factor_pending": (
            not getattr(user, "is_verified", lambda: False)() and second_factor_required(user)
        ),
    }
