"""The challenge widget intranets frame: who may frame it, and where its button leads."""

import datetime as dt
import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from challenges.models import Challenge
from participants.models import JoinLink, Widget
from participants.services import join_link_is_active, join_link_path

_ORIGIN = re.compile(r"^https?://[a-z0-9.-]+(:[0-9]{1,5})?$")


def embed_frame_ancestors(embed_origins: Iterable[str]) -> list[str]:
    """The organisation's intranet origins as CSP sources ('none' when there are none).

    Reduced to scheme://host[:port], and anything else dropped, so that no stored value can add a
    directive to the header.
    """
    origins: list[str] = []
    for url in embed_origins:
        parts = urlsplit(url.strip())
        origin = f"{parts.scheme.lower()}://{parts.netloc.lower()}"
        if _ORIGIN.match(origin) and origin not in origins:
            origins.append(origin)
    return origins or ["'none'"]


def widget_join_link(challenge: Challenge, now: dt.datetime | None = None) -> JoinLink | None:
    """The join link an admin chose for this challenge's widget, if it still opens the door."""
    widget = Widget.objects.select_related("join_link").filter(challenge=challenge).first()
    link = widget.join_link if widget is not None else None
    if link is None or link.challenge_id != challenge.pk or not join_link_is_active(link, now):
        return None
    return link


def embed_join_path(challenge: Challenge) -> str | None:
    """Where the widget's button leads when an admin chose a join link for it; None: the challenge
    page, where a visitor signs in. The widget never shows the organisation-wide join link."""
    link = widget_join_link(challenge)
    return join_link_path(link) if link is not None else None
