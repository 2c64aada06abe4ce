"""Places as shoppers name them when they mean a store: Chinese names of the stores' cities,
neighbourhoods and US states (data/catalog/places_zh.yaml), English state names, street numbers
("14街", "14th St"), a ZIP code said as a place ("我在11354"). The stores themselves stay in
data/shop; this only reads how a message points at them, so "加州那家", "田纳西那家" or "14街那家" can pick
one of several stores sharing a name."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from catalog.models import Store
from catalog.reference import load_yaml

US_STATES = {
    "alabama": "AL",
    "alaska": "AK",
    "arizona": "AZ",
    "arkansas": "AR",
    "california": "CA",
    "colorado": "CO",
    "connecticut": "CT",
    "delaware": "DE",
    "florida": "FL",
    "georgia": "GA",
    "hawaii": "HI",
    "idaho": "ID",
    "illinois": "IL",
    "indiana": "IN",
    "iowa": "IA",
    "kansas": "KS",
    "kentucky": "KY",
    "louisiana": "LA",
    "maine": "ME",
    "maryland": "MD",
    "massachusetts": "MA",
    "michigan": "MI",
    "minnesota": "MN",
    "mississippi": "MS",
    "missouri": "MO",
    "montana": "MT",
    "nebraska": "NE",
    "nevada": "NV",
    "new hampshire": "NH",
    "new jersey": "NJ",
    "new mexico": "NM",
    "new york state": "NY",
    "north carolina": "NC",
    "north dakota": "ND",
    "ohio": "OH",
    "oklahoma": "OK",
    "oregon": "OR",
    "pennsylvania": "PA",
    "rhode island": "RI",
    "south carolina": "SC",
    "south dakota": "SD",
    "tennessee": "TN",
    "texas": "TX",
    "utah": "UT",
    "vermont": "VT",
    "virginia": "VA",
    "washington state": "WA",
    "west virginia": "WV",
    "wisconsin": "WI",
    "wyoming": "WY",
}
# two-letter codes that are also ordinary words are not read as states ("OK", "IN", "ME", "OR", "HI")
_CODE = re.compile(r"\b(?!OK\b|IN\b|ME\b|OR\b|HI\b|US\b)([A-Z]{2})\b")
_CODES = frozenset(US_STATES.values()) | {"DC", "PR"}
_STREET = re.compile(r"(?i)(?<![\d.])(\d{1,3})\s*(?:街|号街|(?:st|nd|rd|th)\s+(?:st(?:reet)?|ave(?:nue)?)\b)")
# a ZIP said as where one is ("我在11354", "在94118附近", "zip 10003", "I'm at 55425"), not an order number
ZIP_SAID = re.compile(
    r"(?i)(?:我在|在|住在|邮编|zip(?:\s*code)?\s*(?:is)?|i'?m (?:at|in)|near|around)\s*(\d{5})(?!\d)"
    r"|(?<!\d)(\d{5})\s*(?:附近|这边|一带|周边)"
)


@dataclass(frozen=True)
class PlaceSaid:
    """What a message says about where: English names of places said in Chinese, state codes, street numbers."""

    places: tuple[str, ...] = ()
    states: tuple[str, ...] = ()
    streets: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.places or self.states or self.streets)


@lru_cache(maxsize=1)
def _zh_table() -> tuple[re.Pattern[str], dict[str, tuple[str, str]]]:
    """One alternation of every Chinese name, longest first ("纽约州" before "纽约"), and what each means."""
    data = load_yaml("places_zh.yaml")
    meaning: dict[str, tuple[str, str]] = {}
    for code, names in data["states"].items():
        meaning.update({n: ("state", code) for n in names})
    for english, names in data["places"].items():
        meaning.update({n: ("place", english) for n in names})
    pattern = re.compile("|".join(re.escape(n) for n in sorted(meaning, key=len, reverse=True)))
    return pattern, meaning


@lru_cache(maxsize=1)
def _en_states() -> re.Pattern[str]:
    return re.compile(r"(?i)\b(" + "|".join(sorted(US_STATES, key=len, reverse=True)) + r")\b")


def places_in(text: str) -> PlaceSaid:
    """The places a message names (see the module docstring)."""
    pattern, meaning = _zh_table()
    places, states = [], []
    for m in pattern.finditer(text):
        kind, value = meaning[m.group(0)]
        (states if kind == "state" else places).append(value)
    states += [US_STATES[m.group(1).lower()] for m in _en_states().finditer(text)]
    states += [m.group(1) for m in _CODE.finditer(text) if m.group(1) in _CODES]
    streets = [m.group(1) for m in _STREET.finditer(text)]
    return PlaceSaid(
        tuple(dict.fromkeys(places)), tuple(dict.fromkeys(states)), tuple(dict.fromkeys(streets))
    )


def zip_said(text: str) -> str | None:
    m = ZIP_SAID.search(text)
    return (m.group(1) or m.group(2)) if m else None


def english_place(value: str) -> str:
    """A place name in English: a Chinese name from the table translated, anything else as given."""
    said = places_in(value)
    return said.places[0] if said.places and not value.isascii() else value


def fits(store: Store, said: PlaceSaid) -> bool:
    """Whether a store is where the message says: in a state it names, on a street it names, in or at
    a place it names (city, neighbourhood or store name)."""
    if said.states and store.state not in said.states:
        return False
    if said.streets and not any(
        re.search(rf"(?i)\b{n}(?:st|nd|rd|th)?\b\s*(?:st|street|ave|avenue)\b", store.address)
        or re.search(rf"(?i)\({n}(?:st|nd|rd|th)\b", store.name)
        for n in said.streets
    ):
        return False
    if said.places and not any(
        p.lower() in (store.city.lower(), store.name.lower()) or p.lower() in store.name.lower()
        for p in said.places
    ):
        return False
    return bool(said)


def pick(stores: list[Store], said: PlaceSaid) -> list[Store]:
    """The stores among `stores` that fit what the message says (all of them when it says nothing)."""
    return [s for s in stores if fits(s, said)] if said else list(stores)
