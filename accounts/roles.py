"""The roles of an organisation, as groups with permissions.

One table says what each role may do; `roles_sync` makes the groups match it and is safe to run again.
Later capabilities add their permissions here.
"""

from django.contrib.auth.models import Group, Permission
from django.db.models import Q

ORG_ADMIN = "Organisation admin"
EXECUTIVE = "Executive"
PARTICIPANT = "Participant"

# role -> (app_label, codename) pairs
ROLE_PERMISSIONS: dict[str, list[tuple[str, str]]] = {
    ORG_ADMIN: [
        ("accounts", "view_user"),
        ("accounts", "add_user"),
        ("accounts", "change_user"),
        ("accounts", "manage_organization"),
        ("accounts", "view_dashboard"),
    ],
    EXECUTIVE: [
        ("accounts", "view_user"),
        ("accounts", "view_dashboard"),
    ],
    PARTICIPANT: [],
}

ROLES = tuple(ROLE_PERMISSIONS)


def roles_sync() -> dict[str, Group]:
    groups = {}
    for role, perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        query = Q(pk__in=[])
        for app_label, codename in perms:
            query |= Q(content_type__app_label=app_label, codename=codename)
        wanted = list(Permission.objects.filter(query))
        if len(wanted) != len(perms):
            found = {(p.content_type.app_label, p.codename) for p in wanted}
            missing = sorted(set(perms) - found)
            raise LookupError(f"Permissions missing for role {role}: {missing}")
        group.permissions.set(wanted)
        groups[role] = group
    return groups


# The roles by the names the API and the CSV files use.
ROLE_KEYS: dict[str, str] = {"participant": PARTICIPANT, "executive": EXECUTIVE, "admin": ORG_ADMIN}
ROLE_OF_GROUP: dict[str, str] = {group: key for key, group in ROLE_KEYS.items()}
