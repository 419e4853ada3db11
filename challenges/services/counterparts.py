"""Writes on counterparts: what the organisation promised, delivered with proof."""

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext

from accounts.models import AuditEntry, User
from challenges import states
from challenges.models import Counterpart
from challenges.services.challenges import challenge_locked
from challenges.services.lifecycle import counterpart_transition
from core.audit import audit_record
from core.db import atomic_with_retry
from core.permissions import require
from core.transitions import TransitionRefused


@atomic_with_retry
def counterpart_deliver(
    *,
    actor: User,
    challenge_id: int,
    proof_text: str = "",
    proof_url: str = "",
    proof_file: UploadedFile | None = None,
) -> Counterpart:
    """Record that the organisation delivered what it promised, with proof."""
    require(actor, states.COUNTERPART_TRANSITIONS["deliver"].permission)
    challenge = challenge_locked(challenge_id)
    current = Counterpart.objects.filter(challenge=challenge).only("status").first()
    if current is None:
        raise TransitionRefused(gettext("This challenge has no counterpart to deliver."))
    states.check_transition("counterpart", "deliver", current.status)
    if not (proof_text.strip() or proof_url.strip() or proof_file):
        raise ValidationError(
            {"proof_text": [gettext("Give a proof of delivery: a text, a link or a file.")]}
        )
    proof: dict[str, object] = {"proof_text": proof_text.strip(), "proof_url": proof_url.strip()}
    if proof_file:
        proof["proof_file"] = proof_file
    counterpart = counterpart_transition(challenge, "deliver", actor=actor, cause="Delivered", **proof)
    audit_record(AuditEntry.Kind.COUNTERPART_DELIVERED, actor=actor, target=challenge.title)
    assert counterpart is not None  # noqa: S101 - checked above, under the challenge's lock
    return counterpart
