"""The organisation's settings page (/manage/organization/) and its logo.

Admins change the settings, each field checked with a message next to it, a refused form changing
nothing; executives read; everyone's pages carry the logo; another organisation's logo is never
served; every change is in the audit trail with its old and new value.
"""

import io
import re
from typing import Any

import pytest
from django.core.mail import EmailMultiAlternatives
from django.test import Client
from django_tenants.utils import tenant_context
from PIL import Image

from accounts.models import AuditEntry
from accounts.roles import EXECUTIVE, ORG_ADMIN, PARTICIPANT
from tenants.models import Organization
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _image(fmt: str, size: tuple[int, int] = (64, 32), exif: bool = False) -> io.BytesIO:
    buffer = io.BytesIO()
    image = Image.new("RGB", size, (200, 30, 30))
    if exif:
        data = image.getexif()
        data[0x010E] = "secret description"  # ImageDescription
        data[0x013B] = "Jane Photographer"  # Artist
        image.save(buffer, format=fmt, exif=data)
    else:
        image.save(buffer, format=fmt)
    buffer.seek(0)
    buffer.name = f"logo.{fmt.lower()}"
    return buffer


def _post(client: Client, organization: Organization, **changes: object) -> Any:
    data: dict[str, object] = {
        "name": organization.name,
        "locale": organization.locale,
        "timezone": organization.timezone,
        "headcount": organization.headcount or "",
        "allowed_email_domains": "\n".join(organization.allowed_email_domains),
        "embed_origins": "\n".join(organization.embed_origins),
        "brand_color": organization.brand_color,
    }
    data.update(changes)
    return client.post("/manage/organization/", data)


@pytest.fixture
def admin_page(org_a: Organization, client_a: Client) -> Client:
    with tenant_context(org_a):
        client_a.force_login(UserFactory.create(email="settings.admin@alpha.test", role=ORG_ADMIN))
    return client_a


def _reload(organization: Organization) -> Organization:
    return Organization.objects.get(pk=organization.pk)


def test_an_admin_changes_the_settings_and_the_trail_records_old_and_new(admin_page, org_a):
    response = _post(
        admin_page,
        org_a,
        name="Alpha Group",
        locale="fr",
        timezone="America/Montreal",
        headcount="1200",
        allowed_email_domains="Alpha.test\n@alpha-partners.test\nalpha.test",
        embed_origins="https://Intranet.alpha.test/home",
        brand_color="#1f4e79",
    )

    assert response.status_code == 302
    saved = _reload(org_a)
    assert (saved.name, saved.locale, saved.timezone, saved.headcount) == (
        "Alpha Group",
        "fr",
        "America/Montreal",
        1200,
    )
    assert saved.allowed_email_domains == ["alpha.test", "alpha-partners.test"]
    assert saved.embed_origins == ["https://intranet.alpha.test"]
    assert saved.brand_color == "#1F4E79"
    with tenant_context(org_a):
        entry = AuditEntry.objects.get(kind="settings_changed")
        changes = {change["field"]: (change["old"], change["new"]) for change in entry.changes}
        assert changes["name"] == ("Alpha Corp", "Alpha Group")
        assert changes["headcount"] == (None, 1200)
        assert entry.actor is not None
        assert entry.actor.email == "settings.admin@alpha.test"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", " ", "This field is required."),
        ("headcount", "0", "Ensure this value is greater than or equal to 1."),
        ("brand_color", "#FFFF00", "contrast of 1.07:1"),
        ("allowed_email_domains", "not a domain", "is not a domain name"),
        ("embed_origins", "javascript:alert(1)", "is not a web address of an intranet"),
        ("timezone", "Mars/Olympus", "Select a valid choice."),
    ],
)
def test_a_bad_field_gets_its_message_next_to_it_and_changes_nothing(
    admin_page, org_a, field, value, message
):
    before = Organization.objects.filter(pk=org_a.pk).values().get()

    response = _post(admin_page, org_a, **{"headcount": "99", field: value})

    assert response.status_code == 200
    page = response.content.decode()
    assert message in page.replace("&#x27;", "'")
    assert re.search(rf'id="id_{field}_error"|id="id_{field}"[^>]*aria-invalid="true"', page)
    assert Organization.objects.filter(pk=org_a.pk).values().get() == before


def test_a_logo_is_re_encoded_without_its_metadata_shrunk_and_shown_on_every_page(
    admin_page, org_a, client_b
):
    big = _image("JPEG", size=(2400, 1200), exif=True)

    assert _post(admin_page, org_a, logo=big).status_code == 302

    saved = _reload(org_a)
    assert re.fullmatch(r"branding/logo-[0-9a-f]{16}\.jpg", saved.logo.name or "")
    with tenant_context(org_a), saved.logo.open("rb") as stored:
        image = Image.open(io.BytesIO(stored.read()))
        assert image.format == "JPEG"
        assert max(image.size) == 1000
        assert dict(image.getexif()) == {}
    page = admin_page.get("/").content.decode()
    assert f'src="/branding/{saved.logo_filename}"' in page
    served = admin_page.get(f"/branding/{saved.logo_filename}")
    assert served.status_code == 200
    assert served["Content-Type"] == "image/jpeg"
    # Another organisation's host serves its own logo only, never this one
    assert client_b.get(f"/branding/{saved.logo_filename}").status_code == 404


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (
            io.BytesIO(
                b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>x</script></svg>'
            ),
            "SVG logos are not accepted",
        ),
        (io.BytesIO(b"GIF89a" + b"\x00" * 100), "not an image we can read"),
        (io.BytesIO(b"%PDF-1.4 not an image"), "not an image we can read"),
        (io.BytesIO(b"\x89PNG" + b"\x00" * (1024 * 1024 + 10)), "larger than 1 MB"),
    ],
)
def test_a_logo_that_is_not_a_png_jpeg_or_webp_is_refused(admin_page, org_a, upload, message):
    upload.name = "logo.png"

    response = _post(admin_page, org_a, logo=upload)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not _reload(org_a).logo


def test_png_and_webp_keep_their_format_and_the_logo_can_be_removed(admin_page, org_a):
    _post(admin_page, org_a, logo=_image("PNG"))
    assert (_reload(org_a).logo.name or "").endswith(".png")
    _post(admin_page, org_a, logo=_image("WEBP"))
    webp = _reload(org_a)
    assert (webp.logo.name or "").endswith(".webp")

    _post(admin_page, org_a, remove_logo="on")

    assert not _reload(org_a).logo
    assert admin_page.get(f"/branding/{webp.logo_filename}").status_code == 404


@pytest.mark.parametrize("role", [EXECUTIVE, PARTICIPANT])
def test_executives_read_the_settings_and_nobody_but_an_admin_changes_them(org_a, client_a, role):
    with tenant_context(org_a):
        client_a.force_login(UserFactory.create(role=role))
    before = Organization.objects.filter(pk=org_a.pk).values().get()

    page = client_a.get("/manage/organization/")
    posted = _post(client_a, org_a, name="Taken over")

    if role == EXECUTIVE:
        assert page.status_code == 200
        assert "Only an organisation admin can change these settings." in page.content.decode()
        assert 'name="brand_color"' not in page.content.decode()
    else:
        assert page.status_code == 403
    assert posted.status_code in (403, 404)
    assert Organization.objects.filter(pk=org_a.pk).values().get() == before


def test_the_organisations_e_mails_carry_its_colour_and_logo(
    admin_page, org_a, django_capture_on_commit_callbacks
):
    from django.core import mail

    _post(admin_page, org_a, brand_color="#7A1F5C", logo=_image("PNG"))
    saved = _reload(org_a)
    mail.outbox = []
    with django_capture_on_commit_callbacks(execute=True):
        admin_page.post("/manage/people/invite/", {"email": "branded@alpha.test", "role": "participant"})

    message = mail.outbox[0]
    assert isinstance(message, EmailMultiAlternatives)
    html, content_type = message.alternatives[0]
    assert isinstance(html, str)
    assert content_type == "text/html"
    assert "background:#7A1F5C" in html
    assert f'src="http://alpha.localhost/branding/{saved.logo_filename}"' in html
    assert "Alpha Corp" in html
    assert "/account/invitation/" in message.body  # the text version holds the same link
