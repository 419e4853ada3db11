"""Self-service sign-up on the public site (/signup/): the form, its limits, the confirmation link, the
provisioning in the background with its progress, and the hand-over, signed in, to the new
organisation's host, up to a first challenge published there.

Background work runs inline (CELERY_TASK_ALWAYS_EAGER) once the transaction "commits":
`django_capture_on_commit_callbacks(execute=True)` runs what the request queued on commit, and what
that queued in turn (the provisioning, then the admin's e-mail).
"""

import datetime as dt
import html
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.core import mail
from django.core.cache import caches
from django.core.mail import EmailMultiAlternatives
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_exists, tenant_context

from accounts.models import User
from accounts.roles import ORG_ADMIN
from challenges.models import Challenge
from participants.models import SignInLink
from tenants import signup as signups
from tenants.models import Domain, Organization, SignupRequest
from tenants.services import organization_create

pytestmark = pytest.mark.django_db

Status, Failure = SignupRequest.Status, SignupRequest.Failure

FORM = {
    "organization_name": "Gamma Works",
    "slug": "gamma-works",
    "kind": "company",
    "locale": "en",
    "person_name": "Gail Green",
    "email": "Gail@Gamma.test",
    "consent": "on",
}


def _page(response: Any) -> str:
    return html.unescape(response.content.decode())


def _error_next_to(response: Any, field_id: str) -> str:
    """The error list rendered for a field, which its input (or fieldset) names in aria-describedby."""
    page = response.content.decode()
    errors = re.search(rf'<ul class="errorlist" id="{field_id}_error">(.*?)</ul>', page, re.S)
    assert errors, f"no error shown next to {field_id}"
    described = re.search(rf'<(?:input|select|fieldset)[^>]*aria-describedby="[^"]*{field_id}_error', page)
    assert described, f"nothing points to the error of {field_id}"
    return html.unescape(errors.group(1))


def _state() -> dict[str, Any]:
    """Everything a sign-up may write, to assert that a refused one wrote nothing."""
    return {
        "signups": list(SignupRequest.objects.order_by("pk").values_list("pk", "slug", "status")),
        "organizations": Organization.objects.count(),
        "mails": len(mail.outbox),
    }


def _sign_up(client: Client, capture: Any, **overrides: str) -> Any:
    with capture(execute=True):
        return client.post("/signup/", {**FORM, **overrides})


def _key_of(message: Any) -> str:
    url = re.search(r"http://localhost/signup/confirm/\?key=[A-Za-z0-9_-]+", message.body)
    assert url, message.body
    return parse_qs(urlsplit(url.group(0)).query)["key"][0]


def _confirm(client: Client, capture: Any, key: str, *, execute: bool = True) -> Any:
    with capture(execute=execute):
        return client.post("/signup/confirm/", {"key": key})


def _signed_up(client: Client, capture: Any, **overrides: str) -> str:
    """Send the form; return the secret of the link e-mailed."""
    response = _sign_up(client, capture, **overrides)
    assert response.status_code == 302, _page(response)
    return _key_of(mail.outbox[-1])


def _challenge_form() -> dict[str, str]:
    """A participants challenge starting tomorrow, ending in a month, in the organisation's time zone."""
    start = timezone.localtime() + dt.timedelta(days=1)
    end = start + dt.timedelta(days=30)
    return {
        "template_key": "",
        "title": "One organic product a week",
        "description": "",
        "action": "I buy one organic product a week",
        "category": "consumption",
        "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
        "deadline": end.strftime("%Y-%m-%dT%H:%M"),
        "goal_kind": "participants",
        "goal_target": "20",
        "metric": "",
        "counterpart_description": "",
        "counterpart_amount": "",
        "counterpart_currency": "",
        "counterpart_due_date": "",
        "slots-TOTAL_FORMS": "0",
        "slots-INITIAL_FORMS": "0",
        "slots-MIN_NUM_FORMS": "0",
        "slots-MAX_NUM_FORMS": "50",
    }


# The form ---------------------------------------------------------------------------------------------


def test_the_landing_page_leads_to_the_sign_up_form(public_client):
    landing = _page(public_client.get("/"))
    assert 'href="/signup/"' in landing
    assert "Start free" in landing

    response = public_client.get("/signup/")

    page = _page(response)
    assert response.status_code == 200
    for name in ("organization_name", "slug", "person_name", "email", "consent"):
        assert f'name="{name}"' in page
    assert 'type="radio" name="kind" value="municipality"' in page
    assert '<option value="fr">Français</option>' in page
    assert "https://your-address.localhost" in page


def test_a_good_form_stores_a_pending_sign_up_and_emails_a_link_whose_hash_only_is_kept(
    public_client, django_capture_on_commit_callbacks
):
    # When a CSR manager sends the form
    response = _sign_up(public_client, django_capture_on_commit_callbacks)

    # Then they are told to look in their inbox, where a link is waiting
    assert response.status_code == 302
    assert response["Location"] == "/signup/sent/"
    sent = _page(public_client.get("/signup/sent/"))
    assert "Check your inbox" in sent
    assert "gail@gamma.test" in sent
    assert "gamma-works.localhost" in sent
    signup = SignupRequest.objects.get()
    assert (signup.status, signup.slug, signup.email, signup.person_name) == (
        Status.PENDING,
        "gamma-works",
        "gail@gamma.test",
        "Gail Green",
    )
    lifetime = signup.expires_at - signup.created_at
    assert dt.timedelta(hours=23, minutes=59) < lifetime <= dt.timedelta(hours=24)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["gail@gamma.test"]
    assert "Confirm your address to create Gamma Works" in message.subject
    assert "within 24 hours" in message.body
    assert isinstance(message, EmailMultiAlternatives)
    assert message.alternatives
    assert "text/html" in message.alternatives[0][1]
    key = _key_of(message)
    assert signup.key_hash == signups.secret_hash(key)
    assert key not in str(SignupRequest.objects.values().get())
    # Nothing is made before the address is confirmed
    assert not Organization.objects.filter(schema_name="gamma-works").exists()


def test_the_e_mail_is_in_the_language_of_the_pages(public_client, django_capture_on_commit_callbacks):
    public_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "fr"

    _sign_up(public_client, django_capture_on_commit_callbacks, locale="fr")

    assert "Confirmez votre adresse pour créer Gamma Works" in mail.outbox[0].subject
    assert SignupRequest.objects.get().language == "fr"


def test_an_empty_address_is_made_from_the_organisations_name(
    public_client, django_capture_on_commit_callbacks
):
    response = _sign_up(
        public_client, django_capture_on_commit_callbacks, organization_name="Ville de Besançon", slug=""
    )

    assert response.status_code == 302
    assert SignupRequest.objects.get().slug == "ville-de-besancon"


def test_an_address_typed_in_capitals_is_taken_in_lower_case(
    public_client, django_capture_on_commit_callbacks
):
    _sign_up(public_client, django_capture_on_commit_callbacks, slug=" Gamma-Works ")

    assert SignupRequest.objects.get().slug == "gamma-works"


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"slug": "alpha"}, "slug", "This address is taken: choose another one."),
        ({"slug": "admin"}, "slug", "This address is reserved for Crowdact: choose another one."),
        ({"slug": "www"}, "slug", "This address is reserved for Crowdact: choose another one."),
        ({"slug": "pg-catalog"}, "slug", "This address is reserved for Crowdact: choose another one."),
        ({"slug": "under_score"}, "slug", "Use 2 to 63 lower-case letters"),
        ({"slug": "-dash"}, "slug", "Use 2 to 63 lower-case letters"),
        ({"slug": "é" * 3}, "slug", "Use 2 to 63 lower-case letters"),
        ({"slug": "", "organization_name": "Alpha"}, "slug", "This address is taken"),
        ({"email": "not-an-address"}, "email", "Enter a valid email address."),
        ({"email": ""}, "email", "This field is required."),
        ({"consent": ""}, "consent", "Tick this box to accept the terms of use."),
        ({"organization_name": "  "}, "organization_name", "This field is required."),
        ({"organization_name": "x" * 201}, "organization_name", "at most 200 characters"),
        ({"person_name": ""}, "person_name", "This field is required."),
        ({"kind": "club"}, "kind", "Select a valid choice."),
        ({"locale": "de"}, "locale", "Select a valid choice."),
    ],
)
def test_a_bad_field_gets_a_message_next_to_it_and_changes_nothing(
    public_client, django_capture_on_commit_callbacks, overrides, field, message
):
    before = _state()

    response = _sign_up(public_client, django_capture_on_commit_callbacks, **overrides)

    assert response.status_code == 200
    assert message in _error_next_to(response, f"id_{field}")
    assert "Please correct these errors" in _page(response)
    assert _state() == before


def test_every_bad_field_shows_at_once(public_client, django_capture_on_commit_callbacks):
    response = _sign_up(
        public_client, django_capture_on_commit_callbacks, slug="alpha", email="nope", consent=""
    )

    assert "This address is taken" in _error_next_to(response, "id_slug")
    assert "valid email" in _error_next_to(response, "id_email")
    assert "Tick this box" in _error_next_to(response, "id_consent")
    assert not SignupRequest.objects.exists()


def test_an_address_suggested_from_a_taken_name_is_shown_with_its_message(
    public_client, django_capture_on_commit_callbacks
):
    response = _sign_up(public_client, django_capture_on_commit_callbacks, organization_name="Alpha", slug="")

    assert 'name="slug" value="alpha"' in _page(response)
    assert "This address is taken" in _error_next_to(response, "id_slug")


def test_an_address_held_by_a_pending_sign_up_is_taken_until_it_expires(
    public_client, django_capture_on_commit_callbacks
):
    # Given a sign-up for gamma-works, not yet confirmed
    _signed_up(public_client, django_capture_on_commit_callbacks)
    other = Client(HTTP_HOST=settings.BASE_DOMAIN, REMOTE_ADDR="10.0.0.2")

    # When someone else asks for the same address
    refused = _sign_up(other, django_capture_on_commit_callbacks, email="someone@else.test")

    # Then it is taken
    assert "This address is taken" in _error_next_to(refused, "id_slug")
    assert SignupRequest.objects.count() == 1

    # And once the first sign-up's link has expired, the address is free again
    SignupRequest.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    accepted = _sign_up(other, django_capture_on_commit_callbacks, email="someone@else.test")
    assert accepted.status_code == 302
    assert list(SignupRequest.objects.order_by("pk").values_list("status", flat=True)) == [
        Status.EXPIRED,
        Status.PENDING,
    ]


def test_the_answer_does_not_say_whether_an_address_already_runs_an_organisation(
    public_client, django_capture_on_commit_callbacks
):
    # admin@alpha.test is the admin of Alpha; nobody@nowhere.test is nobody
    known = _sign_up(public_client, django_capture_on_commit_callbacks, email="admin@alpha.test")
    known_page = _page(public_client.get("/signup/sent/"))
    stranger = Client(HTTP_HOST=settings.BASE_DOMAIN)
    unknown = _sign_up(
        stranger, django_capture_on_commit_callbacks, email="nobody@nowhere.test", slug="delta"
    )
    unknown_page = _page(stranger.get("/signup/sent/"))

    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"]
    assert known_page.replace("admin@alpha.test", "X").replace("gamma-works", "Y") == unknown_page.replace(
        "nobody@nowhere.test", "X"
    ).replace("delta", "Y")
    assert len(mail.outbox) == 2


# Rate limits ------------------------------------------------------------------------------------------


def test_a_client_may_send_five_sign_ups_an_hour(public_client, django_capture_on_commit_callbacks):
    for number in range(5):
        response = _sign_up(
            public_client, django_capture_on_commit_callbacks, slug=f"org-{number}", email=f"p{number}@x.test"
        )
        assert response.status_code == 302
    before = _state()

    response = _sign_up(public_client, django_capture_on_commit_callbacks, slug="org-6", email="p6@x.test")

    assert response.status_code == 429
    assert response["Retry-After"] == "3600"
    assert "Please wait 60 minutes and try again." in _page(response)
    assert _state() == before


def test_an_address_may_be_signed_up_three_times_an_hour_from_anywhere(django_capture_on_commit_callbacks):
    for number in range(3):
        client = Client(HTTP_HOST=settings.BASE_DOMAIN, REMOTE_ADDR=f"10.0.1.{number}")
        assert _sign_up(client, django_capture_on_commit_callbacks, slug=f"org-{number}").status_code == 302
    before = _state()

    client = Client(HTTP_HOST=settings.BASE_DOMAIN, REMOTE_ADDR="10.0.1.9")
    response = _sign_up(client, django_capture_on_commit_callbacks, slug="org-9", email="GAIL@gamma.test")

    assert response.status_code == 429
    assert "Sign-ups have been sent too often" in _page(response)
    assert _state() == before


def test_forms_sent_again_and_again_are_limited_too(public_client, django_capture_on_commit_callbacks):
    for _attempt in range(signups.ATTEMPTS_PER_CLIENT.requests):
        assert _sign_up(public_client, django_capture_on_commit_callbacks, consent="").status_code == 200

    response = _sign_up(public_client, django_capture_on_commit_callbacks)

    assert response.status_code == 429
    assert not SignupRequest.objects.exists()


# The confirmation link --------------------------------------------------------------------------------


def test_opening_the_link_shows_a_button_and_confirms_nothing(
    public_client, django_capture_on_commit_callbacks
):
    key = _signed_up(public_client, django_capture_on_commit_callbacks)

    response = public_client.get("/signup/confirm/", {"key": key})

    page = _page(response)
    assert response.status_code == 200
    assert "Gamma Works" in page
    assert "gamma-works.localhost" in page
    assert "Confirm and create my space" in page
    assert SignupRequest.objects.get().status == Status.PENDING


def test_the_link_confirms_once(public_client, django_capture_on_commit_callbacks):
    # Given a sign-up confirmed in one browser (its provisioning queued, not run here)
    key = _signed_up(public_client, django_capture_on_commit_callbacks)
    response = _confirm(public_client, django_capture_on_commit_callbacks, key, execute=False)
    assert response.status_code == 302
    assert response["Location"] == "/signup/progress/"
    signup = SignupRequest.objects.get()
    assert signup.status == Status.CONFIRMED
    assert signup.confirmed_at is not None

    # When the link is used again from another browser
    other = Client(HTTP_HOST=settings.BASE_DOMAIN)
    again = _confirm(other, django_capture_on_commit_callbacks, key, execute=False)

    # Then it is refused, and changes nothing
    assert again.status_code == 410
    assert "This confirmation link has already been used" in _page(again)
    assert other.get("/signup/progress/").status_code == 404
    signup.refresh_from_db()
    assert (signup.status, signup.attempts) == (Status.CONFIRMED, 0)
    # The same browser is taken to where its sign-up stands
    assert public_client.get("/signup/confirm/", {"key": key})["Location"] == "/signup/progress/"


def test_an_expired_link_confirms_nothing(public_client, django_capture_on_commit_callbacks):
    key = _signed_up(public_client, django_capture_on_commit_callbacks)
    SignupRequest.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))

    opened = public_client.get("/signup/confirm/", {"key": key})
    sent = _confirm(public_client, django_capture_on_commit_callbacks, key)

    assert opened.status_code == sent.status_code == 410
    assert "This confirmation link has expired" in _page(sent)
    assert SignupRequest.objects.get().status == Status.PENDING
    assert not Organization.objects.filter(schema_name="gamma-works").exists()


@pytest.mark.parametrize("key", ["", "no-such-confirmation-key-0123456789", "%00", "x" * 3000, "é", "a b"])
def test_an_unknown_or_odd_key_is_not_found(public_client, django_capture_on_commit_callbacks, key):
    _signed_up(public_client, django_capture_on_commit_callbacks)

    opened = public_client.get("/signup/confirm/", {"key": key})
    sent = _confirm(public_client, django_capture_on_commit_callbacks, key)

    assert opened.status_code == sent.status_code == 404
    assert "This confirmation link does not exist" in _page(sent)
    assert SignupRequest.objects.get().status == Status.PENDING


def test_the_e_mail_is_not_sent_for_a_secret_that_does_not_match(
    public_client, django_capture_on_commit_callbacks
):
    _signed_up(public_client, django_capture_on_commit_callbacks)
    signup = SignupRequest.objects.get()

    assert not signups.signup_confirmation_send(signup_id=signup.pk, secret="not-the-secret-at-all-0123")
    assert len(mail.outbox) == 1


# Provisioning, progress and the hand-over -------------------------------------------------------------


def test_sign_up_to_a_first_published_challenge(public_client, django_capture_on_commit_callbacks):
    # Given a confirmed sign-up, whose provisioning runs in the background
    key = _signed_up(public_client, django_capture_on_commit_callbacks)
    response = _confirm(public_client, django_capture_on_commit_callbacks, key)
    assert response["Location"] == "/signup/progress/"

    # Then the organisation exists, on Discovery, with the person as its admin
    signup = SignupRequest.objects.get()
    assert (signup.status, signup.step, signup.attempts) == (Status.READY, "ready", 1)
    organization = Organization.objects.get(schema_name="gamma-works")
    assert signup.organization == organization
    assert (organization.name, organization.kind, organization.locale, organization.plan) == (
        "Gamma Works",
        "company",
        "en",
        Organization.Plan.DISCOVERY,
    )
    assert Domain.objects.get(tenant=organization).domain == "gamma-works.localhost"
    with tenant_context(organization):
        admin = User.objects.get()
        assert admin.email == "gail@gamma.test"
        assert list(admin.groups.values_list("name", flat=True)) == [ORG_ADMIN]
    # and they have the provisioning's e-mail with a link to choose a password
    assert any("/account/set-password/" in message.body for message in mail.outbox)

    # When the browser that confirmed opens the progress page
    progress = public_client.get("/signup/progress/")

    # Then it is sent to the organisation's host with a one-time sign-in link
    assert progress.status_code == 302
    handover = urlsplit(progress["Location"])
    assert (handover.scheme, handover.netloc) == ("http", "gamma-works.localhost")
    assert re.fullmatch(r"/account/welcome/[A-Za-z0-9_-]{40,}/", handover.path)
    with tenant_context(organization):
        link = SignInLink.objects.get()
        assert link.email == "gail@gamma.test"
        assert link.expires_at - link.created_at <= dt.timedelta(minutes=15)
    host = Client(HTTP_HOST="gamma-works.localhost")
    welcome = host.get(handover.path)
    assert welcome.status_code == 200
    assert "Welcome to Gamma Works on Crowdact" in _page(welcome)
    assert not welcome.wsgi_request.user.is_authenticated
    landed = host.post(handover.path)
    assert landed.status_code == 302
    assert landed["Location"] == "/manage/challenges/new/"

    # And they land signed in as the organisation's admin, named as they said
    page = host.get("/manage/challenges/new/")
    assert page.status_code == 200
    assert "Start with your first challenge" in _page(page)
    assert getattr(page.wsgi_request.user, "email", None) == "gail@gamma.test"
    with tenant_context(organization):
        assert User.objects.get().display_name == "Gail Green"

    # And they create and publish their first challenge
    created = host.post("/manage/challenges/new/", _challenge_form())
    assert created.status_code == 302, _page(created)
    with tenant_context(organization):
        challenge = Challenge.objects.get()
    published = host.post(f"/manage/challenges/{challenge.pk}/publish/")
    assert published.status_code == 302
    with tenant_context(organization):
        challenge.refresh_from_db()
        assert challenge.status == Challenge.Status.OPEN


def test_the_hand_over_works_once(public_client, django_capture_on_commit_callbacks):
    key = _signed_up(public_client, django_capture_on_commit_callbacks)
    _confirm(public_client, django_capture_on_commit_callbacks, key)
    handover = urlsplit(public_client.get("/signup/progress/")["Location"]).path
    host = Client(HTTP_HOST="gamma-works.localhost")
    assert host.post(handover).status_code == 302

    # The link is spent, on any browser
    again = Client(HTTP_HOST="gamma-works.localhost").post(handover)
    assert again.status_code == 410
    assert not again.wsgi_request.user.is_authenticated

    # And the progress page hands over no second time: it says where the space is
    later = public_client.get("/signup/progress/")
    assert later.status_code == 200
    page = _page(later)
    assert "Your space is ready" in page
    assert 'href="http://gamma-works.localhost/account/sign-in/"' in page
    assert "Refresh" not in later
    organization = Organization.objects.get(schema_name="gamma-works")
    with tenant_context(organization):
        assert SignInLink.objects.count() == 1


def test_a_welcome_link_of_another_organisation_means_nothing_here(
    public_client, django_capture_on_commit_callbacks, client_a
):
    key = _signed_up(public_client, django_capture_on_commit_callbacks)
    _confirm(public_client, django_capture_on_commit_callbacks, key)
    handover = urlsplit(public_client.get("/signup/progress/")["Location"]).path

    response = client_a.post(handover)

    assert response.status_code == 404
    assert not response.wsgi_request.user.is_authenticated


def test_the_progress_page_refreshes_itself_while_the_space_is_prepared(
    public_client, django_capture_on_commit_callbacks
):
    # Given a confirmed sign-up whose provisioning has not started
    key = _signed_up(public_client, django_capture_on_commit_callbacks)
    _confirm(public_client, django_capture_on_commit_callbacks, key, execute=False)

    waiting = public_client.get("/signup/progress/")

    page = _page(waiting)
    assert waiting.status_code == 200
    assert waiting["Refresh"] == "2"
    assert "Preparing your space" in page
    assert "will be prepared in a moment" in page
    assert page.count("to come") == 3
    assert 'href="/signup/progress/?refresh=off">Stop refreshing' in page
    assert 'href="/signup/progress/">Check again now' in page

    # When it is half-way: the schema is migrated, the library is being installed
    signup = SignupRequest.objects.get()
    SignupRequest.objects.filter(pk=signup.pk).update(status=Status.PROVISIONING, step="space")
    caches["shared"].set(f"signup:{signup.pk}:step", "library")
    running = _page(public_client.get("/signup/progress/"))
    assert re.search(r"Creating your space\s*— <span[^>]*>done<", running)
    assert re.search(
        r'aria-current="step">\s*Setting up your challenge library\s*— <span[^>]*>in progress<', running
    )
    assert re.search(r"Ready\s*— <span[^>]*>to come<", running)

    # And a person who asks it to stop refreshing gets a link to look again by hand
    still = public_client.get("/signup/progress/", {"refresh": "off"})
    assert "Refresh" not in still
    assert 'href="/signup/progress/?refresh=off">Check again now' in _page(still)
    assert 'href="/signup/progress/">Refresh it automatically' in _page(still)


def test_the_steps_are_reported_from_inside_the_provisioning(
    public_client, django_capture_on_commit_callbacks, settings
):
    """The library step is reported once the new schema is migrated, before the transaction commits."""
    seen: list[list[tuple[str, str]]] = []

    def watch(provisioning: Any) -> None:
        signup = SignupRequest.objects.get(slug=provisioning.organization.schema_name)
        seen.append([(step.key, step.state) for step in signups.signup_progress(signup).steps])

    settings.ORGANIZATION_SETUP = [*settings.ORGANIZATION_SETUP, f"{__name__}.step_watched"]
    STEP_WATCHERS.append(watch)
    try:
        key = _signed_up(public_client, django_capture_on_commit_callbacks)
        _confirm(public_client, django_capture_on_commit_callbacks, key)
    finally:
        STEP_WATCHERS.remove(watch)

    assert seen == [[("space", "done"), ("library", "current"), ("ready", "waiting")]]
    assert SignupRequest.objects.get().status == Status.READY


STEP_WATCHERS: list[Any] = []


def step_watched(provisioning: Any) -> None:
    """A provisioning step for the test above (ORGANIZATION_SETUP names steps by path)."""
    for watch in STEP_WATCHERS:
        watch(provisioning)


def step_failing(provisioning: Any) -> None:
    raise RuntimeError("the library could not be installed")


def test_a_failed_provisioning_leaves_nothing_and_may_be_tried_again(
    public_client, django_capture_on_commit_callbacks, settings
):
    # Given a provisioning that fails half-way, after the schema is made
    normal_setup = list(settings.ORGANIZATION_SETUP)
    settings.ORGANIZATION_SETUP = [*normal_setup, f"{__name__}.step_failing"]
    key = _signed_up(public_client, django_capture_on_commit_callbacks)
    mails = len(mail.outbox)
    _confirm(public_client, django_capture_on_commit_callbacks, key)

    # Then the sign-up failed, and nothing of the organisation stays
    signup = SignupRequest.objects.get()
    assert (signup.status, signup.failure) == (Status.FAILED, Failure.ERROR)
    assert "RuntimeError" in signup.error
    assert not Organization.objects.filter(schema_name="gamma-works").exists()
    assert not Domain.objects.filter(domain="gamma-works.localhost").exists()
    assert not schema_exists("gamma-works")
    assert len(mail.outbox) == mails  # no "set your password" e-mail for a space that is not there
    # and the page says so, without refreshing, and offers to try again
    failed = public_client.get("/signup/progress/")
    assert "Refresh" not in failed
    assert "Something went wrong while your space was being prepared" in _page(failed)
    assert 'action="/signup/progress/retry/"' in _page(failed)

    # When they try again, and it works this time
    settings.ORGANIZATION_SETUP = normal_setup
    with django_capture_on_commit_callbacks(execute=True):
        retried = public_client.post("/signup/progress/retry/")

    # Then the space is made
    assert retried["Location"] == "/signup/progress/"
    signup.refresh_from_db()
    assert (signup.status, signup.failure, signup.error, signup.attempts) == (Status.READY, "", "", 2)
    assert Organization.objects.filter(schema_name="gamma-works").exists()


def test_an_address_taken_in_the_meantime_fails_with_its_sentence(
    public_client, django_capture_on_commit_callbacks
):
    # Given a confirmed sign-up, and an operator who makes an organisation of the same slug meanwhile
    key = _signed_up(public_client, django_capture_on_commit_callbacks)
    _confirm(public_client, django_capture_on_commit_callbacks, key, execute=False)
    organization_create(slug="gamma-works", name="Other", kind="company", admin_email="x@other.test")
    signup = SignupRequest.objects.get()

    # When the provisioning runs
    signups.signup_provision(signup_id=signup.pk)

    # Then it fails, the operator's organisation is untouched, and trying again is not offered
    signup.refresh_from_db()
    assert (signup.status, signup.failure) == (Status.FAILED, Failure.SLUG_TAKEN)
    assert Organization.objects.get(schema_name="gamma-works").name == "Other"
    page = _page(public_client.get("/signup/progress/"))
    assert "was taken by another organisation in the meantime" in page
    assert 'href="/signup/">Choose another address' in page
    assert "retry" not in page
    with django_capture_on_commit_callbacks(execute=True):
        public_client.post("/signup/progress/retry/")
    signup.refresh_from_db()
    assert signup.status == Status.FAILED
    # The form starts again from what they typed, the address left for them to choose
    form = _page(public_client.get("/signup/"))
    assert 'value="Gamma Works"' in form
    assert re.search(r'<input type="text" name="slug" [^>]*id="id_slug">', form)
    assert 'value="gamma-works"' not in form


def test_the_provisioning_runs_once_however_often_it_is_sent(
    public_client, django_capture_on_commit_callbacks
):
    key = _signed_up(public_client, django_capture_on_commit_callbacks)
    _confirm(public_client, django_capture_on_commit_callbacks, key)
    signup = SignupRequest.objects.get()

    with django_capture_on_commit_callbacks(execute=True):
        again = signups.signup_provision(signup_id=signup.pk)

    assert again is None
    assert Organization.objects.filter(schema_name="gamma-works").count() == 1
    signup.refresh_from_db()
    assert (signup.status, signup.attempts) == (Status.READY, 1)


def test_a_pending_sign_up_is_not_provisioned(public_client, django_capture_on_commit_callbacks):
    _signed_up(public_client, django_capture_on_commit_callbacks)
    signup = SignupRequest.objects.get()

    assert signups.signup_provision(signup_id=signup.pk) is None
    assert SignupRequest.objects.get().status == Status.PENDING
    assert not Organization.objects.filter(schema_name="gamma-works").exists()


def test_a_browser_with_no_sign_up_sees_none(public_client):
    response = public_client.get("/signup/progress/")

    assert response.status_code == 404
    assert "This browser has no sign-up in progress" in _page(response)
    assert public_client.post("/signup/progress/retry/").status_code == 404


# Operators --------------------------------------------------------------------------------------------


def test_operators_read_sign_ups_in_the_admin_and_change_nothing(
    public_client, django_capture_on_commit_callbacks
):
    _signed_up(public_client, django_capture_on_commit_callbacks)
    signup = SignupRequest.objects.get()
    operator = Client(HTTP_HOST=settings.BASE_DOMAIN)
    operator.force_login(
        User.objects.create_superuser(email="ops@crowdact.test", password="operator-pass-123")
    )

    listing = operator.get("/admin/tenants/signuprequest/")
    detail = operator.get(f"/admin/tenants/signuprequest/{signup.pk}/change/")
    changed = operator.post(f"/admin/tenants/signuprequest/{signup.pk}/change/", {"status": "ready"})

    assert listing.status_code == 200
    assert "gamma-works" in _page(listing)
    assert detail.status_code == 200
    assert signup.key_hash not in _page(detail)
    assert changed.status_code == 403
    assert operator.get("/admin/tenants/signuprequest/add/").status_code == 403
    assert operator.post(f"/admin/tenants/signuprequest/{signup.pk}/delete/").status_code == 403
    assert SignupRequest.objects.get().status == Status.PENDING


# Odd input ------------------------------------------------------------------------------------------------

ODD_VALUES = ["%00", "a\x00b", "9" * 40, "-1", "0", "été🚲", "x" * 3000, "../../etc"]


@pytest.mark.parametrize("path", ["/signup/", "/signup/sent/", "/signup/confirm/", "/signup/progress/"])
def test_odd_values_never_make_a_sign_up_page_fail(public_client, path):
    for odd in ODD_VALUES:
        for method in ("get", "post"):
            data = {"key": odd, "refresh": odd, **dict.fromkeys(FORM, odd)}
            response = getattr(public_client, method)(path, data)
            assert response.status_code < 500, f"{method.upper()} {path} {odd!r}: {response.status_code}"
    session = public_client.session
    session["signup:current"] = {"id": "1; DROP"}
    session.save()
    assert public_client.get("/signup/progress/").status_code == 404
