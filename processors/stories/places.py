"""Country names and demonyms found in a text, as evidence that two events differ.

Two earthquake reports or two extraditions use the same words; often only the
place tells them apart. This small gazetteer maps country names, common short
forms and demonyms to one canonical key per country. It is deliberately
limited to countries and a few large regions: city and person names would need
a real NER model.
"""

from __future__ import annotations

import re

# canonical key -> the folded spellings that name it (multi-word allowed).
_PLACES: dict[str, tuple[str, ...]] = {
    "us": ("united states", "u.s.", "u.s.a.", "usa", "america", "american", "americans"),
    # Bare "US" is matched case-sensitively in extract_places: folded, it is the pronoun.
    "uk": ("united kingdom", "u.k.", "uk", "britain", "british", "england", "english"),
    "scotland": ("scotland", "scottish"),
    "ireland": ("ireland", "irish"),
    "france": ("france", "french"),
    "germany": ("germany", "german", "germans"),
    "italy": ("italy", "italian"),
    "spain": ("spain", "spanish"),
    "portugal": ("portugal", "portuguese"),
    "netherlands": ("netherlands", "dutch", "holland"),
    "belgium": ("belgium", "belgian"),
    "switzerland": ("switzerland", "swiss"),
    "austria": ("austria", "austrian"),
    "sweden": ("sweden", "swedish"),
    "norway": ("norway", "norwegian"),
    "denmark": ("denmark", "danish"),
    "finland": ("finland", "finnish"),
    "iceland": ("iceland", "icelandic"),
    "poland": ("poland",),
    "czechia": ("czech republic", "czechia", "czech"),
    "hungary": ("hungary", "hungarian"),
    "romania": ("romania", "romanian"),
    "bulgaria": ("bulgaria", "bulgarian"),
    "greece": ("greece", "greek"),
    "turkey": ("turkey", "turkish", "turkiye"),
    "serbia": ("serbia", "serbian"),
    "croatia": ("croatia", "croatian"),
    "ukraine": ("ukraine", "ukrainian", "kyiv", "kiev"),
    "russia": ("russia", "russian", "moscow", "kremlin"),
    "belarus": ("belarus", "belarusian"),
    "georgia": ("tbilisi",),
    "israel": ("israel", "israeli"),
    "palestine": ("palestine", "palestinian", "gaza", "west bank"),
    "lebanon": ("lebanon", "lebanese"),
    "syria": ("syria", "syrian"),
    "iraq": ("iraq", "iraqi"),
    "iran": ("iran", "iranian", "tehran"),
    "saudi": ("saudi arabia", "saudi"),
    "uae": ("united arab emirates", "uae", "emirati", "dubai"),
    "qatar": ("qatar", "qatari"),
    "yemen": ("yemen", "yemeni"),
    "egypt": ("egypt", "egyptian", "cairo"),
    "libya": ("libya", "libyan"),
    "tunisia": ("tunisia", "tunisian"),
    "algeria": ("algeria", "algerian"),
    "morocco": ("morocco", "moroccan"),
    "nigeria": ("nigeria", "nigerian"),
    "ghana": ("ghana", "ghanaian"),
    "kenya": ("kenya", "kenyan"),
    "ethiopia": ("ethiopia", "ethiopian"),
    "somalia": ("somalia", "somali"),
    "sudan": ("sudan", "sudanese"),
    "south africa": ("south africa", "south african"),
    "congo": ("congo", "congolese"),
    "afghanistan": ("afghanistan", "afghan"),
    "pakistan": ("pakistan", "pakistani"),
    "india": ("india", "indian", "new delhi"),
    "bangladesh": ("bangladesh", "bangladeshi"),
    "sri lanka": ("sri lanka", "sri lankan"),
    "nepal": ("nepal", "nepalese"),
    "china": ("china", "chinese", "beijing"),
    "hong kong": ("hong kong",),
    "taiwan": ("taiwan", "taiwanese"),
    "japan": ("japan", "japanese", "tokyo"),
    "south korea": ("south korea", "south korean", "seoul"),
    "north korea": ("north korea", "north korean", "pyongyang"),
    "mongolia": ("mongolia", "mongolian"),
    "vietnam": ("vietnam", "vietnamese"),
    "thailand": ("thailand", "thai"),
    "malaysia": ("malaysia", "malaysian"),
    "singapore": ("singapore", "singaporean"),
    "indonesia": ("indonesia", "indonesian", "sumatra", "bali"),
    "philippines": ("philippines", "philippine", "filipino", "manila"),
    "myanmar": ("myanmar", "burma", "burmese"),
    "australia": ("australia", "australian"),
    "new zealand": ("new zealand",),
    "canada": ("canada", "canadian"),
    "mexico": ("mexico", "mexican"),
    "cuba": ("cuba", "cuban"),
    "haiti": ("haiti", "haitian"),
    "venezuela": ("venezuela", "venezuelan"),
    "colombia": ("colombia", "colombian"),
    "ecuador": ("ecuador", "ecuadorian"),
    "peru": ("peru", "peruvian"),
    "chile": ("chile", "chilean"),
    "argentina": ("argentina", "argentine", "argentinian"),
    "brazil": ("brazil", "brazilian"),
    "bolivia": ("bolivia", "bolivian"),
    "eu": ("european union", "eu"),
}


def _spelling_key(spelling: str) -> tuple[str, ...]:
    # Spellings are matched against normalised tokens, where "u.s." is "u s".
    return tuple(re.findall(r"[a-z0-9]+", spelling))


_LOOKUP: dict[tuple[str, ...], str] = {
    _spelling_key(spelling): key for key, spellings in _PLACES.items() for spelling in spellings
}
_SINGLE = {words[0]: key for words, key in _LOOKUP.items() if len(words) == 1}
_SINGLE_WORDS = frozenset(_SINGLE)
_HEADS = frozenset(words[0] for words in _LOOKUP if len(words) > 1)
_BARE_US = re.compile(r"(?<![A-Za-z])US(?![A-Za-z])")


def extract_places(raw: str, tokens: list[str]) -> frozenset[str]:
    """Canonical country keys named in a text.

    ``tokens`` are the text's normalised words; ``raw`` is the original text,
    needed for bare "US", which folded to "us" is the pronoun.
    """
    found = {_SINGLE[t] for t in _SINGLE_WORDS.intersection(tokens)}
    if not _HEADS.isdisjoint(tokens):
        for i, token in enumerate(tokens):
            if token in _HEADS:
                for width in (2, 3):
                    key = _LOOKUP.get(tuple(tokens[i : i + width]))
                    if key is not None:
                        found.add(key)
    if "US" in raw and _BARE_US.search(raw):
        found.add("us")
    return frozenset(found)


def places_conflict(a: frozenset[str], b: frozenset[str]) -> bool:
    """Each side names a country the other does not: likely two different events."""
    return bool(a - b) and bool(b - a)
