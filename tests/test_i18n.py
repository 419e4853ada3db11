"""Every page and e-mail speaks French and English: the organisation's language unless the person chose
the other.

The French catalogue (locale/fr/LC_MESSAGES/django.po) must hold every string the code marks for
translation, each translated, none fuzzy: a new string cannot ship in English to a French town.
When a test here fails, refresh the catalogue from the project root and translate what is new:

    .venv/bin/python manage.py makemessages -l fr --no-obsolete --ignore=.venv --ignore=.data \
        --ignore=.git --ignore=node_modules --ignore=benchmarks --ignore=staticfiles --ignore=media \
        --ignore='*.egg-info'

The compiled catalogue (django.mo) is not committed: ./scripts/test.sh and ./scripts/demo.sh build it.
"""

import ast
import datetime as dt
import html
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.utils import timezone, translation
from django_tenants.utils import tenant_context

from accounts.models import User
from accounts.roles import ORG_ADMIN, PARTICIPANT
from accounts.tasks import invitation_send
from challenges.states import CHALLENGE_TRANSITIONS, COUNTERPART_TRANSITIONS, REFUSALS, check_transition
from core.transitions import TransitionRefused
from tenants.models import Organization
from tests.factories import UserFactory

CATALOGUE = Path(settings.BASE_DIR) / "locale" / "fr" / "LC_MESSAGES" / "django.po"
# The same folders as the command in this module's docstring.
MAKEMESSAGES_IGNORE = [
    ".venv", ".data", ".git", "node_modules", "benchmarks", "staticfiles", "media", "*.egg-info",
]  # fmt: skip
PLACEHOLDER = re.compile(r"%\(\w+\)[sdif]|%%|\{\{.*?\}\}")
# French typography: a non-breaking space before : ; ? ! » and after «, never a plain one.
PLAIN_SPACE_IN_FRENCH_PUNCTUATION = re.compile(r" [:;?!»]|« ")


@dataclass
class Entry:
    context: str | None = None
    msgid: str = ""
    plural: str | None = None
    translations: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    obsolete: bool = False

    @property
    def key(self) -> tuple[str | None, str, str | None]:
        return (self.context, self.msgid, self.plural)

    def __str__(self) -> str:
        return f"[{self.context}] {self.msgid!r}" if self.context else repr(self.msgid)


def po_entries(path: Path) -> list[Entry]:
    """The entries of a .po file, header left out (the subset of the format makemessages writes)."""
    entries: list[Entry] = []
    entry, target = Entry(), ""
    for raw in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        line = raw.strip()
        if not line:
            if entry.msgid:
                entries.append(entry)
            entry, target = Entry(), ""
            continue
        if line.startswith("#~"):
            entry.obsolete, line = True, line[2:].strip()
        if line.startswith("#,"):
            entry.flags |= {flag.strip() for flag in line[2:].split(",")}
            continue
        if line.startswith("#") or not line:
            continue
        keyword, _, rest = line.partition(" ") if not line.startswith('"') else ("", "", line)
        text = ast.literal_eval(rest) if rest else ""
        if keyword:
            target = keyword
            if keyword.startswith("msgstr"):
                index = int(keyword[7:-1]) if keyword.startswith("msgstr[") else 0
                entry.translations[index] = text
                target = f"msgstr:{index}"
            elif keyword == "msgctxt":
                entry.context = text
            elif keyword == "msgid":
                entry.msgid = text
            elif keyword == "msgid_plural":
                entry.plural = text
            continue
        # A continuation line of the last keyword.
        if target.startswith("msgstr:"):
            entry.translations[int(target[7:])] += text
        elif target == "msgctxt":
            entry.context = (entry.context or "") + text
        elif target == "msgid":
            entry.msgid += text
        elif target == "msgid_plural":
            entry.plural = (entry.plural or "") + text
    return entries


@pytest.fixture(scope="module")
def committed() -> list[Entry]:
    return [entry for entry in po_entries(CATALOGUE) if not entry.obsolete]


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> list[Entry]:
    """What makemessages finds in the code today, the committed catalogue untouched.

    makemessages writes next to the nearest `locale` folder of the tree it reads, so it reads a copy
    of the project made of links, without locale/, and writes into that copy.
    """
    if shutil.which("xgettext") is None:
        pytest.fail("GNU gettext is needed to check the translations: apt-get install gettext")
    tree = tmp_path_factory.mktemp("project")
    base = Path(settings.BASE_DIR)
    for item in base.iterdir():
        if item.name != "locale" and not any(fnmatch(item.name, pattern) for pattern in MAKEMESSAGES_IGNORE):
            (tree / item.name).symlink_to(item, target_is_directory=item.is_dir())
    (tree / "locale").mkdir()
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(tree)
        patch.setattr(settings, "LOCALE_PATHS", [str(tree / "locale")])
        call_command(
            "makemessages",
            locale=["fr"],
            ignore_patterns=MAKEMESSAGES_IGNORE,
            no_obsolete=True,
            symlinks=True,
            verbosity=0,
        )
    return po_entries(tree / "locale" / "fr" / "LC_MESSAGES" / "django.po")


def _listed(entries: list[Entry]) -> str:
    return "\n  ".join(str(entry) for entry in entries)


def test_the_french_catalogue_holds_exactly_the_strings_of_the_code(committed, extracted):
    known = {entry.key for entry in committed}
    used = {entry.key for entry in extracted}

    missing = [entry for entry in extracted if entry.key not in known]
    unused = [entry for entry in committed if entry.key not in used]

    assert not missing, (
        f"{len(missing)} string(s) not in locale/fr/LC_MESSAGES/django.po: run makemessages "
        f"(tests/test_i18n.py says how) and translate them:\n  {_listed(missing)}"
    )
    assert not unused, (
        f"{len(unused)} string(s) of the catalogue are no longer used: run makemessages with "
        f"--no-obsolete (tests/test_i18n.py says how):\n  {_listed(unused)}"
    )


def test_every_french_string_is_translated_and_none_is_fuzzy(committed):
    untranslated = [entry for entry in committed if not all(entry.translations.values())]
    fuzzy = [entry for entry in committed if "fuzzy" in entry.flags]
    plural_forms = [entry for entry in committed if entry.plural and len(entry.translations) != 2]

    assert committed, "the French catalogue is empty"
    assert not untranslated, f"Translate these into French:\n  {_listed(untranslated)}"
    assert not fuzzy, f"Check these guesses and remove their fuzzy flag:\n  {_listed(fuzzy)}"
    assert not plural_forms, f"French has two plural forms; give both:\n  {_listed(plural_forms)}"


def test_french_strings_keep_their_placeholders_and_french_typography(committed):
    wrong_placeholders, wrong_spaces = [], []
    for entry in committed:
        for index, text in entry.translations.items():
            source = entry.plural if index and entry.plural else entry.msgid
            if sorted(PLACEHOLDER.findall(text)) != sorted(PLACEHOLDER.findall(source)):
                wrong_placeholders.append(entry)
            if PLAIN_SPACE_IN_FRENCH_PUNCTUATION.search(text):
                wrong_spaces.append(entry)

    assert not wrong_placeholders, f"Keep every %(name)s exactly:\n  {_listed(wrong_placeholders)}"
    assert not wrong_spaces, "Use a non-breaking space (U+00A0) before : ; ? ! » and after «:\n  " + _listed(
        wrong_spaces
    )


def test_the_compiled_catalogue_is_valid_for_gettext(tmp_path):
    if shutil.which("msgfmt") is None:
        pytest.fail("GNU gettext is needed to compile the translations: apt-get install gettext")
    result = subprocess.run(
        ["msgfmt", "--check", "--output-file", str(tmp_path / "django.mo"), str(CATALOGUE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_every_transition_has_a_refusal_in_words():
    expected = {("challenge", name) for name in CHALLENGE_TRANSITIONS}
    expected |= {("counterpart", name) for name in COUNTERPART_TRANSITIONS}

    assert set(REFUSALS) == expected


def test_a_refused_transition_says_why_in_the_current_language():
    with translation.override("fr"), pytest.raises(TransitionRefused) as refused:
        check_transition("challenge", "publish", "open")

    nbsp = "\u00a0"
    assert (
        str(refused.value)
        == f"Impossible de publier un défi ouvert{nbsp}; possible seulement depuis{nbsp}: en brouillon."
    )


def test_every_e_mail_template_exists_in_french_and_english():
    folder = Path(settings.BASE_DIR) / "templates" / "emails"
    names: dict[str, set[str]] = {}
    for path in folder.glob("*.txt"):
        names.setdefault(path.name.split(".")[0], set()).add(path.suffixes[0])

    assert names, "no e-mail template found"
    assert {name: languages for name, languages in names.items() if languages != {".en", ".fr"}} == {}


# The pages ----------------------------------------------------------------------------------------


def _text(response) -> str:
    return html.unescape(response.content.decode())


def _signed_in(client: Client, organization: Organization, *, role: str, language: str = "") -> Client:
    with tenant_context(organization):
        person = UserFactory.create(email=f"{role[:5].lower()}-{language or 'org'}@example.test", role=role)
        if language:
            person.language = language
            person.save(update_fields=["language"])
        client.force_login(person)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/account/sign-in/"])
def test_an_english_organisation_speaks_english_and_a_french_one_french(client_a, client_b, path):
    english, french = client_a.get(path), client_b.get(path)

    assert english.headers["Content-Language"] == "en"
    assert '<html lang="en">' in _text(english)
    assert "Skip to content" in _text(english)
    assert french.headers["Content-Language"] == "fr"
    assert '<html lang="fr">' in _text(french)
    assert "Aller au contenu" in _text(french)
    assert "Skip to content" not in _text(french)


@pytest.mark.django_db
def test_the_sign_in_page_is_in_french_for_a_french_organisation(client_b):
    page = _text(client_b.get("/account/sign-in/"))

    assert "<h1>Se connecter</h1>" in page
    assert "Mot de passe" in page  # Django's own catalogue, for its forms


@pytest.mark.django_db
def test_the_manager_pages_speak_the_organisations_language(client_a, client_b, org_a, org_b):
    english = _signed_in(client_a, org_a, role=ORG_ADMIN).get("/manage/challenges/")
    french = _signed_in(client_b, org_b, role=ORG_ADMIN).get("/manage/challenges/")

    assert english.status_code == french.status_code == 200
    assert "New challenge" in _text(english)
    assert "Nouveau défi" in _text(french)
    assert "Aucun défi pour l'instant." in _text(french)


@pytest.mark.django_db
def test_a_persons_language_wins_over_the_organisations(client_a, client_b, org_a, org_b):
    in_english = _signed_in(client_b, org_b, role=ORG_ADMIN, language="en").get("/manage/challenges/")
    in_french = _signed_in(client_a, org_a, role=ORG_ADMIN, language="fr").get("/manage/challenges/")

    assert in_english.headers["Content-Language"] == "en"
    assert "New challenge" in _text(in_english)
    assert in_french.headers["Content-Language"] == "fr"
    assert "Nouveau défi" in _text(in_french)


@pytest.mark.django_db
def test_the_language_cookie_wins_for_someone_signed_out(client_b):
    client_b.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    response = client_b.get("/account/sign-in/")

    assert response.headers["Content-Language"] == "en"
    assert "Sign in" in _text(response)


@pytest.mark.django_db
def test_errors_from_the_services_and_error_pages_are_in_french(client_b, org_b):
    admin = _signed_in(client_b, org_b, role=ORG_ADMIN)
    next_month = timezone.localdate() + dt.timedelta(days=30)
    data = {
        "title": "Un produit bio par semaine",
        "category": "consumption",
        "starts_at": f"{next_month.isoformat()}T09:00",
        "deadline": f"{(next_month - dt.timedelta(days=10)).isoformat()}T18:00",
        "goal_kind": "participants",
        "goal_target": "100",
        "slots-TOTAL_FORMS": "0",
        "slots-INITIAL_FORMS": "0",
        "slots-MIN_NUM_FORMS": "0",
        "slots-MAX_NUM_FORMS": "50",
    }

    refused = admin.post("/manage/challenges/new/", data)
    missing = admin.get("/manage/challenges/999999/")

    assert refused.status_code == 200
    assert "Veuillez corriger ces erreurs" in _text(refused)
    assert "L'échéance doit venir après le début." in _text(refused)
    assert missing.status_code == 404
    assert '<html lang="fr">' in _text(missing)
    assert "Cette page n'existe pas." in _text(missing)


@pytest.mark.django_db
def test_a_page_refused_to_a_participant_says_so_in_french(client_b, org_b):
    participant = _signed_in(client_b, org_b, role=PARTICIPANT)

    response = participant.get("/manage/challenges/")

    assert response.status_code == 403
    assert "Accès refusé" in _text(response)


@pytest.mark.django_db
def test_a_request_leaves_the_language_of_the_thread_as_it_found_it(client_b):
    translation.activate("en")
    try:
        client_b.get("/account/sign-in/")

        assert translation.get_language() == "en"
    finally:
        translation.deactivate()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "subject"),
    [("", "Votre espace Crowdact pour Beta Town"), ("en", "Your Crowdact space for Beta Town")],
)
def test_the_invitation_e_mail_speaks_the_persons_else_the_organisations_language(org_b, language, subject):
    with tenant_context(org_b):
        person = User.objects.create_user(email="new-admin@beta.test", language=language)

        assert invitation_send(person.pk) is True

    assert mail.outbox[-1].subject == subject
