"""One function names a person (accounts.selectors.person_name): templates never decide it themselves."""

import re
from pathlib import Path

from django.conf import settings

# A person's stored name or choice read outside a form field, or a person printed whole (which
# prints the stored name whatever they chose); a view's row may carry the name it computed.
NAMING_BY_HAND = re.compile(
    r"(?<!form)\.(display_name|show_name)\b"
    r"|\{\{\s*(?!row\.\w+\s*[|}])[\w.]*\.(user|captain|actor|requested_by)\s*[|}]"
)


def test_no_template_names_a_person_by_hand():
    templates = Path(settings.BASE_DIR) / "templates"
    found = [
        f"{path.relative_to(templates)}:{number}: {line.strip()}"
        for path in sorted(templates.rglob("*"))
        if path.suffix in {".html", ".txt", ".svg"}
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if NAMING_BY_HAND.search(line)
    ]

    assert found == []
