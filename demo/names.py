"""Names and e-mail addresses that look like real people's: an international company's staff (mostly
English names, French ones at the Lyon site) and a French town's residents.

Drawn from a random.Random the caller seeds, so every run draws the same people.
"""

import random
import unicodedata


def _words(text: str) -> list[str]:
    """Names separated by spaces; an underscore inside a name is a space ("Da_Silva")."""
    return [word.replace("_", " ") for word in text.split()]


ENGLISH_FIRST = _words(
    "Aaron Abigail Adam Aisha Alan Alex Alice Amelia Amir Amy Andrew Anna Anthony Arjun Ben Beth Bilal "
    "Brian Caitlin Callum Carl Carmen Caroline Charlotte Chloe Chris Claire Connor Daisy Daniel David "
    "Deborah Declan Diana Dylan Eleanor Elena Eliza Ella Emily Emma Ethan Fatima Finn Fiona Gareth "
    "George Grace Hannah Harry Harvey Helen Henry Holly Imogen Isaac Isabel Jack Jacob James Jasmine "
    "Jason Jennifer Jessica Joanna John Jonathan Joseph Joshua Julia Karen Katie Kevin Kieran Laura "
    "Leah Liam Lily Lucy Luke Maria Mark Martin Matthew Megan Mia Michael Mohammed Molly Nathan Neil "
    "Nicola Niamh Noah Oliver Olivia Omar Owen Patrick Paul Peter Philip Poppy Priya Rachel Rebecca "
    "Richard Robert Rosie Ruby Ryan Sam Samuel Sarah Scott Sean Shauna Simon Sofia Sophie Stephen "
    "Susan Thomas Tom Tyler Victoria William Yusuf Zara Zoe"
)
ENGLISH_LAST = _words(
    "Adams Ahmed Ali Allen Anderson Armstrong Bailey Baker Barnes Bell Bennett Brooks Brown Butler "
    "Campbell Carter Chapman Chen Clark Clarke Collins Cook Cooper Cox Davies Davis Dixon Doyle Edwards "
    "Ellis Evans Fisher Fletcher Foster Fraser Gibson Graham Grant Gray Green Griffiths Hall Harris "
    "Harrison Hart Hill Holmes Hughes Hunt Hussain Jackson James Jenkins Johnson Jones Kaur Kelly "
    "Kennedy Khan King Knight Lee Lewis Lloyd Marshall Martin Mason Matthews Miller Mitchell Moore "
    "Morgan Morris Murphy Murray Nguyen O'Brien O'Connor Owen Palmer Parker Patel Payne Pearson "
    "Phillips Price Reid Reynolds Richards Roberts Robinson Rogers Ross Russell Scott Shaw Singh "
    "Smith Stevens Stewart Sullivan Taylor Thomas Thompson Turner Walker Walsh Ward Watson Webb White "
    "Williams Wilson Wood Wright Young Van_Dijk De_Vries Jansen Bakker Visser Novak Kowalski Rossi "
    "Ferrari Schmidt Weber Okafor Mensah Tanaka Kim Park Silva Costa Fernandes Garcia Lopez"
)

FRENCH_FIRST_WOMEN = _words(
    "Adèle Agathe Alice Amandine Anaïs Anne Audrey Aurélie Béatrice Camille Capucine Caroline Cécile "
    "Céline Chantal Charlotte Chloé Claire Clémence Colette Constance Delphine Denise Élise Élodie "
    "Éloïse Émilie Emma Estelle Eva Fanny Florence Françoise Gabrielle Géraldine Hélène Inès Isabelle "
    "Jacqueline Jade Jeanne Joséphine Julie Juliette Justine Laetitia Laure Laurence Léa Léna Léonie "
    "Louise Lucie Madeleine Manon Margaux Marie Marine Marion Martine Mathilde Maëlle Mélanie Monique "
    "Nadia Nathalie Nicole Noémie Océane Pauline Romane Salomé Sandrine Sarah Simone Solène Sophie "
    "Stéphanie Suzanne Sylvie Valérie Véronique Virginie Yasmine Zoé"
)
FRENCH_FIRST_MEN = _words(
    "Adrien Alain Alexandre Antoine Arnaud Arthur Aurélien Axel Baptiste Benjamin Benoît Bernard Bruno "
    "Cédric Charles Christian Christophe Clément Damien Daniel David Denis Didier Dominique Éric "
    "Étienne Fabien Florian François Frédéric Gabriel Gaël Guillaume Hervé Hugo Jacques Jean Jérémy "
    "Jérôme Joël Jules Julien Karim Kevin Laurent Léo Louis Luc Lucas Marc Mathis Mathieu Maxime "
    "Michel Mohamed Nathan Nicolas Noé Olivier Pascal Patrick Paul Philippe Pierre Quentin Raphaël "
    "Rémi Robin Romain Samuel Sébastien Serge Simon Stéphane Sylvain Théo Thibault Thierry Thomas "
    "Tristan Valentin Victor Vincent Xavier Yann Yannick Youssef"
)
FRENCH_LAST = _words(
    "André Arnaud Aubert Barbier Baron Benoît Bernard Bertrand Blanc Blanchard Boyer Brun Carpentier "
    "Caron Chevalier Clément Colin Collet Cordier Cousin Da_Silva Dubois Dufour Dumas Dupont Durand "
    "Duval Fabre Faure Fleury Fontaine Fournier François Gaillard Garcia Garnier Gauthier Gérard "
    "Girard Giraud Guérin Guillaume Henry Hubert Jacob Joly Lacroix Lambert Laurent Leblanc Lebrun "
    "Leclerc Lefebvre Lefèvre Legrand Lemaire Lemoine Leroux Leroy Lucas Marchand Martin Martinez "
    "Masson Mathieu Mercier Meunier Meyer Michel Moreau Morel Moulin Muller Nicolas Noël Perrin Petit "
    "Picard Pierre Renard Renaud Rey Richard Rivière Robert Robin Roche Roger Rousseau Roussel Roux "
    "Roy Schmitt Simon Lopez Bonnet Fernandez Haddad Benali Mansouri Traoré Diallo Nguyen Tran Pereira "
    "Ferreira Rossi Vidal Vincent"
)
SURNAMES = {"en": ENGLISH_LAST, "fr": FRENCH_LAST}
FIRST_NAMES = {"en": ENGLISH_FIRST, "fr": FRENCH_FIRST_WOMEN + FRENCH_FIRST_MEN}

# Residents use whatever provider they like: a spread of them, the big ones more often.
RESIDENT_PROVIDERS = (
    ("example.fr", 30),
    ("example.org", 18),
    ("example.com", 16),
    ("exemple.fr", 14),
    ("example.net", 10),
    ("courriel.example", 7),
    ("mail.example", 5),
)


def person_name(rng: random.Random, language: str) -> str:
    return f"{rng.choice(FIRST_NAMES[language])} {rng.choice(SURNAMES[language])}"


def ascii_slug(text: str) -> str:
    """'Hélène Da Silva' -> 'helene-da-silva' (the local part of an address has no accents)."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return "-".join("".join(c if c.isalnum() else " " for c in plain).split())


def work_email(name: str, domain: str, taken: set[str]) -> str:
    """first.last@domain, as a company's directory makes them; first.last2@ when taken."""
    first, _, last = name.partition(" ")
    base = f"{ascii_slug(first)}.{ascii_slug(last).replace('-', '')}"
    return _unique(base, domain, taken)


def resident_email(rng: random.Random, name: str, taken: set[str]) -> str:
    """An address a resident chose themselves: varied patterns and providers."""
    first, _, last = (ascii_slug(part) for part in name.partition(" "))
    last = last.replace("-", "")
    pattern = rng.randrange(6)
    if pattern == 0:
        local = f"{first}.{last}"
    elif pattern == 1:
        local = f"{first[0]}.{last}"
    elif pattern == 2:
        local = f"{first}{last}{rng.randrange(1, 99):02d}"
    elif pattern == 3:
        local = f"{last}.{first}"
    elif pattern == 4:
        local = f"{first}_{last[0]}"
    else:
        local = f"{first}.{last}{rng.choice((75, 78, 83, 92, 1985, 1990, 1972, 2001))}"
    providers, weights = zip(*RESIDENT_PROVIDERS, strict=True)
    return _unique(local, rng.choices(providers, weights)[0], taken)


def _unique(local: str, domain: str, taken: set[str]) -> str:
    email = f"{local}@{domain}"
    number = 2
    while email in taken:
        email = f"{local}{number}@{domain}"
        number += 1
    taken.add(email)
    return email
