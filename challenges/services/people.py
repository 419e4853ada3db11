"""What an erased person leaves in challenges: nothing that names them, everything that counts."""

from accounts.models import User
from challenges.models import Contribution, Team


def person_traces_erase(person: User) -> None:
    """Part of an erasure (participants.services.person_erase): the notes the person wrote and their
    captaincy go; their pledges and contributions stay, anonymous, so totals do not change."""
    Team.objects.filter(captain=person).update(captain=None)
    Contribution.objects.filter(user=person).exclude(note="").update(note="")
