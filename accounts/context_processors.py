from accounts.roles import Role


def roles(request) -> dict:
    """The signed-in user's roles, for role-aware navigation."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"user_roles": []}
    names = set(user.groups.values_list("name", flat=True))
    return {"user_roles": [role for role in Role if role.value in names]}
